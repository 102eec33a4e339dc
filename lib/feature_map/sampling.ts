// Resampling of NCHW maps: 2×2 max-pool (stride 2) and bilinear resize with
// align_corners = true (how EGE-UNet sizes its parameter maps), forward and backward.
import { native } from '../binding';
import { defineOp, type Prepared } from '../call';
import { FrugalError, describe } from '../errors';
import { Tensor, zeros, type Memory } from '../tensor';
import { checkInt, optionKeys } from '../validate';
import { NAME, checkInputs, deviceOf, dims, mapDims, required, type MapDims } from './map';

// The addon's argument lists (native/addon/feature_map.cc reads these keys and refuses any other).
type Dims = MapDims & { async: boolean };
interface SamplingNative {
  featureMapMaxPool(args: Dims & { x: Memory; y: Memory }): unknown;
  featureMapMaxPoolBackward(args: Dims & { dy: Memory; x: Memory; dx: Memory }): unknown;
  featureMapResize(args: Dims & { outH: number; outW: number; x: Memory; y: Memory }): unknown;
  featureMapResizeBackward(args: Dims & { outH: number; outW: number; dy: Memory; dx: Memory }): unknown;
}

/** Inputs of {@link maxPool2d}. */
export interface MaxPoolInputs {
  /** [B, C, H, W] with H, W ≥ 2. */
  x: Tensor;
}
/** Inputs of {@link maxPool2dBackward}. */
export interface MaxPoolBackwardInputs {
  /** [B, C, ⌊H/2⌋, ⌊W/2⌋]. */
  dy: Tensor;
  /** The forward's x. */
  x: Tensor;
}
/** Inputs of {@link resize}. */
export interface ResizeInputs {
  /** [B, C, H, W]. */
  x: Tensor;
  /** [h, w]: the output's plane, integers ≥ 1. */
  size: [number, number];
}
/** Inputs of {@link resizeBackward}. */
export interface ResizeBackwardInputs {
  /** [B, C, h, w]: the gradient of the resized map. */
  dy: Tensor;
  /** [H, W]: the forward's input plane. */
  inputSize: [number, number];
}

const MAX_POOL_KEYS = optionKeys<MaxPoolInputs>({ x: true });
const MAX_POOL_BACKWARD_KEYS = optionKeys<MaxPoolBackwardInputs>({ dy: true, x: true });
const RESIZE_KEYS = optionKeys<ResizeInputs>({ x: true, size: true });
const RESIZE_BACKWARD_KEYS = optionKeys<ResizeBackwardInputs>({ dy: true, inputSize: true });

const nat = () => native<SamplingNative>();

// [h, w], each an integer in [1, 2^31 − 1].
function plane(value: unknown, key: string): [number, number] {
  const name = `${NAME}.${key}`;
  if (!Array.isArray(value) || value.length !== 2) {
    throw new FrugalError(Array.isArray(value) ? 'E_SHAPE' : 'E_DTYPE', `${name}: expected [h, w] (two integers ≥ 1), got ${describe(value)}`);
  }
  return [checkInt(value[0], `${name}[0]`, 1), checkInt(value[1], `${name}[1]`, 1)];
}

// x's dims, with a plane of at least 2 × 2 (an output of at least 1 × 1).
function poolDims(x: Tensor): MapDims {
  const d = mapDims(x, 'x');
  if (d.H < 2 || d.W < 2) throw new FrugalError('E_SHAPE', `${NAME}.x: expected H, W ≥ 2 (the output is ⌊H/2⌋ × ⌊W/2⌋), got [${x.shape.join(', ')}]`);
  return d;
}

function prepareMaxPool(inputs: MaxPoolInputs): Prepared<{ y: Tensor }> {
  const o = checkInputs<MaxPoolInputs>(inputs, MAX_POOL_KEYS);
  const x = required(o, 'x');
  const d = poolDims(x);
  const y = zeros([d.B, d.C, Math.floor(d.H / 2), Math.floor(d.W / 2)], x.device);
  return { run: (async) => nat().featureMapMaxPool({ ...d, x: x.memory, y: y.memory, async }), result: () => ({ y }) };
}

function prepareMaxPoolBackward(inputs: MaxPoolBackwardInputs): Prepared<{ dx: Tensor }> {
  const o = checkInputs<MaxPoolBackwardInputs>(inputs, MAX_POOL_BACKWARD_KEYS);
  const x = required(o, 'x');
  const d = poolDims(x);
  const dy = dims(required(o, 'dy'), 'dy', [d.B, d.C, Math.floor(d.H / 2), Math.floor(d.W / 2)]);
  const dx = zeros([...x.shape], deviceOf({ dy, x }));
  return { run: (async) => nat().featureMapMaxPoolBackward({ ...d, dy: dy.memory, x: x.memory, dx: dx.memory, async }), result: () => ({ dx }) };
}

function prepareResize(inputs: ResizeInputs): Prepared<{ y: Tensor }> {
  const o = checkInputs<ResizeInputs>(inputs, RESIZE_KEYS);
  const x = required(o, 'x');
  const d = mapDims(x, 'x');
  const [outH, outW] = plane(o.size, 'size');
  const y = zeros([d.B, d.C, outH, outW], x.device);
  return { run: (async) => nat().featureMapResize({ ...d, outH, outW, x: x.memory, y: y.memory, async }), result: () => ({ y }) };
}

function prepareResizeBackward(inputs: ResizeBackwardInputs): Prepared<{ dx: Tensor }> {
  const o = checkInputs<ResizeBackwardInputs>(inputs, RESIZE_BACKWARD_KEYS);
  const dy = required(o, 'dy');
  const out = mapDims(dy, 'dy');
  const [H, W] = plane(o.inputSize, 'inputSize');
  const dx = zeros([out.B, out.C, H, W], dy.device);
  return {
    run: (async) => nat().featureMapResizeBackward({ B: out.B, C: out.C, H, W, outH: out.H, outW: out.W, dy: dy.memory, dx: dx.memory, async }),
    result: () => ({ dx }),
  };
}

const maxPoolOp = defineOp('featureMap.maxPool2d', prepareMaxPool);
const maxPoolBackwardOp = defineOp('featureMap.maxPool2dBackward', prepareMaxPoolBackward);
const resizeOp = defineOp('featureMap.resize', prepareResize);
const resizeBackwardOp = defineOp('featureMap.resizeBackward', prepareResizeBackward);

/**
 * 2×2 max-pool, stride 2: x [B, C, H, W] → y [B, C, ⌊H/2⌋, ⌊W/2⌋] (an odd last row or
 * column is dropped, as PyTorch's MaxPool2d(2)). NaN counts as a maximum.
 * @throws FrugalError E_DTYPE (not a Tensor), E_SHAPE (x not 4-D with C ≥ 1 and H, W ≥ 2), E_CONFIG.
 * @example const { y } = featureMap.maxPool2d({ x });
 */
export const maxPool2d = maxPoolOp.sync;
/** {@link maxPool2d} on a worker thread. @throws FrugalError as {@link maxPool2d} (the promise rejects). */
export const maxPool2dAsync = maxPoolOp.async;

/**
 * Backward of {@link maxPool2d}: each dy goes to the first maximum of its window in
 * row-major order (PyTorch's choice), found again from x; zeros elsewhere.
 * @throws FrugalError as {@link maxPool2d}, and E_SHAPE (dy not [B, C, ⌊H/2⌋, ⌊W/2⌋]), E_DEVICE.
 */
export const maxPool2dBackward = maxPoolBackwardOp.sync;
/** {@link maxPool2dBackward} on a worker thread. @throws FrugalError as {@link maxPool2dBackward}. */
export const maxPool2dBackwardAsync = maxPoolBackwardOp.async;

/**
 * Bilinear resize with align_corners = true (F.interpolate(x, size, mode='bilinear',
 * align_corners=True)): y[b,c,i,j] samples x at (i·(H − 1)/(h − 1), j·(W − 1)/(w − 1)),
 * position 0 on an axis of one output element. x [B, C, H, W] → y [B, C, h, w].
 * @throws FrugalError E_DTYPE (not a Tensor, size not an array), E_SHAPE (x not 4-D with C, H,
 *   W ≥ 1; size not two entries), E_RANGE (a side not an integer ≥ 1), E_CONFIG.
 * @example const { y } = featureMap.resize({ x: params, size: [32, 32] });
 */
export const resize = resizeOp.sync;
/** {@link resize} on a worker thread. @throws FrugalError as {@link resize}. */
export const resizeAsync = resizeOp.async;

/**
 * Backward of {@link resize}: dy [B, C, h, w] scattered with the same four weights into
 * dx [B, C, H, W] (inputSize = [H, W]), plane by plane in a fixed order.
 * @throws FrugalError as {@link resize} (inputSize in place of size).
 */
export const resizeBackward = resizeBackwardOp.sync;
/** {@link resizeBackward} on a worker thread. @throws FrugalError as {@link resizeBackward}. */
export const resizeBackwardAsync = resizeBackwardOp.async;
