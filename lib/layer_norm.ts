// LayerNorm over the last axis, forward and backward (CPU kernels with AVX2 /
// AVX-512 fast paths, CUDA when the tensors live there).
import { native } from './binding';
import { defineOp, type Prepared } from './call';
import { FrugalError } from './errors';
import { Tensor, checkDims, checkTensor, commonDevice, outputTensor, zeros, type Memory } from './tensor';
import { checkFloat32, checkOptions, optionKeys, shapeText } from './validate';

// The addon's argument lists (native/addon/layer_norm.cc reads these keys and refuses any other).
interface LayerNormNative {
  layerNorm(args: { x: Memory; gamma: Memory; beta: Memory; y: Memory; mean: Memory; rstd: Memory;
    rows: number; cols: number; eps: number; async: boolean }): unknown;
  layerNormBackward(args: { dy: Memory; x: Memory; gamma: Memory; mean: Memory; rstd: Memory; dx: Memory;
    dgamma: Memory; dbeta: Memory; rows: number; cols: number; async: boolean }): unknown;
}

/** Options of {@link layerNorm}. */
export interface LayerNormOptions {
  /** Added to the variance before the square root; finite and > 0 (as a float32). Default 1e-5. */
  eps?: number;
  /**
   * Where to write y (shaped like x, on x's device) instead of a new tensor; it
   * may be x itself, and must not overlap gamma or beta (E_RANGE). Saves an allocation per call in loops.
   */
  out?: Tensor;
}

/** Options of {@link layerNormBackward}. */
export interface LayerNormBackwardOptions {
  /** Where to write dx (shaped like x) instead of a new tensor; it may be dy itself, and must not overlap x, gamma or the saved statistics. */
  out?: Tensor;
}

/** What {@link layerNorm} returns. */
export interface LayerNormResult {
  /** The normalised output, shaped like x. */
  y: Tensor;
  /** Mean of each row, shaped like x without its last axis (saved for the backward). */
  mean: Tensor;
  /** 1/√(variance + eps) of each row (biased variance), shaped like mean. */
  rstd: Tensor;
}

/** The row statistics the backward needs: {@link LayerNormResult} itself fits. */
export interface LayerNormSaved {
  mean: Tensor;
  rstd: Tensor;
}

/** What {@link layerNormBackward} returns. */
export interface LayerNormGrads {
  /** Gradient with respect to x, shaped like x. */
  dx: Tensor;
  /** Gradient with respect to gamma, [C] (summed over all rows in a fixed order). */
  dGamma: Tensor;
  /** Gradient with respect to beta, [C]. */
  dBeta: Tensor;
}

const FORWARD_KEYS = optionKeys<LayerNormOptions>({ eps: true, out: true });
const BACKWARD_KEYS = optionKeys<LayerNormBackwardOptions>({ out: true });
// The forward's whole result may be passed as `saved` (y is not used).
const SAVED_KEYS = optionKeys<LayerNormResult>({ y: true, mean: true, rstd: true });

// x [..., C] with C >= 1: returns rows and C.
function rowsAndCols(x: Tensor, name: string): { rows: number; cols: number } {
  if (x.shape.length < 1 || x.shape[x.shape.length - 1] < 1) {
    throw new FrugalError('E_SHAPE', `${name}: expected shape [..., C] with C >= 1, got ${shapeText(x.shape)}`);
  }
  const cols = x.shape[x.shape.length - 1];
  return { rows: x.size / cols, cols };
}

function checkEps(value: unknown): number {
  return checkFloat32(value, 'options.eps', { min: 0, positive: true });
}

function prepareForward(x: Tensor, gamma: Tensor, beta: Tensor, options?: LayerNormOptions): Prepared<LayerNormResult> {
  const tx = checkTensor(x, 'x');
  const tg = checkTensor(gamma, 'gamma');
  const tb = checkTensor(beta, 'beta');
  const opts = checkOptions<LayerNormOptions>(options, 'options', FORWARD_KEYS);
  const eps = opts.eps === undefined ? 1e-5 : checkEps(opts.eps);
  const { rows, cols } = rowsAndCols(tx, 'x');
  checkDims(tg, 'gamma', [cols]);
  checkDims(tb, 'beta', [cols]);
  const device = commonDevice([[tx, 'x'], [tg, 'gamma'], [tb, 'beta']]);
  const rowShape = tx.shape.slice(0, -1);
  const result: LayerNormResult = {
    y: outputTensor(opts.out, 'options.out', tx.shape, device, [[tx, 'x', 'inPlace'], [tg, 'gamma', 'apart'], [tb, 'beta', 'apart']]),
    mean: zeros(rowShape, device),
    rstd: zeros(rowShape, device),
  };
  const nat = native<LayerNormNative>();
  return {
    run: (async) => nat.layerNorm({ x: tx.memory, gamma: tg.memory, beta: tb.memory, y: result.y.memory,
      mean: result.mean.memory, rstd: result.rstd.memory, rows, cols, eps, async }),
    result: () => result,
  };
}

function prepareBackward(dy: Tensor, x: Tensor, gamma: Tensor, saved: LayerNormSaved, options?: LayerNormBackwardOptions): Prepared<LayerNormGrads> {
  const tdy = checkTensor(dy, 'dy');
  const tx = checkTensor(x, 'x');
  const tg = checkTensor(gamma, 'gamma');
  const s = checkOptions<LayerNormSaved>(saved, 'saved', SAVED_KEYS);
  const tm = checkTensor(s.mean, 'saved.mean');
  const tr = checkTensor(s.rstd, 'saved.rstd');
  const { rows, cols } = rowsAndCols(tx, 'x');
  checkDims(tdy, 'dy', tx.shape);
  checkDims(tg, 'gamma', [cols]);
  const rowShape = tx.shape.slice(0, -1);
  checkDims(tm, 'saved.mean', rowShape);
  checkDims(tr, 'saved.rstd', rowShape);
  const device = commonDevice([[tdy, 'dy'], [tx, 'x'], [tg, 'gamma'], [tm, 'saved.mean'], [tr, 'saved.rstd']]);
  const opts = checkOptions<LayerNormBackwardOptions>(options, 'options', BACKWARD_KEYS);
  const result: LayerNormGrads = {
    dx: outputTensor(opts.out, 'options.out', tx.shape, device, [
      [tdy, 'dy', 'inPlace'], [tx, 'x', 'apart'], [tg, 'gamma', 'apart'], [tm, 'saved.mean', 'apart'], [tr, 'saved.rstd', 'apart'],
    ]),
    dGamma: zeros([cols], device),
    dBeta: zeros([cols], device),
  };
  const nat = native<LayerNormNative>();
  return {
    run: (async) => nat.layerNormBackward({ dy: tdy.memory, x: tx.memory, gamma: tg.memory, mean: tm.memory,
      rstd: tr.memory, dx: result.dx.memory, dgamma: result.dGamma.memory, dbeta: result.dBeta.memory, rows, cols, async }),
    result: () => result,
  };
}

const forward = defineOp('layerNorm', prepareForward);
const backward = defineOp('layerNormBackward', prepareBackward);

/**
 * LayerNorm over the last axis: y = gamma ⊙ (x − mean)·rstd + beta with
 * rstd = 1/√(var + eps) (biased variance), for x of shape [..., C] (any rank
 * ≥ 1) and gamma, beta of shape [C]. Returns y with the row statistics the
 * backward needs. Rows are independent; the result does not depend on the
 * thread count.
 * @throws FrugalError E_DTYPE (not a Tensor), E_SHAPE (C = 0, gamma/beta not [C],
 *   out not shaped like x), E_RANGE (eps not finite and > 0), E_DEVICE (tensors on
 *   different devices).
 * @example const { y, mean, rstd } = layerNorm(x, gamma, beta, { eps: 1e-6 });
 */
export const layerNorm = forward.sync;

/**
 * {@link layerNorm} on a worker thread; the inputs stay referenced until it settles.
 * @throws FrugalError as {@link layerNorm} (the promise rejects).
 */
export const layerNormAsync = forward.async;

/**
 * Backward of {@link layerNorm}: given dy (shaped like x), the forward's input
 * x, gamma and the saved row statistics (pass the forward's result, or any
 * `{ mean, rstd }`), returns dx = rstd·(g − mean(g) − x̂·mean(g ⊙ x̂)) with
 * g = gamma ⊙ dy and x̂ = (x − mean)·rstd, and dGamma = Σ dy ⊙ x̂, dBeta = Σ dy
 * over all rows. The sums run in a fixed order: the result does not depend on
 * the thread count. `options.out` receives dx instead of a new tensor.
 * @throws FrugalError E_DTYPE, E_SHAPE (dy or out not shaped like x, gamma not [C],
 *   mean/rstd not x's shape without the last axis), E_DEVICE.
 * @example
 * const fwd = layerNorm(x, gamma, beta);
 * const { dx, dGamma, dBeta } = layerNormBackward(dy, x, gamma, fwd);
 */
export const layerNormBackward = backward.sync;

/**
 * {@link layerNormBackward} on a worker thread; the inputs stay referenced until it settles.
 * @throws FrugalError as {@link layerNormBackward} (the promise rejects).
 */
export const layerNormBackwardAsync = backward.async;
