// Checks the feature-map ops share: NCHW (or NCL) shapes, the device of a call,
// integer pairs (dilation, padding, size) and the inputs object itself.
import { FrugalError, describe } from '../errors';
import { Tensor, checkDims, checkTensor, commonDevice, type DeviceName, type Memory } from '../tensor';
import { checkBool, checkInt, checkOptions, shapeText } from '../validate';

/** The dims of a map as the addon takes them; a 1-D map [B, C, L] is H = 1, W = L. @internal */
export interface MapDims { B: number; C: number; H: number; W: number }

/** Largest kernel extent, dilation, padding or output side the ops take (2^31 − 1). */
const MAX_INT = 2 ** 31 - 1;

/** The prefix of every argument name in messages. @internal */
export const NAME = 'inputs';

/**
 * The inputs object of an op: a plain object whose keys are all in `keys`.
 * @throws FrugalError E_DTYPE (not a plain object), E_CONFIG (an unknown key).
 * @internal
 */
export function checkInputs<T extends object>(value: unknown, keys: readonly string[]): Partial<T> {
  if (value === undefined) throw new FrugalError('E_DTYPE', `${NAME}: expected an inputs object ({ x, ... }), got undefined`);
  return checkOptions<T>(value, NAME, keys);
}

/**
 * A required tensor `inputs.key`.
 * @throws FrugalError E_DTYPE (missing or not a Tensor), E_SHAPE (detached).
 * @internal
 */
export function required(o: Record<string, unknown>, key: string): Tensor {
  return checkTensor(o[key], `${NAME}.${key}`);
}

/** An optional tensor `inputs.key` (undefined: absent; anything else must be a Tensor). @internal */
export function optional(o: Record<string, unknown>, key: string): Tensor | undefined {
  return o[key] === undefined ? undefined : checkTensor(o[key], `${NAME}.${key}`);
}

/**
 * The dims of `inputs.key`: rank 4 [B, C, H, W] (or rank 3 [B, C, L] with `oneD`),
 * C, H and W at least 1 (B may be 0: an empty batch).
 * @throws FrugalError E_SHAPE (another rank, a zero C, H or W).
 * @internal
 */
export function mapDims(t: Tensor, key: string, oneD = false): MapDims {
  const name = `${NAME}.${key}`;
  const want = oneD ? '[B, C, L]' : '[B, C, H, W]';
  if (t.shape.length !== (oneD ? 3 : 4)) throw new FrugalError('E_SHAPE', `${name}: expected an ${oneD ? 'NCL' : 'NCHW'} map ${want}, got ${shapeText(t.shape)}`);
  const [B, C, H, W] = oneD ? [t.shape[0], t.shape[1], 1, t.shape[2]] : t.shape;
  if (C < 1 || H < 1 || W < 1) {
    throw new FrugalError('E_SHAPE', `${name}: expected ${want} with ${oneD ? 'C and L' : 'C, H and W'} at least 1, got ${shapeText(t.shape)}`);
  }
  return { B, C, H, W };
}

/** The shape [B, C, H, W] of a map, or [B, C, W] for a 1-D one. @internal */
export function mapShape(B: number, C: number, H: number, W: number, oneD: boolean): number[] {
  return oneD ? [B, C, W] : [B, C, H, W];
}

/**
 * Checks `inputs.key` against a shape.
 * @throws FrugalError E_SHAPE (another shape).
 * @internal
 */
export function dims(t: Tensor, key: string, shape: readonly number[]): Tensor {
  checkDims(t, `${NAME}.${key}`, shape);
  return t;
}

/**
 * The one device of the named tensors (undefined ones skipped).
 * @throws FrugalError E_DEVICE (tensors on different devices).
 * @internal
 */
export function deviceOf(tensors: Record<string, Tensor | undefined>): DeviceName {
  return commonDevice(Object.entries(tensors).map(([k, t]) => [t, `${NAME}.${k}`] as [Tensor | undefined, string]));
}

/** The memory of a tensor, or null when absent (the addon reads every key on every call). @internal */
export function memoryOrNull(t: Tensor | undefined): Memory | null {
  return t ? t.memory : null;
}

/**
 * An integer in [min, 2^31 − 1], or the pair [a, b] of two, for one axis each;
 * `fallback` when undefined. `axes` names the axes in messages.
 * @throws FrugalError E_DTYPE (neither a number nor an array), E_SHAPE (an array not of
 *   two), E_RANGE (not integers in range).
 * @internal
 */
export function intPair(value: unknown, key: string, min: number, fallback: () => [number, number], axes = '[h, w]'): [number, number] {
  const name = `${NAME}.${key}`;
  if (value === undefined) return fallback();
  if (typeof value === 'number') {
    const v = checkInt(value, name, min, MAX_INT);
    return [v, v];
  }
  if (!Array.isArray(value)) throw new FrugalError('E_DTYPE', `${name}: expected an integer or ${axes} of integers, got ${describe(value)}`);
  if (value.length !== 2) throw new FrugalError('E_SHAPE', `${name}: expected an integer or ${axes} (two integers), got an array of length ${value.length}`);
  return [checkInt(value[0], `${name}[0]`, min, MAX_INT), checkInt(value[1], `${name}[1]`, min, MAX_INT)];
}

/**
 * An integer in [min, 2^31 − 1], `fallback` when undefined.
 * @throws FrugalError E_DTYPE (not a number), E_RANGE (not an integer in range).
 * @internal
 */
export function intOption(value: unknown, key: string, min: number, fallback: number): number {
  return value === undefined ? fallback : checkInt(value, `${NAME}.${key}`, min, MAX_INT);
}

/**
 * `inputs.gelu` (default false).
 * @throws FrugalError E_DTYPE (not a boolean).
 * @internal
 */
export function geluOption(value: unknown): boolean {
  return value === undefined ? false : checkBool(value, `${NAME}.gelu`);
}

/**
 * The backward's `pre`: required with gelu (the forward's pre, shaped like its output),
 * refused without.
 * @throws FrugalError E_CONFIG (missing with gelu, given without), E_DTYPE, E_SHAPE.
 * @internal
 */
export function preInput(o: Record<string, unknown>, gelu: boolean, outShape: readonly number[]): Tensor | undefined {
  const pre = optional(o, 'pre');
  if (gelu && !pre) throw new FrugalError('E_CONFIG', `${NAME}.pre: expected the forward's pre ${shapeText(outShape)} with gelu: true, got undefined`);
  if (!gelu && pre) throw new FrugalError('E_CONFIG', `${NAME}.pre: only read with gelu: true (the forward keeps pre only then); leave it out or pass gelu: true`);
  if (pre) dims(pre, 'pre', outShape);
  return pre;
}

/**
 * One axis of a stride-1 convolution: in + 2·pad − dilation·(k − 1), at least 1.
 * @throws FrugalError E_SHAPE (an output smaller than 1, naming the sizes).
 * @internal
 */
export function convOutput(input: number, k: number, dilation: number, pad: number, axis: string): number {
  const out = input + 2 * pad - dilation * (k - 1);
  if (!(out >= 1)) {
    throw new FrugalError('E_SHAPE', `${NAME}.x: the ${axis} axis of ${input} with kernel ${k}, dilation ${dilation} and padding ${pad} ` +
      `leaves an output of ${out} (${input} + 2·${pad} − ${dilation}·(${k} − 1)); expected at least 1`);
  }
  if (out > MAX_INT) throw new FrugalError('E_RANGE', `${NAME}.x: the ${axis} axis of the output would be ${out}, more than ${MAX_INT}`);
  return out;
}
