// Exact (erf) GELU, the logistic sigmoid, their backwards, and softmax over the last axis (CPU kernels
// with AVX2 / AVX-512 fast paths, CUDA when the tensors live there).
import { native } from './binding';
import { defineOp, type Prepared } from './call';
import { FrugalError } from './errors';
import { Tensor, checkDims, checkTensor, commonDevice, outputTensor, type Memory, type OutputInput } from './tensor';
import { checkOptions, optionKeys, shapeText } from './validate';

// The addon's argument lists (native/addon/activation.cc reads these keys and refuses any other).
interface ActivationNative {
  gelu(args: { x: Memory; y: Memory; n: number; async: boolean }): unknown;
  geluBackward(args: { x: Memory; dy: Memory; dx: Memory; n: number; async: boolean }): unknown;
  sigmoid(args: { x: Memory; y: Memory; n: number; async: boolean }): unknown;
  sigmoidBackward(args: { y: Memory; dy: Memory; dx: Memory; n: number; async: boolean }): unknown;
  softmax(args: { x: Memory; y: Memory; rows: number; cols: number; async: boolean }): unknown;
}

/** Options of the activation ops. */
export interface ActivationOptions {
  /**
   * Where to write the result (shaped like x, on x's device) instead of a new
   * tensor; it may be x (or dy) itself, but not overlap it partly (E_RANGE). Saves an allocation per call in loops.
   */
  out?: Tensor;
}

const ACTIVATION_KEYS = optionKeys<ActivationOptions>({ out: true });

// options.out: an elementwise or row op may write over its inputs exactly, never partly.
function outOption(options: unknown, shape: readonly number[], device: 'cpu' | 'cuda', inputs: readonly OutputInput[]): Tensor {
  return outputTensor(checkOptions<ActivationOptions>(options, 'options', ACTIVATION_KEYS).out, 'options.out', shape, device, inputs);
}

function prepareGelu(x: Tensor, options?: ActivationOptions): Prepared<Tensor> {
  const tx = checkTensor(x, 'x');
  const y = outOption(options, tx.shape, tx.device, [[tx, 'x', 'inPlace']]);
  const nat = native<ActivationNative>();
  return { run: (async) => nat.gelu({ x: tx.memory, y: y.memory, n: tx.size, async }), result: () => y };
}

function prepareGeluBackward(x: Tensor, dy: Tensor, options?: ActivationOptions): Prepared<Tensor> {
  const tx = checkTensor(x, 'x');
  const tdy = checkTensor(dy, 'dy');
  checkDims(tdy, 'dy', tx.shape);
  const device = commonDevice([[tx, 'x'], [tdy, 'dy']]);
  const dx = outOption(options, tx.shape, device, [[tx, 'x', 'inPlace'], [tdy, 'dy', 'inPlace']]);
  const nat = native<ActivationNative>();
  return { run: (async) => nat.geluBackward({ x: tx.memory, dy: tdy.memory, dx: dx.memory, n: tx.size, async }), result: () => dx };
}

function prepareSigmoid(x: Tensor, options?: ActivationOptions): Prepared<Tensor> {
  const tx = checkTensor(x, 'x');
  const y = outOption(options, tx.shape, tx.device, [[tx, 'x', 'inPlace']]);
  const nat = native<ActivationNative>();
  return { run: (async) => nat.sigmoid({ x: tx.memory, y: y.memory, n: tx.size, async }), result: () => y };
}

function prepareSigmoidBackward(y: Tensor, dy: Tensor, options?: ActivationOptions): Prepared<Tensor> {
  const ty = checkTensor(y, 'y');
  const tdy = checkTensor(dy, 'dy');
  checkDims(tdy, 'dy', ty.shape);
  const device = commonDevice([[ty, 'y'], [tdy, 'dy']]);
  const dx = outOption(options, ty.shape, device, [[ty, 'y', 'inPlace'], [tdy, 'dy', 'inPlace']]);
  const nat = native<ActivationNative>();
  return { run: (async) => nat.sigmoidBackward({ y: ty.memory, dy: tdy.memory, dx: dx.memory, n: ty.size, async }), result: () => dx };
}

function prepareSoftmax(x: Tensor, options?: ActivationOptions): Prepared<Tensor> {
  const tx = checkTensor(x, 'x');
  if (tx.shape.length < 1) {
    throw new FrugalError('E_SHAPE', `x: expected shape [..., C] (rank >= 1), got ${shapeText(tx.shape)}`);
  }
  const cols = tx.shape[tx.shape.length - 1];
  const rows = cols === 0 ? 0 : tx.size / cols;
  const y = outOption(options, tx.shape, tx.device, [[tx, 'x', 'inPlace']]);
  const nat = native<ActivationNative>();
  return { run: (async) => nat.softmax({ x: tx.memory, y: y.memory, rows, cols, async }), result: () => y };
}

const geluOp = defineOp('gelu', prepareGelu);
const geluBackwardOp = defineOp('geluBackward', prepareGeluBackward);
const sigmoidOp = defineOp('sigmoid', prepareSigmoid);
const sigmoidBackwardOp = defineOp('sigmoidBackward', prepareSigmoidBackward);
const softmaxOp = defineOp('softmax', prepareSoftmax);

/**
 * Exact GELU, elementwise: y = x·Φ(x) = ½x(1 + erf(x/√2)), any shape. The
 * fast paths are within about 1e-6 absolute (2e-6 relative) of the float64
 * formula. Returns a new tensor, or `options.out` filled.
 * @throws FrugalError E_DTYPE (not a Tensor), E_SHAPE/E_DEVICE (bad out).
 * @example const y = gelu(Tensor.from([-1, 0, 1], [3]));
 */
export const gelu = geluOp.sync;

/**
 * {@link gelu} on a worker thread; the input stays referenced until it settles.
 * @throws FrugalError as {@link gelu} (the promise rejects).
 */
export const geluAsync = geluOp.async;

/**
 * Backward of {@link gelu}: dx = dy·(Φ(x) + x·φ(x)) for x the forward's input
 * and dy shaped like x. Returns dx (a new tensor, or `options.out` filled).
 * @throws FrugalError E_DTYPE, E_SHAPE (dy or out not shaped like x), E_DEVICE.
 */
export const geluBackward = geluBackwardOp.sync;

/**
 * {@link geluBackward} on a worker thread; the inputs stay referenced until it settles.
 * @throws FrugalError as {@link geluBackward} (the promise rejects).
 */
export const geluBackwardAsync = geluBackwardOp.async;

/**
 * Logistic sigmoid, elementwise: y = 1/(1 + e^−x), any shape. The fast paths
 * are within a few ulp (relative) of the float64 formula. Saturation is exact:
 * y is 1 from x ≈ 17.3 on and for +Infinity, 0 for −Infinity and (fast paths)
 * below x ≈ −88.7, where the true value is under 1e-38; NaN stays NaN.
 * Returns a new tensor, or `options.out` filled.
 * @throws FrugalError E_DTYPE (not a Tensor), E_SHAPE/E_DEVICE (bad out).
 * @example const y = sigmoid(Tensor.from([-1, 0, 1], [3])); // [0.2689…, 0.5, 0.7310…]
 */
export const sigmoid = sigmoidOp.sync;

/**
 * {@link sigmoid} on a worker thread; the input stays referenced until it settles.
 * @throws FrugalError as {@link sigmoid} (the promise rejects).
 */
export const sigmoidAsync = sigmoidOp.async;

/**
 * Backward of {@link sigmoid} from its output: dx = dy·y·(1 − y) for y the
 * forward's result (not its input) and dy shaped like y. Returns dx (a new
 * tensor, or `options.out` filled; it may be y or dy itself).
 * @throws FrugalError E_DTYPE, E_SHAPE (dy or out not shaped like y), E_DEVICE.
 * @example const dx = sigmoidBackward(y, dy); // y = sigmoid(x)
 */
export const sigmoidBackward = sigmoidBackwardOp.sync;

/**
 * {@link sigmoidBackward} on a worker thread; the inputs stay referenced until it settles.
 * @throws FrugalError as {@link sigmoidBackward} (the promise rejects).
 */
export const sigmoidBackwardAsync = sigmoidBackwardOp.async;

/**
 * Softmax over the last axis of x [..., C] (rank ≥ 1): each row's maximum is
 * subtracted first, so large finite values never overflow; −Infinity entries
 * get 0 (masking). A row holding NaN or +Infinity, or only −Infinity, comes
 * out NaN. Returns a new tensor, or `options.out` filled.
 * @throws FrugalError E_DTYPE (not a Tensor), E_SHAPE (rank 0, bad out), E_DEVICE.
 * @example const p = softmax(logits); // logits [batch, classes]
 */
export const softmax = softmaxOp.sync;

/**
 * {@link softmax} on a worker thread; the input stays referenced until it settles.
 * @throws FrugalError as {@link softmax} (the promise rejects).
 */
export const softmaxAsync = softmaxOp.async;
