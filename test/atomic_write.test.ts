// Atomic writes as a hostile user would attack them: links planted at the target,
// stale temp files of a killed writer, a signal mid-save, and job outputs that
// cannot be written (which must fail before any work, leaving no file behind).
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FrugalError, SharedLayerShift, Tensor, saveSafetensors, slash } from '../lib';
import { writeFileAtomic } from '../lib/atomic_write';
import { runJobFile } from './helpers';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'frugal-atomic-'));
const temps = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'));
const one = { w: Tensor.from([1, 2, 3], [3]) };

test('a symlink at the target is replaced, never written through', (t) => {
  const dir = tmp();
  const victim = path.join(dir, 'victim.txt');
  fs.writeFileSync(victim, 'keep me');
  const file = path.join(dir, 'model.safetensors');
  fs.symlinkSync(victim, file);
  saveSafetensors(file, one);
  t.is(fs.readFileSync(victim, 'utf8'), 'keep me');
  t.true(fs.lstatSync(file).isFile());
  t.deepEqual(temps(dir), []);
});

test('temp files are unpredictable, and a killed writer\'s are removed by the next save; a live one\'s are kept', (t) => {
  const dir = tmp();
  const file = path.join(dir, 'model.safetensors');
  const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim();
  fs.writeFileSync(path.join(dir, `.model.safetensors.${dead}.abcd.tmp`), 'stale');
  fs.writeFileSync(path.join(dir, `.model.safetensors.${process.ppid}.abcd.tmp`), 'in progress elsewhere');
  saveSafetensors(file, one);
  t.deepEqual(temps(dir), [`.model.safetensors.${process.ppid}.abcd.tmp`]);
  // Two writes in a row leave no temp file and use different names (seen via a failing rename target).
  saveSafetensors(file, one);
  t.deepEqual(temps(dir), [`.model.safetensors.${process.ppid}.abcd.tmp`]);
});

test('SIGTERM during a large save leaves no temp file, and the process still dies of the signal', async (t) => {
  const dir = tmp();
  const lib = path.join(__dirname, '..', 'lib');
  const script = `
    const { Tensor, saveSafetensors } = require(${JSON.stringify(lib)});
    const big = { w: Tensor.from(new Float32Array(1 << 26), [1 << 26]) };
    const file = ${JSON.stringify(path.join(dir, 'big.safetensors'))};
    const loop = () => { saveSafetensors(file, big); setImmediate(loop); };
    loop();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  // Signal the writer the moment a temp file exists, i.e. in the middle of a write.
  const deadline = Date.now() + 60_000;
  while (temps(dir).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
  t.true(temps(dir).length > 0, 'the writer started a save');
  child.kill('SIGTERM');
  const [, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  t.is(signal, 'SIGTERM');
  t.deepEqual(temps(dir), []);
});

test('unwritable outputs are E_CONFIG naming the path: a directory, under a file, a NUL byte, under /proc', (t) => {
  const dir = tmp();
  const blocker = path.join(dir, 'blocker');
  fs.writeFileSync(blocker, '');
  const cases: Array<[string, RegExp]> = [
    [dir, /EISDIR/],
    [path.join(blocker, 'x.safetensors'), /ENOTDIR/],
    [path.join(dir, 'a\0b'), /NUL byte/],
    ['/proc/self/frugal.safetensors', /cannot write the safetensors file/],
  ];
  for (const [file, reason] of cases) {
    const err = t.throws(() => saveSafetensors(file, one), { instanceOf: FrugalError }) as FrugalError;
    t.is(err.code, 'E_CONFIG', file);
    t.regex(err.message, reason);
  }
});

test('a job checks every output before any work, and writes all of them or none', (t) => {
  const dir = tmp();
  const task = path.join(dir, 'task.safetensors');
  slash.saveTask(task, new SharedLayerShift({ layers: 2, hidden: 3, dim: 4, seed: 1 }));
  const run = (job: object) => runJobFile(dir, job);
  const shifts = path.join(dir, 'shifts.safetensors');
  for (const output of [dir, path.join(dir, 'task.safetensors', 'r.json'), '/proc/self/r.json', path.join(dir, 'a\u0000b.json')]) {
    const r = run({ type: 'slash-project', task, shifts, output });
    t.is(r.status, 1, output);
    t.regex(r.stderr, /E_CONFIG: .*cannot write/, output);
    t.false(fs.existsSync(shifts), `no shifts file after a bad output ${JSON.stringify(output)}`);
    t.deepEqual(temps(dir), []);
  }
  const same = run({ type: 'slash-project', task, shifts, output: shifts });
  t.regex(same.stderr, /named as two outputs/);
  const ok = run({ type: 'slash-project', task, shifts, output: path.join(dir, 'r.json') });
  t.is(ok.status, 0, ok.stderr);
  t.true(fs.existsSync(shifts));
});

test.serial("a save restores the process's own signal behaviour once the loop has turned", async (t) => {
  const before = process.listenerCount('SIGINT');
  saveSafetensors(path.join(tmp(), 'a.safetensors'), one);
  t.is(process.listenerCount('SIGINT'), before + 1, 'listening while the write could be interrupted');
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  t.is(process.listenerCount('SIGINT'), before);
  t.is(process.listenerCount('SIGTERM'), 0);
});

test('a streamed write: pieces land in order; a failing writer leaves no file, its FrugalError passes unchanged', (t) => {
  const dir = tmp();
  const file = path.join(dir, 'out.bin');
  writeFileAtomic(file, (write) => {
    write(new Uint8Array([1, 2]));
    write(new Uint8Array(0));
    write(new Uint8Array([3]));
  }, 'the output');
  t.deepEqual([...fs.readFileSync(file)], [1, 2, 3]);
  const own = new FrugalError('E_SHAPE', 'entry "b": wrong length');
  const thrown = [
    [() => { throw own; }, (e: unknown) => e === own],
    [() => { throw new Error('disk on fire'); }, (e: unknown) => e instanceof FrugalError && e.code === 'E_CONFIG' && /out\.bin: cannot write the output \(disk on fire\)/.test(e.message)],
  ] as const;
  for (const [fail, expected] of thrown) {
    let err: unknown;
    try {
      writeFileAtomic(file, (write) => {
        write(new Uint8Array([9, 9, 9, 9]));
        fail();
      }, 'the output');
    } catch (e) {
      err = e;
    }
    t.true(expected(err), String(err));
    t.deepEqual([...fs.readFileSync(file)], [1, 2, 3], 'the old file as it was');
    t.deepEqual(temps(dir), []);
  }
});
