// k-means (Lloyd, scikit-learn's semantics) over the rows of a Tensor: the loop of
// restarts and iterations runs here, each step one native call (assignment by
// GEMM blocks, then fixed-order means; native/src/core/kmeans.cc), so progress
// can be reported between steps and the async form keeps the event loop free.
import { native } from './binding';
import { callNative } from './call';
import { FrugalError, describe, fromNative } from './errors';
import { StreamTags, random } from './random';
import { Tensor, checkTensor, zeros, type Memory } from './tensor';
import { checkEnum, checkInt, checkNumber, checkOptions, checkSeed, optionKeys, shapeText } from './validate';

// The addon's argument lists (native/addon/kmeans.cc reads these keys and refuses any other).
interface Problem {
  X: Memory;
  n: number;
  dim: number;
  K: number;
}
interface KMeansNative {
  kmeansPlusPlus(args: Problem & { seed: bigint; sub: number; centroids: Memory; chosen: Int32Array; async: boolean }): unknown;
  kmeansStep(args: Problem & { previous: Memory; centroids: Memory; labels: Int32Array; counts: Int32Array; stats: Float64Array; async: boolean }): unknown;
  kmeansAssign(args: Problem & { centroids: Memory; labels: Int32Array; stats: Float64Array; async: boolean }): unknown;
}

/** Options of {@link kmeans}. */
export interface KMeansOptions {
  /**
   * 'k-means++' (default: greedy, 2 + ⌊ln K⌋ candidates per centre, as scikit-learn),
   * 'random' (K distinct rows), or the initial centroids as a Tensor [K, dim] (then one run).
   */
  init?: 'k-means++' | 'random' | Tensor;
  /** Restarts, each from its own seeded init; the lowest inertia wins. Default 1. */
  nInit?: number;
  /** Most Lloyd iterations per restart. Default 300. */
  maxIter?: number;
  /**
   * Relative tolerance (scikit-learn's): stop when Σ‖Δc‖² ≤ tol × the mean over
   * columns of var(X). Runs also stop when no label changes; 0 stops only then. Default 1e-4.
   */
  tol?: number;
  /** Seed of the random streams (tag 5, sub = the restart). Default 0. */
  seed?: number | bigint;
  /** Called after every iteration with its number (from 1), the inertia of its assignment, and the restart. */
  onProgress?: (iteration: number, inertia: number, restart: number) => void;
  /** kmeansAsync only: aborting it stops the run between iterations (E_ABORTED). */
  signal?: AbortSignal;
}

/** What {@link kmeans} returns: the best restart's clustering. */
export interface KMeansResult {
  /** [K, dim], on X's device. */
  centroids: Tensor;
  /** The nearest centroid of every row (of the final centroids). */
  labels: Int32Array;
  /** Rows per cluster. */
  counts: Int32Array;
  /** Σ ‖x − c_label‖² over the rows. */
  inertia: number;
  /** Lloyd iterations of the winning restart. */
  iterations: number;
  /** False when the winning restart stopped at maxIter. */
  converged: boolean;
}

const KEYS = optionKeys<KMeansOptions>({ init: true, nInit: true, maxIter: true, tol: true, seed: true, onProgress: true, signal: true });

/** |x| above this could overflow the fp32 squared distances. */
const MAX_ABS = 1e15;

interface Plan {
  X: Tensor;
  n: number;
  dim: number;
  K: number;
  init: 'k-means++' | 'random' | Tensor;
  nInit: number;
  maxIter: number;
  tolAbs: number;
  seed: bigint;
  onProgress?: KMeansOptions['onProgress'];
  signal?: AbortSignal;
}

/**
 * Checks that every entry of x (rows × cols, row-major) is finite and at most
 * 1e15 in magnitude, so k-means' fp32 squared distances cannot overflow.
 * @throws FrugalError E_RANGE naming `${name}[i, j]`.
 * @internal
 */
export function checkPoints(x: Float32Array, rows: number, cols: number, name: string): void {
  for (let o = 0; o < rows * cols; o++) {
    if (!(Math.abs(x[o]) <= MAX_ABS)) {
      throw new FrugalError('E_RANGE', `${name}[${Math.floor(o / cols)}, ${o % cols}]: expected a finite value with |x| <= ${MAX_ABS}, got ${describe(x[o])}`);
    }
  }
}

// The mean over columns of the column variances of x [n, dim].
function meanColumnVariance(x: Float32Array, n: number, dim: number): number {
  const mean = new Float64Array(dim), sq = new Float64Array(dim);
  for (let o = 0; o < n * dim; o++) mean[o % dim] += x[o];
  for (let j = 0; j < dim; j++) mean[j] /= n;
  for (let o = 0; o < n * dim; o++) {
    const t = x[o] - mean[o % dim];
    sq[o % dim] += t * t;
  }
  let total = 0;
  for (let j = 0; j < dim; j++) total += sq[j] / n;
  return total / dim;
}

function plan(X: unknown, K: unknown, options: unknown): Plan {
  const tx = checkTensor(X, 'X');
  if (tx.shape.length !== 2) throw new FrugalError('E_SHAPE', `X: expected shape [n, dim], got ${shapeText(tx.shape)}`);
  const [n, dim] = tx.shape;
  if (dim < 1) throw new FrugalError('E_SHAPE', `X: expected at least one column, got shape ${shapeText(tx.shape)}`);
  const k = checkInt(K, 'K', 1, 1 << 24);
  if (n < k) throw new FrugalError('E_SHAPE', `K: expected at most n = ${n} clusters (the rows of X), got ${k}`);
  const o = checkOptions<KMeansOptions>(options, 'options', KEYS);
  let init: Plan['init'] = 'k-means++';
  if (o.init instanceof Tensor) {
    init = checkTensor(o.init, 'options.init');
    if (init.shape.length !== 2 || init.shape[0] !== k || init.shape[1] !== dim) {
      throw new FrugalError('E_SHAPE', `options.init: expected shape [${k}, ${dim}] (K, dim), got ${shapeText(init.shape)}`);
    }
    if (init.device !== tx.device) throw new FrugalError('E_DEVICE', `options.init: expected a tensor on '${tx.device}' (X's device), got '${init.device}'`);
  } else if (o.init !== undefined) {
    init = checkEnum(o.init, 'options.init', ['k-means++', 'random'] as const);
  }
  const nInit = o.nInit === undefined ? 1 : checkInt(o.nInit, 'options.nInit', 1, 10000);
  if (init instanceof Tensor && nInit > 1) {
    throw new FrugalError('E_CONFIG', `options.nInit: given centroids make one run, got nInit ${nInit}`);
  }
  const maxIter = o.maxIter === undefined ? 300 : checkInt(o.maxIter, 'options.maxIter', 1, 1e9);
  const tol = o.tol === undefined ? 1e-4 : checkNumber(o.tol, 'options.tol', { min: 0 });
  const seed = o.seed === undefined ? 0n : checkSeed(o.seed, 'options.seed');
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') {
    throw new FrugalError('E_DTYPE', `options.onProgress: expected a function, got ${describe(o.onProgress)}`);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new FrugalError('E_DTYPE', `options.signal: expected an AbortSignal, got ${describe(o.signal)}`);
  }
  const host = tx.device === 'cpu' ? tx.data : tx.to('cpu').data;
  if (init instanceof Tensor) checkPoints(init.device === 'cpu' ? init.data : init.to('cpu').data, k, dim, 'options.init');
  checkPoints(host, n, dim, 'X');
  const tolAbs = tol * meanColumnVariance(host, n, dim);
  return { X: tx, n, dim, K: k, init, nInit, maxIter, tolAbs, seed, onProgress: o.onProgress, signal: o.signal };
}

// The K distinct rows whose uniform values (stream seed, sub = restart, tag 5) are smallest.
function randomRows(p: Plan, restart: number): Tensor {
  const u = random.uniform(p.n, { seed: p.seed, sub: restart, tag: StreamTags.kmeansInit });
  const order = Array.from({ length: p.n }, (_, i) => i).sort((a, b) => u[a] - u[b] || a - b);
  const x = p.X.device === 'cpu' ? p.X.data : p.X.to('cpu').data;
  const c = new Float32Array(p.K * p.dim);
  for (let j = 0; j < p.K; j++) c.set(x.subarray(order[j] * p.dim, (order[j] + 1) * p.dim), j * p.dim);
  return Tensor.from(c, [p.K, p.dim]).to(p.X.device);
}

/** One restart's run, as a generator of native calls: each yields the call's result (a promise when async). */
function* restartRun(p: Plan, restart: number, nat: KMeansNative, async: boolean): Generator<unknown, KMeansResult, unknown> {
  const { n, dim, K } = p, X = p.X.memory;
  let prev: Tensor;
  if (p.init instanceof Tensor) {
    // A copy: the run writes its centroids into both of its buffers.
    prev = p.init.device === 'cpu' ? Tensor.from(p.init.data.slice(), [K, dim]) : p.init.to('cpu').to(p.init.device);
  } else if (p.init === 'random') {
    prev = randomRows(p, restart);
  } else {
    prev = zeros([p.K, p.dim], p.X.device);
    yield nat.kmeansPlusPlus({ X, n, dim, K, seed: p.seed, sub: restart, centroids: prev.memory, chosen: new Int32Array(K), async });
  }
  let next = zeros([p.K, p.dim], p.X.device);
  const labels = new Int32Array(p.n).fill(-1), counts = new Int32Array(p.K), stats = new Float64Array(4);
  let iterations = 0, converged = false, settled = false;
  while (iterations < p.maxIter) {
    yield nat.kmeansStep({ X, n, dim, K, previous: prev.memory, centroids: next.memory, labels, counts, stats, async });
    iterations++;
    p.onProgress?.(iterations, stats[0], restart);
    [prev, next] = [next, prev];
    // No label changed: the new centroids are the old ones and the assignment is final.
    if (stats[1] === 0) {
      converged = settled = true;
      break;
    }
    if (stats[2] <= p.tolAbs) {
      converged = true;
      break;
    }
  }
  let inertia = stats[0];
  if (!settled) {
    yield nat.kmeansAssign({ X, n, dim, K, centroids: prev.memory, labels, stats, async });
    inertia = stats[0];
    counts.fill(0);
    for (let i = 0; i < p.n; i++) counts[labels[i]]++;
  }
  return { centroids: prev, labels, counts, inertia, iterations, converged };
}

function better(a: KMeansResult | undefined, b: KMeansResult): KMeansResult {
  return a === undefined || b.inertia < a.inertia ? b : a;
}

/**
 * k-means of the rows of X [n, dim] into K clusters: Lloyd iterations from a
 * seeded init (k-means++ by default), `nInit` restarts, scikit-learn's stopping
 * rules. Distances ‖x‖² + ‖c‖² − 2x·c come from the GEMM, clamped at 0, ties to the
 * lowest index; centroid sums run in a fixed order, so a seed gives the same
 * result at any thread count. An empty cluster takes half of the largest one.
 * @throws FrugalError E_DTYPE (X or init not a Tensor, a bad option type),
 *   E_SHAPE (X not [n, dim] with dim >= 1, n < K, init not [K, dim]), E_RANGE (K,
 *   nInit, maxIter, tol or seed out of range; a NaN, Inf or |x| > 1e15 in X or init),
 *   E_CONFIG (unknown option, nInit > 1 with given centroids), E_DEVICE (init on another device).
 * @example const { centroids, labels, inertia } = kmeans(X, 8, { nInit: 4, seed: 1 });
 */
export function kmeans(X: Tensor, K: number, options?: KMeansOptions): KMeansResult {
  const p = plan(X, K, options);
  const nat = native<KMeansNative>();
  let best: KMeansResult | undefined;
  for (let r = 0; r < p.nInit; r++) {
    const run = restartRun(p, r, nat, false);
    let step = callNative(() => run.next());
    while (!step.done) step = callNative(() => run.next());
    best = better(best, step.value);
  }
  return best!;
}

/**
 * {@link kmeans} on worker threads, one native step at a time: the event loop
 * stays free between steps, where `onProgress` runs and `signal` is checked.
 * @throws FrugalError as {@link kmeans}; E_ABORTED when `signal` aborts (the promise rejects).
 */
export async function kmeansAsync(X: Tensor, K: number, options?: KMeansOptions): Promise<KMeansResult> {
  const p = plan(X, K, options);
  const nat = native<KMeansNative>();
  let best: KMeansResult | undefined;
  for (let r = 0; r < p.nInit; r++) {
    const run = restartRun(p, r, nat, true);
    for (let step = run.next(); ; ) {
      if (p.signal?.aborted) throw new FrugalError('E_ABORTED', 'kmeansAsync: aborted by its AbortSignal');
      if (step.done) {
        best = better(best, step.value);
        break;
      }
      try {
        await step.value;
      } catch (err) {
        throw fromNative(err);
      }
      step = run.next();
    }
  }
  return best!;
}
