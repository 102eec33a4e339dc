// matmul / matmulAsync against a plain JS float64 reference.
// Tolerance: |got − want| ≤ 1e-5 + 3e-6·K·|alpha| + 1e-5·|want| (fp32 sums of K products).
import test from 'ava';
import { FrugalError, Tensor, isaLevels, matmul, matmulAsync, setIsa, info, type MatmulOptions } from '../lib';
import { seededFloats as rand } from './helpers';

const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
// erf to ~1e-12 (Abramowitz–Stegun 7.1.26 is too coarse): series / continued fraction.
function erf(x: number): number {
  const t = Math.abs(x);
  if (t < 2.5) {
    let sum = t, term = t;
    for (let n = 1; n < 60; n++) {
      term *= (-t * t) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction for large |x|.
  let f = 0;
  for (let n = 60; n >= 1; n--) f = (n / 2) / (t + f);
  const erfc = Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f);
  return Math.sign(x) * (1 - erfc);
}

interface Ref {
  batch: number; M: number; N: number; K: number; transA: boolean; transB: boolean; sharedB: boolean;
  a: Float32Array; b: Float32Array; c0?: Float32Array; bias?: Float32Array; scale?: Float32Array; res?: Float32Array;
  alpha: number; beta: number; gelu: boolean;
}

function reference(r: Ref): Float64Array {
  const out = new Float64Array(r.batch * r.M * r.N);
  for (let bt = 0; bt < r.batch; bt++) {
    const ao = bt * r.M * r.K, bo = r.sharedB ? 0 : bt * r.K * r.N, co = bt * r.M * r.N;
    for (let i = 0; i < r.M; i++) {
      for (let j = 0; j < r.N; j++) {
        let acc = 0;
        for (let k = 0; k < r.K; k++) {
          const av = r.transA ? r.a[ao + k * r.M + i] : r.a[ao + i * r.K + k];
          const bv = r.transB ? r.b[bo + j * r.K + k] : r.b[bo + k * r.N + j];
          acc += av * bv;
        }
        let v = r.alpha * acc;
        if (r.bias) v += r.bias[j];
        if (r.gelu) v = gelu(v);
        if (r.scale) v *= r.scale[j];
        if (r.res) v += r.res[co + i * r.N + j];
        if (r.beta !== 0) v += r.beta * r.c0![co + i * r.N + j];
        out[co + i * r.N + j] = v;
      }
    }
  }
  return out;
}

function close(t: import('ava').ExecutionContext, got: Float32Array, want: Float64Array, K: number, alpha: number, what: string) {
  t.is(got.length, want.length);
  let worst = -1, at = -1;
  for (let i = 0; i < want.length; i++) {
    const excess = Math.abs(got[i] - want[i]) - (1e-5 + 3e-6 * K * Math.abs(alpha) + 1e-5 * Math.abs(want[i]));
    if (!(excess <= 0) && (at < 0 || excess > worst)) { worst = excess; at = i; }
  }
  t.is(at, -1, at < 0 ? what : `${what}: element ${at} got ${got[at]} want ${want[at]}`);
}

function runCase(t: import('ava').ExecutionContext, r: Omit<Ref, 'a' | 'b'>, seed: number) {
  const aShape = r.transA ? [r.K, r.M] : [r.M, r.K];
  const bShape = r.transB ? [r.N, r.K] : [r.K, r.N];
  const a = rand(r.batch * r.M * r.K, seed), b = rand((r.sharedB ? 1 : r.batch) * r.K * r.N, seed + 1);
  const batched = r.batch !== 1 || !r.sharedB;
  const A = Tensor.from(a, batched ? [r.batch, ...aShape] : aShape);
  const B = Tensor.from(b, r.sharedB ? bShape : [r.batch, ...bShape]);
  const outShape = batched ? [r.batch, r.M, r.N] : [r.M, r.N];
  const opts: MatmulOptions = { transA: r.transA, transB: r.transB, alpha: r.alpha, activation: r.gelu ? 'gelu' : 'none' };
  if (r.bias) opts.bias = Tensor.from(r.bias, [r.N]);
  if (r.scale) opts.colScale = Tensor.from(r.scale, [r.N]);
  if (r.res) opts.residual = Tensor.from(r.res, outShape);
  if (r.beta !== 0) {
    opts.beta = r.beta;
    opts.out = Tensor.from(new Float32Array(r.c0!), outShape);
  }
  const got = matmul(A, B, opts);
  t.deepEqual(got.shape, outShape);
  close(t, got.data, reference({ ...r, a, b }), r.K, r.alpha, JSON.stringify({ ...r, c0: undefined, bias: !!r.bias, scale: !!r.scale, res: !!r.res }));
}

const base = { batch: 1, transA: false, transB: false, sharedB: true, alpha: 1, beta: 0, gelu: false };

test('matmul matches the JS reference on awkward sizes and every transpose, at every ISA level', (t) => {
  for (const level of isaLevels()) {
    setIsa(level);
    let seed = 1;
    for (const M of [1, 7, 33, 257]) {
      for (const N of [1, 17, 255]) {
        for (const K of [1, 7, 257]) {
          for (let tr = 0; tr < 4; tr++) {
            if (M * N * K > 500000 && tr > 0) continue;
            runCase(t, { ...base, M, N, K, transA: (tr & 1) === 1, transB: (tr & 2) === 2 }, seed++);
          }
        }
      }
    }
  }
  setIsa(info().maxIsa);
});

test('matmul batches with shared and per-batch b, and every epilogue', (t) => {
  for (const level of isaLevels()) {
    setIsa(level);
    runCase(t, { ...base, batch: 3, M: 17, N: 33, K: 20 }, 5);
    runCase(t, { ...base, batch: 4, M: 17, N: 33, K: 20, sharedB: false, transA: true }, 6);
    for (let mask = 1; mask < 32; mask++) {
      const M = 19, N = 37, K = 45, batch = 2;
      runCase(t, {
        ...base, batch, M, N, K,
        bias: mask & 1 ? rand(N, 10 + mask) : undefined,
        scale: mask & 2 ? rand(N, 20 + mask) : undefined,
        res: mask & 4 ? rand(batch * M * N, 30 + mask) : undefined,
        gelu: (mask & 8) !== 0,
        alpha: mask & 16 ? -1.5 : 1,
        beta: mask & 1 ? 0.25 : 0,
        c0: rand(batch * M * N, 40 + mask),
      }, 100 + mask);
    }
  }
  setIsa(info().maxIsa);
});

test('matmul with K = 0 gives the epilogue of a zero product; empty M gives an empty result', (t) => {
  const out = matmul(Tensor.from(new Float32Array(0), [3, 0]), Tensor.from(new Float32Array(0), [0, 2]), {
    bias: Tensor.from([1, -1], [2]),
  });
  t.deepEqual(Array.from(out.data), [1, -1, 1, -1, 1, -1]);
  t.deepEqual(matmul(Tensor.from(new Float32Array(0), [0, 4]), Tensor.from(new Float32Array(8), [4, 2])).shape, [0, 2]);
});

test('bad inputs give FrugalError with the right code and the process lives on', (t) => {
  const a = Tensor.from(new Float32Array(6), [2, 3]);
  const b = Tensor.from(new Float32Array(12), [3, 4]);
  const cases: Array<[() => unknown, string, RegExp]> = [
    [() => matmul(a, a), 'E_SHAPE', /^b: inner dimensions differ/],
    [() => matmul(a, b, { transA: true }), 'E_SHAPE', /^b:/],
    [() => matmul(Tensor.from(new Float32Array(3), [3]), b), 'E_SHAPE', /^a: expected shape/],
    [() => matmul(a, Tensor.from(new Float32Array(24), [2, 3, 4])), 'E_SHAPE', /^b: a batched b/],
    [() => matmul(a as never, new Float32Array(12) as never), 'E_DTYPE', /^b: expected a Tensor/],
    [() => matmul(a, b, { alpha: NaN }), 'E_RANGE', /^options\.alpha/],
    [() => matmul(a, b, { alpha: Infinity }), 'E_RANGE', /^options\.alpha/],
    [() => matmul(a, b, { alpha: '2' as never }), 'E_DTYPE', /^options\.alpha/],
    [() => matmul(a, b, { beta: 1 }), 'E_CONFIG', /^options\.beta: .*needs options\.out/],
    [() => matmul(a, b, { activation: 'tanh' as never }), 'E_RANGE', /^options\.activation/],
    [() => matmul(a, b, { bias: Tensor.from(new Float32Array(3), [3]) }), 'E_SHAPE', /^options\.bias: expected shape \[4\]/],
    [() => matmul(a, b, { residual: a }), 'E_SHAPE', /^options\.residual/],
    [() => matmul(a, b, { out: Tensor.from(new Float32Array(6), [2, 3]) }), 'E_SHAPE', /^options\.out/],
    [() => matmul(a, b, { transpose: true } as never), 'E_CONFIG', /^options\.transpose: unknown option/],
    [() => matmul(a, b, 3 as never), 'E_DTYPE', /^options:/],
  ];
  for (const [fn, code, message] of cases) {
    const e = t.throws(fn, { instanceOf: FrugalError });
    t.is(e!.code as string, code, e!.message);
    t.regex(e!.message, message);
  }
  // out aliasing an input.
  const shared = new Float32Array(16);
  const x = Tensor.from(shared.subarray(0, 4), [2, 2]);
  const y = Tensor.from(shared.subarray(2, 6), [2, 2]);
  t.throws(() => matmul(x, Tensor.from([1, 0, 0, 1], [2, 2]), { out: y }), { code: 'E_RANGE' } as never);
  // A detached input.
  const f = new Float32Array(12);
  const d = Tensor.from(f, [3, 4]);
  structuredClone(f.buffer, { transfer: [f.buffer] });
  t.throws(() => matmul(a, d), { instanceOf: FrugalError, code: 'E_SHAPE' } as never);
  t.deepEqual(matmul(a, b).shape, [2, 4], 'still alive and working');
});

test('matmulAsync keeps the event loop free: a timer fires while a large product runs', async (t) => {
  const n = 1024;
  const a = Tensor.from(rand(n * n, 1), [n, n]);
  const b = Tensor.from(rand(n * n, 2), [n, n]);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const started = Date.now();
  let result: Tensor | undefined;
  while (Date.now() - started < 300 || !result) {
    result = await matmulAsync(a, b);
  }
  clearInterval(timer);
  t.true(ticks > 0, `timer ticks during matmulAsync: ${ticks}`);
  t.deepEqual(result.shape, [n, n]);
});

test('50 concurrent matmulAsync calls all return the right results', async (t) => {
  const jobs = Array.from({ length: 50 }, (_, i) => {
    const M = 5 + i, N = 3 + (i % 7), K = 9 + (i % 5);
    const a = rand(M * K, i + 1), b = rand(K * N, i + 100);
    return { M, N, K, a, b, p: matmulAsync(Tensor.from(a, [M, K]), Tensor.from(b, [K, N])) };
  });
  const results = await Promise.all(jobs.map((j) => j.p));
  results.forEach((r, i) => {
    const j = jobs[i];
    close(t, r.data, reference({ ...base, M: j.M, N: j.N, K: j.K, a: j.a, b: j.b }), j.K, 1, `job ${i}`);
  });
});

test('matmulAsync rejects bad input with FrugalError', async (t) => {
  const a = Tensor.from(new Float32Array(6), [2, 3]);
  await t.throwsAsync(matmulAsync(a, a), { instanceOf: FrugalError, code: 'E_SHAPE' } as never);
});

test('relu epilogue: max(0, a·b + bias)', (t) => {
  const a = Tensor.from([1, -2, 3, 4, -5, 6], [2, 3]), b = Tensor.from([1, 0, -1, 2, 0.5, -0.5], [3, 2]);
  const bias = Tensor.from([-1, 0.25], [2]);
  const y = matmul(a, b, { bias, activation: 'relu' });
  const want = [0, 0, 0, 0];
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 2; j++) {
      let v = bias.data[j];
      for (let k = 0; k < 3; k++) v += a.data[i * 3 + k] * b.data[k * 2 + j];
      want[i * 2 + j] = Math.max(0, v);
    }
  }
  t.deepEqual(Array.from(y.data), want);
  t.true(want.some((v) => v === 0) && want.some((v) => v > 0));
});
