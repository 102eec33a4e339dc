// An async call owns its memory until it settles: detaching (transferring) an
// input's or output's ArrayBuffer while the kernel runs, then collecting the new
// owner, must not crash the process; a resizable ArrayBuffer, which could shrink
// under the kernel, is refused for async calls. Each case runs in a child process
// so that a crash fails the test instead of killing the runner.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { FrugalError, Tensor, geluAsync, gelu } from '../lib';

const LIB = path.join(__dirname, '..', 'lib');

// Starts `call(tensors)` (an async op), detaches every listed buffer at once,
// collects garbage a few times while it runs, and prints 'settled' when it does.
function detachInFlight(setup: string, call: string, detach: string): { status: number | null; out: string } {
  const script = `
    const f = require(${JSON.stringify(LIB)});
    const { Tensor, dp, random, slash } = f;
    const big = (n) => Tensor.from(new Float32Array(n * n).fill(0.5), [n, n]);
    (async () => {
      ${setup}
      const running = ${call};
      for (const buf of [${detach}]) structuredClone(buf, { transfer: [buf] });
      for (let i = 0; i < 40; i++) { global.gc(); await new Promise((r) => setTimeout(r, 1)); }
      await running.then(() => console.log('settled'), (e) => console.log('rejected', e.code));
    })();`;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const cases: Array<[string, string, string, string]> = [
  ['matmulAsync (a, b, out)', 'const a = big(1024), b = big(1024), out = big(1024);', 'f.matmulAsync(a, b, { out })', 'a.data.buffer, b.data.buffer, out.data.buffer'],
  ['random.normalAsync (out)', 'const out = new Float32Array(1 << 22);', 'random.normalAsync(1 << 22, { seed: 1, out })', 'out.buffer'],
  ['dp.addNoiseAsync (t)', 'const t = big(4096);', 'dp.addNoiseAsync(t, { std: 1, seed: 1 })', 't.data.buffer'],
  ['slash.projectAsync (z, out)', 'const z = Tensor.from(new Float32Array(8192).fill(1), [8192]); const out = Tensor.from(new Float32Array(16 * 4096), [16, 4096]);',
    'slash.projectAsync({ z, layers: 16, hidden: 4096, seed: 1, out })', 'z.data.buffer, out.data.buffer'],
  ['layerNormAsync (x, gamma, out)', 'const x = big(4096), g = Tensor.from(new Float32Array(4096).fill(1), [4096]), b = Tensor.from(new Float32Array(4096), [4096]), out = big(4096);',
    'f.layerNormAsync(x, g, b, { out })', 'x.data.buffer, g.data.buffer, out.data.buffer'],
  ['softmaxAsync (x, in place)', 'const x = big(4096);', 'f.softmaxAsync(x, { out: x })', 'x.data.buffer'],
];

for (const [what, setup, call, detach] of cases) {
  test(`${what}: detaching its buffers in flight does not crash`, (t) => {
    const r = detachInFlight(setup, call, detach);
    t.is(r.status, 0, r.out);
    t.regex(r.out, /settled/, r.out);
  });
}

test('a resizable ArrayBuffer is refused by an async call (E_DTYPE) and works in a sync one', async (t) => {
  const buffer = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(16, { maxByteLength: 64 });
  const x = Tensor.from(new Float32Array(buffer, 0, 4), [4]);
  const err = await t.throwsAsync(geluAsync(x), { instanceOf: FrugalError });
  t.is(err!.code, 'E_DTYPE');
  t.regex(err!.message, /gelu: x: a resizable ArrayBuffer cannot back an async call/);
  t.is(gelu(x).size, 4);
});
