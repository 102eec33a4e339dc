// k-means against scikit-learn: Lloyd from a given init (fixture kmeans.json:
// labels identical, centroids within 1e-4, inertia within 1e-5 relative) at every
// ISA level; k-means++ quality within 1% of sklearn's mean inertia with the same
// restarts (fixture kmeans_sklearn.json); inertia never rising; seeds, threads,
// async, progress, abort, the empty-cluster repair; bad inputs.
import test from 'ava';
import { FrugalError, Tensor, kmeans, kmeansAsync, setNumThreads, type KMeansResult } from '../lib';
import { eachIsa, fixture, mismatch, seededFloats } from './helpers';

interface LloydCase {
  n: number;
  dim: number;
  K: number;
  iters: number;
  X: number[];
  init: number[];
  centroids: number[];
  labels: number[];
  inertia: number;
}
interface SklearnStats {
  inertias: number[];
  mean: number;
  median: number;
}
interface SklearnCase {
  name: string;
  n: number;
  dim: number;
  K: number;
  X: number[];
  nInit1: SklearnStats;
  nInit10: SklearnStats;
}

const lloyd = fixture<{ kmeans: LloydCase[] }>('kmeans.json').kmeans;
const sklearn = fixture<{ cases: SklearnCase[] }>('kmeans_sklearn.json').cases;

const tensor = (data: ArrayLike<number>, shape: number[]) => Tensor.from(Float32Array.from(data), shape);

test('Lloyd from a given init matches scikit-learn at every ISA level', (t) => {
  eachIsa((level) => {
    for (const c of lloyd) {
      const r = kmeans(tensor(c.X, [c.n, c.dim]), c.K, { init: tensor(c.init, [c.K, c.dim]), maxIter: c.iters, tol: 0 });
      const what = `${level} n ${c.n} K ${c.K}`;
      t.deepEqual(Array.from(r.labels), c.labels, what);
      t.is(mismatch(r.centroids.data, c.centroids, 1e-4, 0), '', what);
      t.true(Math.abs(r.inertia - c.inertia) <= 1e-5 * c.inertia, `${what}: ${r.inertia} vs ${c.inertia}`);
      t.deepEqual(Array.from(r.counts), Array.from({ length: c.K }, (_, k) => c.labels.filter((l) => l === k).length), what);
    }
  });
});

test("k-means++ inertia is within 1% of scikit-learn's with the same restarts", (t) => {
  for (const c of sklearn) {
    const X = tensor(c.X, [c.n, c.dim]);
    for (const [nInit, want] of [[1, c.nInit1], [10, c.nInit10]] as const) {
      // Means over 20 seeds: a single restart's inertia varies by several % with the seed.
      let sum = 0;
      for (let seed = 0; seed < 20; seed++) sum += kmeans(X, c.K, { nInit, seed }).inertia;
      const ratio = sum / 20 / want.mean;
      t.true(ratio <= 1.01, `${c.name} nInit ${nInit}: mean inertia ${sum / 20} vs sklearn ${want.mean} (ratio ${ratio})`);
    }
  }
});

test('inertia never rises between iterations', (t) => {
  for (const c of sklearn) {
    for (const init of ['k-means++', 'random'] as const) {
      const seen: number[] = [];
      kmeans(tensor(c.X, [c.n, c.dim]), c.K, { init, seed: 5, tol: 0, onProgress: (_i, inertia) => seen.push(inertia) });
      // Exact in real arithmetic; the fp32 GEMM distances may pick a near-tie, so a relative 1e-9 of slack.
      for (let i = 1; i < seen.length; i++) t.true(seen[i] <= seen[i - 1] * (1 + 1e-9), `${c.name} ${init} iteration ${i + 1}: ${seen[i]} > ${seen[i - 1]}`);
      t.true(seen.length >= 1);
    }
  }
});

test('a seed gives the same result at any thread count, sync or async, and progress is reported', async (t) => {
  const c = sklearn[1];
  const X = tensor(c.X, [c.n, c.dim]);
  const runs: KMeansResult[] = [];
  try {
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      runs.push(kmeans(X, c.K, { seed: 9, nInit: 3 }));
    }
  } finally {
    setNumThreads(2);
  }
  const calls: Array<[number, number, number]> = [];
  runs.push(await kmeansAsync(X, c.K, { seed: 9, nInit: 3, onProgress: (i, e, r) => calls.push([i, e, r]) }));
  for (const r of runs.slice(1)) {
    t.deepEqual(Array.from(r.centroids.data), Array.from(runs[0].centroids.data));
    t.deepEqual(r.labels, runs[0].labels);
    t.is(r.inertia, runs[0].inertia);
    t.is(r.iterations, runs[0].iterations);
  }
  t.deepEqual([...new Set(calls.map((x) => x[2]))], [0, 1, 2]);
  t.true(calls.every(([i], j) => j === 0 || i === 1 || i === calls[j - 1][0] + 1));
  const other = kmeans(X, c.K, { seed: 10, nInit: 3 });
  t.notDeepEqual(Array.from(other.labels), Array.from(runs[0].labels));
});

test('stopping: tol, maxIter, converged, and labels of the final centroids', (t) => {
  const c = sklearn[1];
  const X = tensor(c.X, [c.n, c.dim]);
  const loose = kmeans(X, c.K, { seed: 1, tol: 1e3 });
  t.is(loose.iterations, 1);
  t.true(loose.converged);
  const capped = kmeans(X, c.K, { seed: 1, tol: 0, maxIter: 1 });
  t.false(capped.converged);
  const full = kmeans(X, c.K, { seed: 1, tol: 0 });
  t.true(full.converged && full.iterations > 1);
  // The labels are the nearest of the returned centroids, and the inertia theirs.
  for (const r of [capped, full]) {
    const x = X.data, cent = r.centroids.data;
    let inertia = 0;
    for (let i = 0; i < c.n; i++) {
      let best = Infinity, arg = -1;
      for (let k = 0; k < c.K; k++) {
        let d = 0;
        for (let j = 0; j < c.dim; j++) d += (x[i * c.dim + j] - cent[k * c.dim + j]) ** 2;
        if (d < best) best = d, arg = k;
      }
      t.is(r.labels[i], arg);
      inertia += best;
    }
    t.true(Math.abs(inertia - r.inertia) <= 1e-6 * inertia);
  }
});

test('an empty cluster is refilled from the largest and random init picks distinct rows', (t) => {
  const n = 60, dim = 3, K = 4;
  const X = Tensor.from(seededFloats(n * dim, 3, 5), [n, dim]);
  // Two identical centroids: the second gets no point in the first assignment.
  const init = Tensor.from(Float32Array.from([0, 0, 0, 0, 0, 0, 9, 9, 9, -9, -9, -9]), [K, dim]);
  const r = kmeans(X, K, { init, tol: 0 });
  t.true(Array.from(r.counts).every((k) => k > 0), Array.from(r.counts).join(' '));
  t.is(r.counts.reduce((a, b) => a + b, 0), n);
  t.deepEqual(Array.from(init.data), [0, 0, 0, 0, 0, 0, 9, 9, 9, -9, -9, -9], 'init is not written');
  const seen: number[] = [];
  kmeans(X, 50, { init: 'random', seed: 2, maxIter: 1, onProgress: () => seen.push(1) });
  t.is(seen.length, 1);
});

test('abort between iterations rejects with E_ABORTED', async (t) => {
  const c = sklearn[4];
  const controller = new AbortController();
  const run = kmeansAsync(tensor(c.X, [c.n, c.dim]), c.K, {
    tol: 0, signal: controller.signal, onProgress: (i) => i === 2 && controller.abort(),
  });
  const e = await t.throwsAsync(run);
  t.is((e as FrugalError).code, 'E_ABORTED');
});

test('bad inputs give FrugalError naming the argument', async (t) => {
  const X = Tensor.from(seededFloats(20, 1), [10, 2]);
  const bad = (fn: () => unknown, code: FrugalError["code"], text: RegExp) => {
    const e = t.throws(fn, { instanceOf: FrugalError });
    t.is(e!.code, code, e!.message);
    t.regex(e!.message, text);
  };
  bad(() => kmeans(X, 11), 'E_SHAPE', /K: expected at most n = 10/);
  bad(() => kmeans(X, 0), 'E_RANGE', /K: expected an integer in \[1/);
  bad(() => kmeans(X, 1.5), 'E_RANGE', /K/);
  bad(() => kmeans(X, '3' as unknown as number), 'E_DTYPE', /K/);
  bad(() => kmeans(Tensor.from(new Float32Array(0), [4, 0]), 1), 'E_SHAPE', /X: expected at least one column/);
  bad(() => kmeans(Tensor.from(new Float32Array(8), [8]), 1), 'E_SHAPE', /X: expected shape \[n, dim\]/);
  bad(() => kmeans([1, 2] as unknown as Tensor, 1), 'E_DTYPE', /X/);
  for (const v of [NaN, Infinity, -Infinity, 1e20]) {
    const d = seededFloats(20, 1);
    d[7] = v;
    bad(() => kmeans(Tensor.from(d, [10, 2]), 2), 'E_RANGE', /X\[3, 1\]: expected a finite value/);
  }
  bad(() => kmeans(X, 2, { init: Tensor.from(new Float32Array(6), [3, 2]) }), 'E_SHAPE', /options.init: expected shape \[2, 2\]/);
  bad(() => kmeans(X, 2, { init: Tensor.from(new Float32Array(4), [2, 2]), nInit: 2 }), 'E_CONFIG', /nInit/);
  bad(() => kmeans(X, 2, { init: 'kmeans' as 'random' }), 'E_RANGE', /options.init/);
  bad(() => kmeans(X, 2, { nInit: 0 }), 'E_RANGE', /options.nInit/);
  bad(() => kmeans(X, 2, { maxIter: -1 }), 'E_RANGE', /options.maxIter/);
  bad(() => kmeans(X, 2, { tol: -1 }), 'E_RANGE', /options.tol/);
  bad(() => kmeans(X, 2, { tol: NaN }), 'E_RANGE', /options.tol/);
  bad(() => kmeans(X, 2, { seed: -1 }), 'E_RANGE', /options.seed/);
  bad(() => kmeans(X, 2, { onProgress: 3 as unknown as () => void }), 'E_DTYPE', /options.onProgress/);
  bad(() => kmeans(X, 2, { iters: 3 } as object), 'E_CONFIG', /iters/);
  const e = await t.throwsAsync(kmeansAsync(X, 11));
  t.is((e as FrugalError).code, 'E_SHAPE');
});
