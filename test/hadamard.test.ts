// GHPA and GAB against the PyTorch float64 autograd fixtures (y, every input
// gradient and every parameter gradient) at every ISA level; inference with
// precomputed maps against the training forward; thread-count independence; the
// module classes; bad inputs each a FrugalError naming the argument.
// Tolerances: within 1e-5 + 1e-4·|want| (the 1e-4 relative); fp32 kernels
// against fp64 land around 1e-6.
import test from 'ava';
import { FrugalError, Gab, Ghpa, Tensor, hadamard, setNumThreads, type ErrorCode, type ModuleParams } from '../lib';
import { assertClose, eachIsa, fixture, seededFloats as random } from './helpers';

interface Stored { shape: number[]; data: number[] }
interface Case {
  B: number; H: number; W: number; inputs: Stored[]; params: Record<string, Stored>; y: Stored; dy: number[];
  d_inputs: number[][]; d_params: Record<string, number[]>;
}
const ghpaCases = fixture<{ cases: Array<Case & { dim_in: number; dim_out: number }> }>('ghpa.json').cases;
const gabCases = fixture<{ cases: Array<Case & { dim_xh: number; dim_xl: number }> }>('gab.json').cases;

const tensor = (s: Stored) => Tensor.from(Float32Array.from(s.data), s.shape);
const paramsOf = (c: Case): ModuleParams => Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, tensor(v)]));
const close = (t: Parameters<typeof assertClose>[0], got: ArrayLike<number>, want: ArrayLike<number>, what: string) =>
  assertClose(t, got, want, 1e-5, 1e-4, what);

test('ghpa matches the PyTorch fixture: y, dx and every parameter gradient, at every ISA level', (t) => {
  eachIsa((level) => {
    for (const [i, c] of ghpaCases.entries()) {
      const what = `${level} case ${i} (${c.dim_in}→${c.dim_out}, ${c.B}×${c.H}×${c.W})`;
      const x = tensor(c.inputs[0]);
      const params = paramsOf(c);
      const { y, saved } = hadamard.ghpa({ x, params });
      close(t, y.data, c.y.data, `${what} y`);
      const g = hadamard.ghpaBackward({ x, params, saved: saved!, dy: Tensor.from(Float32Array.from(c.dy), c.y.shape) });
      close(t, g.dx.data, c.d_inputs[0], `${what} dx`);
      t.deepEqual(Object.keys(g.dParams).sort(), Object.keys(c.d_params).sort());
      for (const [k, want] of Object.entries(c.d_params)) close(t, g.dParams[k].data, want, `${what} d ${k}`);
    }
  });
});

test('gab matches the PyTorch fixture: y, dxh, dxl, dmask and every parameter gradient, at every ISA level', (t) => {
  eachIsa((level) => {
    for (const [i, c] of gabCases.entries()) {
      const what = `${level} case ${i} (${c.dim_xh}, ${c.dim_xl})`;
      const [xh, xl, mask] = c.inputs.map(tensor);
      const params = paramsOf(c);
      const { y, saved } = hadamard.gab({ xh, xl, mask, params });
      close(t, y.data, c.y.data, `${what} y`);
      const dy = Tensor.from(Float32Array.from(c.dy), c.y.shape);
      const g = hadamard.gabBackward({ xh, xl, mask, params, saved: saved!, dy });
      close(t, g.dxh.data, c.d_inputs[0], `${what} dxh`);
      close(t, g.dxl.data, c.d_inputs[1], `${what} dxl`);
      close(t, g.dmask.data, c.d_inputs[2], `${what} dmask`);
      for (const [k, want] of Object.entries(c.d_params)) close(t, g.dParams[k].data, want, `${what} d ${k}`);
    }
  });
});

test('inference with precomputed maps equals the training forward; async equals sync', async (t) => {
  const c = ghpaCases[0];
  const x = tensor(c.inputs[0]);
  const params = paramsOf(c);
  const train = hadamard.ghpa({ x, params }).y.data;
  const maps = hadamard.ghpaMaps({ params, H: c.H, W: c.W });
  t.deepEqual(maps.xy.shape, [c.dim_in / 4, c.H, c.W]);
  t.deepEqual(maps.zx.shape, [c.dim_in / 4, c.H]);
  t.deepEqual(maps.zy.shape, [c.dim_in / 4, c.W]);
  const infer = hadamard.ghpa({ x, params, maps });
  t.is(infer.saved, null);
  t.deepEqual(infer.y.data, train);
  t.deepEqual(hadamard.ghpa({ x, params, train: false }).y.data, train);
  t.deepEqual((await hadamard.ghpaAsync({ x, params })).y.data, train);
  const first = hadamard.ghpa({ x, params }).saved!;
  const again = hadamard.ghpa({ x, params, reuse: first });
  t.is(again.saved!.buffer, first.buffer);
  t.deepEqual(again.y.data, train);
  const g = gabCases[0];
  const [xh, xl, mask] = g.inputs.map(tensor);
  const gy = hadamard.gab({ xh, xl, mask, params: paramsOf(g) }).y.data;
  t.deepEqual((await hadamard.gabAsync({ xh, xl, mask, params: paramsOf(g), train: false })).y.data, gy);
});

test('the same bits at 1 and 2 threads, on sizes that split into several tasks', (t) => {
  const ghpaModule = new Ghpa({ dimIn: 16, dimOut: 12, seed: 3 });
  const x = Tensor.from(random(2 * 16 * 33 * 7, 1), [2, 16, 33, 7]);
  const dy = Tensor.from(random(2 * 12 * 33 * 7, 2), [2, 12, 33, 7]);
  const gabModule = new Gab({ dimXh: 12, dimXl: 8, seed: 4 });
  const xh = Tensor.from(random(2 * 12 * 9 * 5, 3), [2, 12, 9, 5]);
  const xl = Tensor.from(random(2 * 8 * 17 * 10, 4), [2, 8, 17, 10]);
  const mask = Tensor.from(random(2 * 17 * 10, 5), [2, 1, 17, 10]);
  const gdy = Tensor.from(random(2 * 8 * 17 * 10, 6), [2, 8, 17, 10]);
  const run = () => {
    ghpaModule.zeroGrad();
    gabModule.zeroGrad();
    const y = ghpaModule.forward(x).data.slice();
    const dx = ghpaModule.backward(dy).data.slice();
    const gy = gabModule.forward(xh, xl, mask).data.slice();
    const gd = gabModule.backward(gdy);
    const grads = [...Object.values(ghpaModule.grads), ...Object.values(gabModule.grads)].map((g) => g.data.slice());
    return [y, dx, gy, gd.dxh.data.slice(), gd.dxl.data.slice(), gd.dmask.data.slice(), ...grads];
  };
  try {
    setNumThreads(1);
    const one = run();
    setNumThreads(2);
    t.deepEqual(run(), one);
  } finally {
    setNumThreads(2);
  }
});

test('Ghpa and Gab: PyTorch-style init, state dicts, gradient accumulation, cached maps', (t) => {
  const m = new Ghpa({ dimIn: 8, dimOut: 12 });
  t.true(m.params['params_xy'].data.every((v) => v === 1));
  t.true(m.params['norm1.weight'].data.every((v) => v === 1) && m.params['norm1.bias'].data.every((v) => v === 0));
  const bound = 1 / Math.sqrt(8);  // ldw.2: fan_in 8·1·1
  t.true(m.params['ldw.2.weight'].data.every((v) => Math.abs(v) <= bound) && m.params['ldw.2.weight'].data.some((v) => v !== 0));
  const c = ghpaCases[0];
  const dict = Object.fromEntries(Object.entries(paramsOf(c)).map(([k, v]) => [`encoder4.0.${k}`, v]));
  m.loadStateDict(dict, { prefix: 'encoder4.0.' });
  const x = tensor(c.inputs[0]);
  close(t, m.forward(x).data, c.y.data, 'module y');
  const dy = Tensor.from(Float32Array.from(c.dy), c.y.shape);
  m.backward(dy);
  m.forward(x);
  m.backward(dy);
  close(t, m.grads['ldw.2.bias'].data, c.d_params['ldw.2.bias'].map((v) => 2 * v), 'two backwards accumulate');
  m.precompute(c.H, c.W);
  close(t, m.forward(x, { train: false }).data, c.y.data, 'inference with cached maps');
  const err = t.throws(() => m.loadStateDict({}), { instanceOf: FrugalError });
  t.is(err?.code, 'E_CONFIG');
  t.regex(err?.message ?? '', /params_xy/);
});

function code(t: Parameters<typeof assertClose>[0], fn: () => unknown, want: ErrorCode, pattern: RegExp): void {
  const err = t.throws(fn, { instanceOf: FrugalError }, String(pattern));
  t.is(err?.code, want, err?.message);
  t.regex(err?.message ?? '', pattern);
}

test('bad inputs: each a FrugalError naming the argument', (t) => {
  const c = ghpaCases[0];
  const x = tensor(c.inputs[0]);
  const params = paramsOf(c);
  code(t, () => hadamard.ghpa({ x: Tensor.from(new Float32Array(2 * 6 * 7 * 9), [2, 6, 7, 9]), params }), 'E_SHAPE', /inputs\.x.*divisible by 4/);
  code(t, () => hadamard.ghpa({ x, params: { ...params, 'conv_xy.0.weight': Tensor.from(new Float32Array(9), [1, 1, 3, 3]) } }), 'E_SHAPE', /conv_xy\.0\.weight/);
  const missing = { ...params };
  delete missing['dw.2.bias'];
  code(t, () => hadamard.ghpa({ x, params: missing }), 'E_CONFIG', /dw\.2\.bias/);
  code(t, () => hadamard.ghpa({ x, params: { ...params, extra: x } }), 'E_CONFIG', /extra/);
  const nan = Float32Array.from(c.inputs[0].data);
  nan[5] = NaN;
  code(t, () => hadamard.ghpa({ x: Tensor.from(nan, c.inputs[0].shape), params }), 'E_RANGE', /inputs\.x.*finite/);
  const inf = Float32Array.from(c.params['norm2.bias'].data);
  inf[0] = Infinity;
  code(t, () => hadamard.ghpa({ x, params: { ...params, 'norm2.bias': Tensor.from(inf, [8]) } }), 'E_RANGE', /norm2\.bias/);
  const maps = hadamard.ghpaMaps({ params, H: c.H, W: c.W });
  code(t, () => hadamard.ghpa({ x, params, maps, train: true }), 'E_CONFIG', /train/);
  code(t, () => hadamard.ghpa({ x: Tensor.from(new Float32Array(2 * 8 * 7 * 8), [2, 8, 7, 8]), params, maps }), 'E_SHAPE', /maps\.xy/);
  const { saved } = hadamard.ghpa({ x, params });
  code(t, () => hadamard.ghpaBackward({ x, params, saved: saved!, dy: x }), 'E_SHAPE', /inputs\.dy/);
  code(t, () => hadamard.ghpaMaps({ params, H: 0, W: 3 }), 'E_RANGE', /inputs\.H/);
  const other = hadamard.ghpa({ x: Tensor.from(new Float32Array(8 * 7 * 9), [1, 8, 7, 9]), params }).saved!;
  code(t, () => hadamard.ghpa({ x, params, reuse: other }), 'E_SHAPE', /inputs\.reuse/);
  code(t, () => hadamard.ghpa({ x, params, reuse: saved!, train: false }), 'E_CONFIG', /inputs\.reuse/);

  const g = gabCases[0];
  const [xh, xl, mask] = g.inputs.map(tensor);
  const gp = paramsOf(g);
  code(t, () => hadamard.gab({ xh, xl, mask: Tensor.from(new Float32Array(2 * 8 * 8), [2, 1, 8, 8]), params: gp }), 'E_SHAPE', /inputs\.mask/);
  code(t, () => hadamard.gab({ xh, xl: Tensor.from(new Float32Array(2 * 6 * 8 * 9), [2, 6, 8, 9]), mask, params: gp }), 'E_SHAPE', /inputs\.xl.*divisible by 4/);
  code(t, () => hadamard.gab({ xh: Tensor.from(new Float32Array(16 * 4 * 5), [1, 16, 4, 5]), xl, mask, params: gp }), 'E_SHAPE', /inputs\.xh.*batch/);
  const noTail = { ...gp };
  delete noTail['tail_conv.1.weight'];
  code(t, () => hadamard.gab({ xh, xl, mask, params: noTail }), 'E_CONFIG', /tail_conv\.1\.weight/);
  code(t, () => new Ghpa({ dimIn: 10, dimOut: 4 }), 'E_SHAPE', /dimIn/);
  code(t, () => new Gab({ dimXh: 4, dimXl: 6 }), 'E_SHAPE', /dimXl/);
});
