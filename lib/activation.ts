// Exact (erf) GELU, its backward, and softmax over the last axis (CPU kernels
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
