// MLP Fusion's compression of one FFN: neuron i is the point [W1 row i, b1ᵢ,
// W2 column i] ∈ R^(2d+1); k-means puts the p points into K clusters and each
// centroid (the mean of its points), split back, is one neuron of the fused FFN,
// weighted by its cluster size.
import { FrugalError, describe } from '../errors';
import { checkPoints, kmeans, kmeansAsync, type KMeansOptions, type KMeansResult } from '../kmeans';
import { Tensor, checkDims, checkTensor, commonDevice, type DeviceName } from '../tensor';
import { checkEnum, checkInt, checkOptions, optionKeys, shapeText } from '../validate';

/** Inputs of {@link fuse}: one FFN `y = W2·σ(W1·x + b1) + b2` (PyTorch Linear layout) and the k-means options. */
export interface FuseInputs extends Omit<KMeansOptions, 'signal'> {
  /** [p, d]. */
  W1: Tensor;
  /** [p]. */
  b1: Tensor;
  /** [d, p]. */
  W2: Tensor;
  /** [d]: copied to the result unchanged. */
  b2: Tensor;
  /** K, the neurons of the fused FFN (1 ≤ K ≤ p). */
  clusters: number;
  /** A clustering to use instead of running k-means: the cluster of every neuron, in [0, K), each cluster non-empty. */
  labels?: Int32Array;
  /** Where k-means runs. Default: W1's device. */
  device?: DeviceName;
}

/** The fused FFN (on W1's device) and how it was found. */
export interface FuseResult {
  /** [K, d]. */
  W1f: Tensor;
  /** [K]. */
  b1f: Tensor;
  /** [d, K]. */
  W2f: Tensor;
  /** [d], the input's b2. */
  b2: Tensor;
  /** [K]: the cluster sizes n, the fixed diag(n) of the fused FFN. */
  counts: Tensor;
  /** The cluster of every original neuron. */
  labels: Int32Array;
  /** k-means' inertia: Σ of squared distances of the points to their centroids. */
  inertia: number;
  /** Lloyd iterations (0 with given labels). */
  iterations: number;
}

const KEYS = optionKeys<FuseInputs>({
  W1: true, b1: true, W2: true, b2: true, clusters: true, labels: true, device: true,
  init: true, nInit: true, maxIter: true, tol: true, seed: true, onProgress: true,
});

interface FusePlan {
  p: number;
  d: number;
  K: number;
  points: Float32Array;
  device: DeviceName;
  outDevice: DeviceName;
  b2: Tensor;
  labels?: Int32Array;
  kmeansOptions: KMeansOptions;
}

const host = (t: Tensor): Float32Array => (t.device === 'cpu' ? t.data : t.to('cpu').data);

function plan(inputs: FuseInputs): FusePlan {
  const o = checkOptions<FuseInputs>(inputs, 'inputs', KEYS);
  const W1 = checkTensor(o.W1, 'inputs.W1');
  if (W1.shape.length !== 2 || W1.shape[0] < 1 || W1.shape[1] < 1) {
    throw new FrugalError('E_SHAPE', `inputs.W1: expected shape [p, d] with p, d >= 1, got ${shapeText(W1.shape)}`);
  }
  const [p, d] = W1.shape;
  const b1 = checkTensor(o.b1, 'inputs.b1'), W2 = checkTensor(o.W2, 'inputs.W2'), b2 = checkTensor(o.b2, 'inputs.b2');
  checkDims(b1, 'inputs.b1', [p]);
  checkDims(W2, 'inputs.W2', [d, p]);
  checkDims(b2, 'inputs.b2', [d]);
  const outDevice = commonDevice([[W1, 'inputs.W1'], [b1, 'inputs.b1'], [W2, 'inputs.W2'], [b2, 'inputs.b2']]);
  const K = checkInt(o.clusters, 'inputs.clusters', 1, p);
  const device = o.device === undefined ? outDevice : checkEnum(o.device, 'inputs.device', ['cpu', 'cuda'] as const);
  let labels: Int32Array | undefined;
  if (o.labels !== undefined) {
    if (!(o.labels instanceof Int32Array)) throw new FrugalError('E_DTYPE', `inputs.labels: expected an Int32Array, got ${describe(o.labels)}`);
    if (o.labels.length !== p) throw new FrugalError('E_SHAPE', `inputs.labels: expected ${p} labels (one per neuron), got ${o.labels.length}`);
    const seen = new Uint8Array(K);
    o.labels.forEach((l, i) => {
      if (!(l >= 0 && l < K)) throw new FrugalError('E_RANGE', `inputs.labels[${i}]: expected a cluster in [0, ${K}), got ${l}`);
      seen[l] = 1;
    });
    const empty = seen.indexOf(0);
    if (empty >= 0) throw new FrugalError('E_RANGE', `inputs.labels: cluster ${empty} has no neuron (every cluster needs one)`);
    labels = o.labels;
  }
  // The points, row i = [W1 row i, b1 i, W2 column i].
  const w1 = host(W1), bias = host(b1), w2 = host(W2), dim = 2 * d + 1;
  checkPoints(w1, p, d, 'inputs.W1');
  checkPoints(bias, p, 1, 'inputs.b1');
  checkPoints(w2, d, p, 'inputs.W2');
  const points = new Float32Array(p * dim);
  for (let i = 0; i < p; i++) {
    points.set(w1.subarray(i * d, (i + 1) * d), i * dim);
    points[i * dim + d] = bias[i];
    for (let j = 0; j < d; j++) points[i * dim + d + 1 + j] = w2[j * p + i];
  }
  const { init, nInit, maxIter, tol, seed, onProgress } = o;
  return { p, d, K, points, device, outDevice, b2, labels, kmeansOptions: { init, nInit, maxIter, tol, seed, onProgress } };
}

// The mean of every cluster's points (summed in double, neurons in order) and the cluster sizes.
function clusterMeans(P: FusePlan, labels: Int32Array): { mean: Float64Array; counts: Float32Array } {
  const { p, d, K, points } = P, dim = 2 * d + 1;
  const mean = new Float64Array(K * dim), counts = new Float32Array(K);
  for (let i = 0; i < p; i++) {
    counts[labels[i]]++;
    for (let j = 0; j < dim; j++) mean[labels[i] * dim + j] += points[i * dim + j];
  }
  for (let k = 0; k < K; k++) for (let j = 0; j < dim; j++) mean[k * dim + j] /= counts[k];
  return { mean, counts };
}

// The inertia of given labels against their own means (what k-means reports).
function inertiaOf(P: FusePlan, labels: Int32Array, mean: Float64Array): number {
  const dim = 2 * P.d + 1;
  let total = 0;
  for (let i = 0; i < P.p; i++) {
    for (let j = 0; j < dim; j++) total += (P.points[i * dim + j] - mean[labels[i] * dim + j]) ** 2;
  }
  return total;
}

// The centroids, split back into the fused layers (on W1's device).
function split(P: FusePlan, labels: Int32Array, r: KMeansResult | undefined): FuseResult {
  const { d, K } = P, dim = 2 * d + 1;
  const { mean, counts } = clusterMeans(P, labels);
  const W1f = new Float32Array(K * d), b1f = new Float32Array(K), W2f = new Float32Array(d * K);
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < d; j++) W1f[k * d + j] = mean[k * dim + j];
    b1f[k] = mean[k * dim + d];
    for (let j = 0; j < d; j++) W2f[j * K + k] = mean[k * dim + d + 1 + j];
  }
  const on = (data: Float32Array, shape: number[]) => Tensor.from(data, shape).to(P.outDevice);
  return {
    W1f: on(W1f, [K, d]), b1f: on(b1f, [K]), W2f: on(W2f, [d, K]), b2: P.b2, counts: on(counts, [K]), labels,
    inertia: r ? r.inertia : inertiaOf(P, labels, mean), iterations: r ? r.iterations : 0,
  };
}

function finish(P: FusePlan, r: KMeansResult | undefined): FuseResult {
  return split(P, r ? r.labels : P.labels!, r);
}

const pointsTensor = (P: FusePlan) => Tensor.from(P.points, [P.p, 2 * P.d + 1]).to(P.device);

/**
 * Compresses one FFN to K neurons by MLP Fusion (Wei et al., ICML 2023): k-means
 * over the neurons' points [W1 row, b1, W2 column], centroids split back. The
 * fused FFN `W2f·diag(counts)·σ(W1f·x + b1f) + b2` ({@link ffn}) approximates the
 * original's output and NTK. The k-means options are {@link kmeans}'s.
 * @throws FrugalError as {@link kmeans}; E_SHAPE (W1 not [p, d], b1/W2/b2 not
 *   [p]/[d, p]/[d], labels not p long), E_RANGE (clusters not in [1, p], a label
 *   out of range or an empty cluster), E_DTYPE (labels not an Int32Array).
 * @example const fused = mlpFusion.fuse({ W1, b1, W2, b2, clusters: 768, seed: 0 });
 */
export function fuse(inputs: FuseInputs): FuseResult {
  const P = plan(inputs);
  return finish(P, P.labels ? undefined : kmeans(pointsTensor(P), P.K, P.kmeansOptions));
}

/**
 * {@link fuse} with k-means on worker threads ({@link kmeansAsync}).
 * @throws FrugalError as {@link fuse} (the promise rejects).
 */
export async function fuseAsync(inputs: FuseInputs): Promise<FuseResult> {
  const P = plan(inputs);
  return finish(P, P.labels ? undefined : await kmeansAsync(pointsTensor(P), P.K, P.kmeansOptions));
}
