// MLP Fusion: fuse from given labels against the PyTorch fixture (kmeans.json
// 'fusion': W1f, b1f, W2f, counts to 1e-6, the fused and original FFN outputs to
// 1e-5), the fused FFN and its backward against float64 JS references at every
// ISA level (GELU and ReLU, [N, d] and [B, T, d]), fuse end to end with k-means,
// and bad inputs.
import test from 'ava';
import { FrugalError, Tensor, mlpFusion } from '../lib';
import { eachIsa, fixture, mismatch, seededFloats } from './helpers';

interface FusionCase {
  d: number;
  p: number;
  K: number;
  W1: number[];
  b1: number[];
  W2: number[];
  b2: number[];
  labels: number[];
  W1f: number[];
  b1f: number[];
  W2f: number[];
  counts: number[];
  x: number[];
  y_original: number[];
  y_fused: number[];
}

const cases = fixture<{ fusion: FusionCase[] }>('kmeans.json').fusion;
const T = (data: ArrayLike<number>, shape: number[]) => Tensor.from(Float32Array.from(data), shape);

test('fuse from given labels and the fused FFN match the PyTorch fixture', (t) => {
  for (const c of cases) {
    const W1 = T(c.W1, [c.p, c.d]), b1 = T(c.b1, [c.p]), W2 = T(c.W2, [c.d, c.p]), b2 = T(c.b2, [c.d]);
    const f = mlpFusion.fuse({ W1, b1, W2, b2, clusters: c.K, labels: Int32Array.from(c.labels) });
    t.is(mismatch(f.W1f.data, c.W1f, 1e-6, 1e-6), '', 'W1f');
    t.is(mismatch(f.b1f.data, c.b1f, 1e-6, 1e-6), '', 'b1f');
    t.is(mismatch(f.W2f.data, c.W2f, 1e-6, 1e-6), '', 'W2f');
    t.deepEqual(Array.from(f.counts.data), c.counts);
    t.is(f.iterations, 0);
    const x = T(c.x, [c.x.length / c.d, c.d]);
    const fused = mlpFusion.ffn({ x, W1f: f.W1f, b1f: f.b1f, W2f: f.W2f, b2: f.b2, counts: f.counts });
    t.is(mismatch(fused.y.data, c.y_fused, 1e-5, 1e-5), '', 'fused y');
    const original = mlpFusion.ffn({ x, W1f: W1, b1f: b1, W2f: W2, b2 });
    t.is(mismatch(original.y.data, c.y_original, 1e-5, 1e-5), '', 'original y');
  }
});

// float64 references.
const erf = (x: number): number => {
  // Abramowitz-Stegun 7.1.26 is too coarse; use the series/continued fraction of erfc.
  const z = Math.abs(x);
  let r: number;
  if (z < 2.5) {
    let sum = z, term = z;
    for (let n = 1; n < 200; n++) {
      term *= (-z * z) / n;
      const s = term / (2 * n + 1);
      sum += s;
      if (Math.abs(s) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    let f = z;
    for (let k = 80; k >= 1; k--) f = z + k / 2 / f;
    r = 1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
  }
  return x < 0 ? -r : r;
};
const act = (a: string, v: number) => (a === 'relu' ? Math.max(v, 0) : 0.5 * v * (1 + erf(v / Math.SQRT2)));
const actGrad = (a: string, v: number) =>
  a === 'relu' ? (v > 0 ? 1 : 0) : 0.5 * (1 + erf(v / Math.SQRT2)) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI);

interface Net {
  N: number;
  d: number;
  K: number;
  x: Float32Array;
  W1: Float32Array;
  b1: Float32Array;
  W2: Float32Array;
  b2: Float32Array;
  n: Float32Array;
  dy: Float32Array;
}

function net(N: number, d: number, K: number, seed: number): Net {
  return {
    N, d, K, x: seededFloats(N * d, seed), W1: seededFloats(K * d, seed + 1, 0.5), b1: seededFloats(K, seed + 2),
    W2: seededFloats(d * K, seed + 3, 0.5), b2: seededFloats(d, seed + 4), n: Float32Array.from({ length: K }, (_, k) => 1 + (k % 4)),
    dy: seededFloats(N * d, seed + 5),
  };
}

function reference(q: Net, a: string) {
  const { N, d, K } = q;
  const pre = new Float64Array(N * K), y = new Float64Array(N * d), dpre = new Float64Array(N * K), h = new Float64Array(N * K);
  for (let t = 0; t < N; t++) {
    for (let k = 0; k < K; k++) {
      let v = q.b1[k];
      for (let i = 0; i < d; i++) v += q.x[t * d + i] * q.W1[k * d + i];
      pre[t * K + k] = v;
      h[t * K + k] = act(a, v) * q.n[k];
      let dh = 0;
      for (let i = 0; i < d; i++) dh += q.dy[t * d + i] * q.W2[i * K + k];
      dpre[t * K + k] = dh * q.n[k] * actGrad(a, v);
    }
    for (let i = 0; i < d; i++) {
      let v = q.b2[i];
      for (let k = 0; k < K; k++) v += h[t * K + k] * q.W2[i * K + k];
      y[t * d + i] = v;
    }
  }
  const dx = new Float64Array(N * d), dW1 = new Float64Array(K * d), dW2 = new Float64Array(d * K), db1 = new Float64Array(K), db2 = new Float64Array(d);
  for (let t = 0; t < N; t++) {
    for (let k = 0; k < K; k++) {
      db1[k] += dpre[t * K + k];
      for (let i = 0; i < d; i++) {
        dx[t * d + i] += dpre[t * K + k] * q.W1[k * d + i];
        dW1[k * d + i] += dpre[t * K + k] * q.x[t * d + i];
        dW2[i * K + k] += q.dy[t * d + i] * h[t * K + k];
      }
    }
    for (let i = 0; i < d; i++) db2[i] += q.dy[t * d + i];
  }
  return { pre, y, dx, dW1, db1, dW2, db2 };
}

test('ffn and ffnBackward match float64 references at every ISA level', (t) => {
  eachIsa((level) => {
    let seed = 10;
    for (const [N, d, K] of [[1, 1, 1], [7, 17, 5], [33, 9, 65], [40, 33, 17]]) {
      for (const a of ['gelu', 'relu'] as const) {
        const q = net(N, d, K, (seed += 10));
        const want = reference(q, a);
        // [B, T, d] when N splits, else [N, d].
        const lead = N % 2 === 0 ? [2, N / 2] : [N];
        const x = Tensor.from(q.x, [...lead, d]);
        const inputs = { x, W1f: Tensor.from(q.W1, [K, d]), b1f: Tensor.from(q.b1, [K]), W2f: Tensor.from(q.W2, [d, K]), counts: Tensor.from(q.n, [K]), activation: a };
        const { y, pre } = mlpFusion.ffn({ ...inputs, b2: Tensor.from(q.b2, [d]) });
        const what = `${level} ${a} N ${N} d ${d} K ${K}`;
        t.deepEqual(y.shape, [...lead, d]);
        t.deepEqual(pre.shape, [...lead, K]);
        t.is(mismatch(pre.data, want.pre, 1e-5, 1e-5), '', `${what} pre`);
        t.is(mismatch(y.data, want.y, 1e-4, 1e-5), '', `${what} y`);
        const g = mlpFusion.ffnBackward({ ...inputs, pre, dy: Tensor.from(q.dy, [...lead, d]) });
        for (const [got, ref, name] of [[g.dx, want.dx, 'dx'], [g.dW1f, want.dW1, 'dW1f'], [g.db1f, want.db1, 'db1f'], [g.dW2f, want.dW2, 'dW2f'], [g.db2, want.db2, 'db2']] as const) {
          // ReLU's derivative jumps at 0, where fp32 and float64 pre may differ in sign: none lie that close here.
          t.is(mismatch(got.data, ref, 2e-4, 1e-4), '', `${what} ${name}`);
        }
      }
    }
  });
});

test('async forms equal the sync ones', async (t) => {
  const q = net(12, 8, 6, 3);
  const inputs = { x: Tensor.from(q.x, [12, 8]), W1f: Tensor.from(q.W1, [6, 8]), b1f: Tensor.from(q.b1, [6]), W2f: Tensor.from(q.W2, [8, 6]), counts: Tensor.from(q.n, [6]) };
  const f = mlpFusion.ffn({ ...inputs, b2: Tensor.from(q.b2, [8]) });
  const fa = await mlpFusion.ffnAsync({ ...inputs, b2: Tensor.from(q.b2, [8]) });
  t.deepEqual(fa.y.data, f.y.data);
  const dy = Tensor.from(q.dy, [12, 8]);
  const g = mlpFusion.ffnBackward({ ...inputs, pre: f.pre, dy });
  const ga = await mlpFusion.ffnBackwardAsync({ ...inputs, pre: f.pre, dy });
  t.deepEqual(ga.dW1f.data, g.dW1f.data);
});

test('fuse with k-means: K = p keeps the FFN, fewer clusters approximate it, async agrees', async (t) => {
  const p = 48, d = 16;
  const W1 = Tensor.from(seededFloats(p * d, 1, 0.3), [p, d]), b1 = Tensor.from(seededFloats(p, 2, 0.1), [p]);
  const W2 = Tensor.from(seededFloats(d * p, 3, 0.3), [d, p]), b2 = Tensor.from(seededFloats(d, 4, 0.1), [d]);
  const x = Tensor.from(seededFloats(20 * d, 5), [20, d]);
  const original = mlpFusion.ffn({ x, W1f: W1, b1f: b1, W2f: W2, b2 }).y.data;
  const relError = (y: Float32Array) => {
    let num = 0, den = 0;
    y.forEach((v, i) => ((num += (v - original[i]) ** 2), (den += original[i] ** 2)));
    return Math.sqrt(num / den);
  };
  const errors: number[] = [];
  for (const K of [p, 24, 6]) {
    const f = mlpFusion.fuse({ W1, b1, W2, b2, clusters: K, seed: 1 });
    t.is(f.labels.length, p);
    t.is(f.counts.data.reduce((a, b) => a + b, 0), p);
    const y = mlpFusion.ffn({ x, W1f: f.W1f, b1f: f.b1f, W2f: f.W2f, b2: f.b2, counts: f.counts }).y.data;
    errors.push(relError(y));
    if (K === p) t.is(f.inertia, 0);
  }
  t.true(errors[0] < 1e-6, `K = p: ${errors[0]}`);
  t.true(errors[1] < errors[2], errors.join(' '));
  const sync = mlpFusion.fuse({ W1, b1, W2, b2, clusters: 24, seed: 1, nInit: 2 });
  const async = await mlpFusion.fuseAsync({ W1, b1, W2, b2, clusters: 24, seed: 1, nInit: 2 });
  t.deepEqual(async.labels, sync.labels);
  t.deepEqual(async.W2f.data, sync.W2f.data);
});

test('bad inputs give FrugalError naming the argument', (t) => {
  const q = net(4, 3, 2, 1);
  const ok = { x: Tensor.from(q.x, [4, 3]), W1f: Tensor.from(q.W1, [2, 3]), b1f: Tensor.from(q.b1, [2]), W2f: Tensor.from(q.W2, [3, 2]), b2: Tensor.from(q.b2, [3]) };
  const bad = (fn: () => unknown, code: FrugalError['code'], text: RegExp) => {
    const e = t.throws(fn, { instanceOf: FrugalError });
    t.is(e!.code, code, e!.message);
    t.regex(e!.message, text);
  };
  bad(() => mlpFusion.ffn({ ...ok, x: Tensor.from(q.x, [12]) }), 'E_SHAPE', /inputs.x: expected shape \[N, d\]/);
  bad(() => mlpFusion.ffn({ ...ok, W1f: Tensor.from(q.W1, [3, 2]) }), 'E_SHAPE', /inputs.W1f: expected shape \[K, 3\]/);
  bad(() => mlpFusion.ffn({ ...ok, W2f: Tensor.from(q.W2, [2, 3]) }), 'E_SHAPE', /inputs.W2f/);
  bad(() => mlpFusion.ffn({ ...ok, b2: Tensor.from(q.b1, [2]) }), 'E_SHAPE', /inputs.b2/);
  bad(() => mlpFusion.ffn({ ...ok, counts: Tensor.from(q.b2, [3]) }), 'E_SHAPE', /inputs.counts/);
  bad(() => mlpFusion.ffn({ ...ok, activation: 'tanh' as 'relu' }), 'E_RANGE', /inputs.activation/);
  bad(() => mlpFusion.ffn({ ...ok, b1f: undefined as unknown as Tensor }), 'E_DTYPE', /inputs.b1f/);
  bad(() => mlpFusion.ffn({ ...ok, bias: 1 } as object as typeof ok), 'E_CONFIG', /bias/);
  const { pre } = mlpFusion.ffn(ok);
  const { b2: _b2, ...back } = ok;
  bad(() => mlpFusion.ffnBackward({ ...back, pre: Tensor.from(q.x, [4, 3]), dy: ok.x }), 'E_SHAPE', /inputs.pre/);
  bad(() => mlpFusion.ffnBackward({ ...back, pre, dy: Tensor.from(q.x, [3, 4]) }), 'E_SHAPE', /inputs.dy/);
  bad(() => mlpFusion.ffnBackward({ ...ok, pre, dy: ok.x } as Parameters<typeof mlpFusion.ffnBackward>[0]), 'E_CONFIG', /inputs.b2: unknown/);
  const fuseOk = { W1: Tensor.from(q.W1, [2, 3]), b1: Tensor.from(q.b1, [2]), W2: Tensor.from(q.W2, [3, 2]), b2: Tensor.from(q.b2, [3]), clusters: 2 };
  bad(() => mlpFusion.fuse({ ...fuseOk, clusters: 3 }), 'E_RANGE', /inputs.clusters/);
  bad(() => mlpFusion.fuse({ ...fuseOk, W2: Tensor.from(q.W2, [2, 3]) }), 'E_SHAPE', /inputs.W2/);
  bad(() => mlpFusion.fuse({ ...fuseOk, labels: Int32Array.from([0, 0]) }), 'E_RANGE', /cluster 1 has no neuron/);
  bad(() => mlpFusion.fuse({ ...fuseOk, labels: Int32Array.from([0, 2]) }), 'E_RANGE', /inputs.labels\[1\]/);
  bad(() => mlpFusion.fuse({ ...fuseOk, labels: [0, 1] as unknown as Int32Array }), 'E_DTYPE', /inputs.labels/);
  const nan = Float32Array.from(q.W1);
  nan[1] = NaN;
  bad(() => mlpFusion.fuse({ ...fuseOk, W1: Tensor.from(nan, [2, 3]) }), 'E_RANGE', /inputs.W1\[0, 1\]/);
});
