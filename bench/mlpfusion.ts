// Benchmark suite 'mlpfusion', at RoBERTa-base's shapes (p = 3072 neurons of
// d = 768, so points of 2d + 1 = 1537, fused to K = 768):
//   - one Lloyd step (assignment + update) beside the distance GEMM it contains,
//     3072 × 1537 × 768 in Frugal's matmul (the aim: ≤ 1.3× that GEMM);
//   - k-means from the same init (up to 20 iterations, tol 0) beside ml-kmeans;
//   - the fused FFN forward and backward at N = 4096 tokens beside the original
//     FFN (the two matmuls with fused bias + GELU; its backward): aim ≤ 0.3×.
// --quick shrinks every shape by 4 in n, dim and K (ml-kmeans is pure JS).
import { Tensor, kmeans, matmul, mlpFusion } from '../lib';
import { native } from '../lib/binding';
import type { Memory } from '../lib/tensor';
import { filled } from './data';
import type { BenchCase, BenchOptions, BenchSuite } from './suite';

interface StepNative {
  kmeansStep(args: { X: Memory; n: number; dim: number; K: number; previous: Memory; centroids: Memory; labels: Int32Array; counts: Int32Array; stats: Float64Array; async: boolean }): unknown;
}
type MlKmeans = (data: number[][], K: number, options: { initialization: number[][]; maxIterations: number; tolerance: number }) => { iterations: number };

// ml-kmeans is a devDependency (ESM, required through Node's require(esm)); absent, its baseline is skipped.
function loadMlKmeans(): MlKmeans | undefined {
  try {
    return (require('ml-kmeans') as { kmeans: MlKmeans }).kmeans;
  } catch {
    return undefined;
  }
}

// Neuron-like points: small weights, as a trained FFN's (N(0, 0.02²)-sized).
function points(n: number, dim: number): Float32Array {
  const x = filled(n * dim, 11);
  for (let i = 0; i < x.length; i++) x[i] *= 0.035;
  return x;
}

function kmeansCases(n: number, dim: number, K: number): BenchCase[] {
  const x = points(n, dim);
  const X = Tensor.from(x, [n, dim]);
  const init = Tensor.from(x.slice(0, K * dim), [K, dim]);
  const next = Tensor.from(new Float32Array(K * dim), [K, dim]), out = Tensor.from(new Float32Array(n * K), [n, K]);
  const labels = new Int32Array(n), counts = new Int32Array(K), stats = new Float64Array(4);
  const step = native<StepNative>();
  const shape = `n ${n}, dim ${dim}, K ${K}`;
  const cases: BenchCase[] = [{
    name: `kmeans Lloyd step ${shape}`,
    flops: 2 * n * dim * K,
    frugal: () => step.kmeansStep({ X: X.memory, n, dim, K, previous: init.memory, centroids: next.memory, labels, counts, stats, async: false }),
    baselines: [{ name: `frugal matmul ${n}x${dim}x${K}`, fn: () => matmul(X, init, { transB: true, out }) }],
  }];
  const ml = loadMlKmeans();
  if (ml) {
    const data = Array.from({ length: n }, (_, i) => Array.from(x.subarray(i * dim, (i + 1) * dim)));
    const start = data.slice(0, K);
    const run = () => ml(data, K, { initialization: start.map((r) => r.slice()), maxIterations: 20, tolerance: 0 });
    cases.push({
      name: `kmeans ≤ 20 iterations ${shape}`,
      frugal: () => kmeans(X, K, { init, maxIter: 20, tol: 0 }),
      baselines: [{ name: 'ml-kmeans 7', fn: run }],
      // Both stop early once no label changes: the iterations each made, once.
      notes: { 'frugal iterations': kmeans(X, K, { init, maxIter: 20, tol: 0 }).iterations, 'ml-kmeans iterations': run().iterations },
    });
  }
  return cases;
}

function ffnCases(N: number, d: number, p: number, K: number): BenchCase[] {
  const t = (shape: number[], seed: number, scale: number) => {
    const v = filled(shape.reduce((a, b) => a * b, 1), seed);
    for (let i = 0; i < v.length; i++) v[i] *= scale;
    return Tensor.from(v, shape);
  };
  const x = t([N, d], 1, 1), dy = t([N, d], 2, 1);
  const W1 = t([p, d], 3, 0.05), b1 = t([p], 4, 0.05), W2 = t([d, p], 5, 0.05), b2 = t([d], 6, 0.05);
  const W1f = t([K, d], 7, 0.05), b1f = t([K], 8, 0.05), W2f = t([d, K], 9, 0.05);
  const counts = Tensor.from(Float32Array.from({ length: K }, (_, k) => 1 + (k % 7)), [K]);
  const h = Tensor.from(new Float32Array(N * p), [N, p]), y = Tensor.from(new Float32Array(N * d), [N, d]);
  const pre = mlpFusion.ffn({ x, W1f, b1f, W2f, b2, counts }).pre, preFull = mlpFusion.ffn({ x, W1f: W1, b1f: b1, W2f: W2, b2 }).pre;
  const flops = (width: number) => 4 * N * d * width;
  return [{
    name: `mlpFusion.ffn N ${N}, d ${d}, K ${K}`,
    flops: flops(K),
    frugal: () => mlpFusion.ffn({ x, W1f, b1f, W2f, b2, counts }),
    baselines: [{
      name: `original FFN p ${p} (2 matmuls, fused bias + GELU)`,
      fn: () => {
        matmul(x, W1, { transB: true, bias: b1, activation: 'gelu', out: h });
        matmul(h, W2, { transB: true, bias: b2, out: y });
      },
    }],
  }, {
    name: `mlpFusion.ffnBackward N ${N}, d ${d}, K ${K}`,
    flops: 2 * flops(K),
    frugal: () => mlpFusion.ffnBackward({ x, W1f, b1f, W2f, counts, pre, dy }),
    baselines: [{ name: `original FFN backward p ${p}`, fn: () => mlpFusion.ffnBackward({ x, W1f: W1, b1f: b1, W2f: W2, pre: preFull, dy }) }],
  }];
}

function cases(opts: BenchOptions): BenchCase[] {
  if (opts.device !== 'cpu') return [];
  const s = opts.quick ? 4 : 1;
  return [...kmeansCases(3072 / s, (1536 / s) + 1, 768 / s), ...ffnCases(4096 / s, 768 / s, 3072 / s, 768 / s)];
}

export const mlpfusionSuite: BenchSuite = { name: 'mlpfusion', cases };
