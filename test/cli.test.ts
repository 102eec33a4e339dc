import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FrugalError } from '../lib';
import { validateJob } from '../lib/jobs/runner';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'frugal.js');
const frugal = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'frugal-cli-'));

test('frugal info prints the build as JSON', (t) => {
  const r = frugal('info');
  t.is(r.status, 0, r.stderr);
  const i = JSON.parse(r.stdout);
  t.truthy(i.version);
  t.true(['ref', 'avx2', 'avx512'].includes(i.isa));
});

test('unknown commands and flags exit 2 with usage', (t) => {
  t.is(frugal('frobnicate').status, 2);
  const r = frugal('bench', '--fast');
  t.is(r.status, 2);
  t.regex(r.stderr, /usage:/);
});

test('a job is validated before any work, naming the bad field by path', (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [[], /expected a JSON object/],
    [{ type: 'nope' }, /\/type: expected one of/],
    [{ type: 'bench', quick: 'yes' }, /\/quick: must be boolean/],
    [{ type: 'bench', filter: [''] }, /\/filter\/0:/],
    [{ type: 'bench', extra: 1 }, /\/extra: unknown field/],
    [{ type: 'bench', threads: 0 }, /\/threads:/],
    [{ type: 'bench', output: 3 }, /\/output: expected a file path/],
  ];
  for (const [job, message] of cases) {
    const e = t.throws(() => validateJob(job), { instanceOf: FrugalError });
    t.is(e!.code, 'E_CONFIG');
    t.regex(e!.message, message);
  }
  const ok = validateJob({ type: 'bench' });
  t.deepEqual(ok.config, { type: 'bench', quick: false, filter: [], device: 'cpu' }, 'defaults are filled in');
});

test('frugal run refuses a bad job file with E_CONFIG and exit 1', (t) => {
  const dir = tmp();
  const file = path.join(dir, 'job.json');
  fs.writeFileSync(file, '{"type": "bench", "quick": 3}');
  const r = frugal('run', file);
  t.is(r.status, 1);
  t.regex(r.stderr, /E_CONFIG: .*job\.json \/quick: must be boolean/);
  fs.writeFileSync(file, '{not json');
  t.regex(frugal('run', file).stderr, /not valid JSON/);
  t.regex(frugal('run', path.join(dir, 'missing.json')).stderr, /cannot read the job file/);
});

test('frugal run writes its result atomically to output', (t) => {
  const dir = tmp();
  const file = path.join(dir, 'job.json');
  const out = path.join(dir, 'out', 'result.json');
  fs.writeFileSync(file, JSON.stringify({ type: 'bench', quick: true, filter: ['no-such-suite'], output: out }));
  const r = frugal('run', file);
  t.is(r.status, 0, r.stderr);
  const report = JSON.parse(fs.readFileSync(out, 'utf8'));
  t.deepEqual(report.results, []);
  t.truthy(report.machine.cpu);
  t.deepEqual(fs.readdirSync(path.dirname(out)), ['result.json'], 'no temporary file is left behind');
});
