// GradDrop's native ops: masks drawn from random streams v1 (never stored), an
// in-place apply, and the masked weight gradient of a linear layer whose dropped
// parts are never computed (CPU: one kernel source for AVX2 / AVX-512; CUDA when
// the tensors live there).
import { native } from '../binding';
import { defineOp, type Prepared } from '../call';
import { FrugalError } from '../errors';
import {
  Tensor, checkApart, checkDims, checkShape, checkTensor, commonDevice, outputTensor, zeros, type DeviceName, type Memory, type OutputInput,
} from '../tensor';
import { checkBool, checkFloat32, checkOptions, isPlainObject, optionKeys, shapeText } from '../validate';
import { checkMaskOptions, type MaskOptions } from './schedule';

// The mask keys every addon function reads (native/addon/graddrop.cc, ReadMask).
interface MaskArgs {
  rows: number;
  cols: number;
  granularity: string;
  blockRows: number;
  blockCols: number;
  p: number;
  rescale: boolean;
  seed: number | bigint;
  step: number;
  layer: number;
}

interface GradDropNative {
  graddropMask(args: MaskArgs & { out: Memory; async: boolean }): unknown;
  graddropApply(args: MaskArgs & { grad: Memory; async: boolean }): unknown;
  graddropLinearGrad(args: MaskArgs & { tokens: number; a: Memory; g: Memory; weight: Memory; bias: Memory | null;
    beta: number; async: boolean }): unknown;
  graddropPreferredBlock(): [number, number];
}

/** Options of {@link mask}: the mask's own options and the tensor's shape. */
export interface MaskTensorOptions extends MaskOptions {
  /** The gradient's shape: [rows, cols], [n] (rows = 1) or any rank (rows = shape[0], cols = the rest). */
  shape: readonly number[];
  /** Where to write the multipliers (shaped like `shape`, on its device) instead of a new CPU tensor. */
  out?: Tensor;
}

/** Options of {@link linearGrad}: the mask of the weight gradient [dout, din] and the GEMM's own. */
export interface LinearGradOptions extends MaskOptions {
  /** Also return the bias gradient Σ_t G[t, :] (row-masked for 'row' and 'tensor' granularity, unmasked otherwise). Default false. */
  bias?: boolean;
  /**
   * Accumulate into these tensors (a previous call's result fits): weight [dout, din], and bias [dout]
   * exactly when `bias` is true. Must not share memory with A or G.
   */
  out?: LinearGradResult;
  /** out = beta·out + the masked gradient; needs `out`. Dropped units of out become beta·old. Default 0 (old values never read). */
  beta?: number;
}

/** What {@link linearGrad} returns. */
export interface LinearGradResult {
  /** The masked weight gradient mask ⊙ (Gᵀ·A), [dout, din]. */
  weight: Tensor;
  /** The bias gradient [dout], when asked for. */
  bias?: Tensor;
}

const MASK_TENSOR_KEYS = optionKeys<Pick<MaskTensorOptions, 'shape' | 'out'>>({ shape: true, out: true });
const LINEAR_KEYS = optionKeys<Pick<LinearGradOptions, 'bias' | 'out' | 'beta'>>({ bias: true, out: true, beta: true });
const OUT_KEYS = optionKeys<LinearGradResult>({ weight: true, bias: true });

// A gradient's shape as the contract's [rows, cols]: rank 1 is one row, rank ≥ 2 is
// shape[0] rows of the remaining elements (a conv weight [O, I, kh, kw] is O rows).
function maskDims(shape: readonly number[]): { rows: number; cols: number } {
  if (shape.length <= 1) return { rows: 1, cols: shape.length === 0 ? 1 : shape[0] };
  return { rows: shape[0], cols: shape.slice(1).reduce((a, b) => a * b, 1) };
}

// One literal with every mask key: block is [1, 1] unless granularity is 'block'.
function maskArgs(m: MaskOptions, rows: number, cols: number): MaskArgs {
  const [blockRows, blockCols] = m.block ?? [1, 1];
  return { rows, cols, granularity: m.granularity, blockRows, blockCols, p: m.p, rescale: m.rescale === 'inverse',
    seed: m.seed, step: m.step, layer: m.layer };
}

function prepareMask(options: MaskTensorOptions): Prepared<Tensor> {
  const m = checkMaskOptions(options, 'options', MASK_TENSOR_KEYS);
  checkShape(options.shape, 'options.shape');
  const shape = [...options.shape];
  const out = options.out === undefined ? zeros(shape) : checkTensor(options.out, 'options.out');
  checkDims(out, 'options.out', shape);
  const { rows, cols } = maskDims(shape);
  const nat = native<GradDropNative>();
  const args = { ...maskArgs(m, rows, cols), out: out.memory, async: false };
  return {
    run: (async) => {
      args.async = async;
      return nat.graddropMask(args);
    },
    result: () => out,
  };
}

function prepareApply(grad: Tensor, options: MaskOptions): Prepared<Tensor> {
  const t = checkTensor(grad, 'grad');
  const m = checkMaskOptions(options, 'options');
  const { rows, cols } = maskDims(t.shape);
  const nat = native<GradDropNative>();
  const args = { ...maskArgs(m, rows, cols), grad: t.memory, async: false };
  return {
    run: (async) => {
      args.async = async;
      return nat.graddropApply(args);
    },
    result: () => t,
  };
}

// A [N, din] or [B, T, din] and G [N, dout] or [B, T, dout] with the same leading dimensions.
function tokenCount(A: Tensor, G: Tensor): { tokens: number; din: number; dout: number } {
  const rank = A.shape.length;
  if (rank !== 2 && rank !== 3) throw new FrugalError('E_SHAPE', `A: expected shape [N, din] or [B, T, din], got ${shapeText(A.shape)}`);
  const lead = A.shape.slice(0, -1);
  if (G.shape.length !== rank || lead.some((d, i) => G.shape[i] !== d)) {
    throw new FrugalError('E_SHAPE', `G: expected shape [${[...lead, 'dout'].join(', ')}] like A ${shapeText(A.shape)}, got ${shapeText(G.shape)}`);
  }
  return { tokens: lead.reduce((a, b) => a * b, 1), din: A.shape[rank - 1], dout: G.shape[rank - 1] };
}

// The tensors linearGrad writes: new zeros, or the caller's `out` (a previous
// result) after its checks.
function linearGradOutputs(out: unknown, withBias: boolean, beta: number, [dout, din]: [number, number],
  device: DeviceName, inputs: readonly OutputInput[]): LinearGradResult {
  if (out === undefined) {
    if (beta !== 0) throw new FrugalError('E_CONFIG', `options.beta: beta ${beta} needs options.out (the gradient it scales)`);
    return withBias ? { weight: zeros([dout, din], device), bias: zeros([dout], device) } : { weight: zeros([dout, din], device) };
  }
  if (!isPlainObject(out)) throw new FrugalError('E_DTYPE', `options.out: expected { weight, bias? } (a previous result), got ${typeof out}`);
  const o = checkOptions<LinearGradResult>(out, 'options.out', OUT_KEYS);
  // outputTensor would allocate for a missing weight, silently dropping the accumulation.
  if (o.weight === undefined) throw new FrugalError('E_DTYPE', 'options.out.weight: expected a [dout, din] Tensor to accumulate into, got undefined');
  const weight = outputTensor(o.weight, 'options.out.weight', [dout, din], device, inputs);
  if ((o.bias !== undefined) !== withBias) {
    throw new FrugalError('E_CONFIG', `options.out.bias: expected ${withBias ? 'a [dout] tensor (options.bias is true)' : 'none (options.bias is not true)'}, got ${o.bias === undefined ? 'none' : 'a tensor'}`);
  }
  if (!withBias) return { weight };
  const bias = outputTensor(o.bias, 'options.out.bias', [dout], device, inputs);
  checkApart(bias, 'options.out.bias', [[weight, 'options.out.weight', 'apart']]);
  return { weight, bias };
}

function prepareLinearGrad(A: Tensor, G: Tensor, options: LinearGradOptions): Prepared<LinearGradResult> {
  const tA = checkTensor(A, 'A');
  const tG = checkTensor(G, 'G');
  const m = checkMaskOptions(options, 'options', LINEAR_KEYS);
  const withBias = options.bias === undefined ? false : checkBool(options.bias, 'options.bias');
  const beta = options.beta === undefined ? 0 : checkFloat32(options.beta, 'options.beta');
  const { tokens, din, dout } = tokenCount(tA, tG);
  const device = commonDevice([[tA, 'A'], [tG, 'G']]);
  const result = linearGradOutputs(options.out, withBias, beta, [dout, din], device, [[tA, 'A', 'apart'], [tG, 'G', 'apart']]);
  const nat = native<GradDropNative>();
  const args = { ...maskArgs(m, dout, din), tokens, a: tA.memory, g: tG.memory, weight: result.weight.memory,
    bias: result.bias ? result.bias.memory : null, beta, async: false };
  return {
    run: (async) => {
      args.async = async;
      return nat.graddropLinearGrad(args);
    },
    result: () => result,
  };
}

const maskOp = defineOp('graddrop.mask', prepareMask);
const applyOp = defineOp('graddrop.apply', prepareApply);
const linearGradOp = defineOp('graddrop.linearGrad', prepareLinearGrad);

/**
 * The multipliers of a gradient mask as a tensor of `shape`: 0 where dropped,
 * 1/(1−p) (rescale 'inverse') or 1 where kept. Masks are never stored by the
 * other ops; build one only to look at it. Bit-identical on the CPU and CUDA.
 * @throws FrugalError E_DTYPE, E_CONFIG (unknown option, block with another granularity),
 *   E_RANGE (p outside [0, 1] or NaN, unknown granularity, step/layer outside 32 bits,
 *   seed), E_SHAPE (bad shape, block not [br, bc], out of another shape).
 * @example const m = graddrop.mask({ shape: [768, 3072], p: 0.1, granularity: 'row', seed: 7, step: 0, layer: 3 });
 */
export const mask = maskOp.sync;
/** {@link mask} on a worker thread. @throws FrugalError as {@link mask} (the promise rejects). */
export const maskAsync = maskOp.async;

/**
 * Masks a gradient in place in one pass and returns it: dropped elements become
 * exactly 0 (even NaN or ∞), kept ones are multiplied by their unit's scale.
 * `grad` is [rows, cols], [n] (one row) or higher rank (rows = shape[0]).
 * @throws FrugalError E_DTYPE (not a Tensor) and as {@link mask}.
 * @example graddrop.apply(biasGrad, { p: 0.1, granularity: 'element', seed: 7, step, layer: 101 });
 */
export const apply = applyOp.sync;
/** {@link apply} on a worker thread. @throws FrugalError as {@link apply} (the promise rejects). */
export const applyAsync = applyOp.async;

/**
 * The masked weight gradient of y = x·Wᵀ + b: weight = mask ⊙ (Gᵀ·A) over all
 * tokens, A [N, din] or [B, T, din], G [N, dout] or [B, T, dout], with the
 * mask of the [dout, din] weight applied inside the GEMM. Dropped rows, columns,
 * blocks and whole tensors are never computed (p = 1 runs no GEMM); element
 * masks are drawn in the GEMM's epilogue. With `bias: true` it also returns the
 * bias gradient Σ_t G[t, :], masked by the row multipliers for 'row' and
 * 'tensor' granularity and unmasked for the others (mask it with {@link apply}
 * under its own layer id). With `out` and `beta` it accumulates; dropped units
 * of out keep beta·old. The input gradient G·W is never masked.
 * @throws FrugalError E_DTYPE, E_SHAPE (ranks, G's leading dimensions, out shapes),
 *   E_CONFIG (beta without out, out.bias not matching bias), E_RANGE (mask options,
 *   out sharing memory with A or G), E_DEVICE, and as {@link mask}.
 * @example const { weight } = graddrop.linearGrad(x, dy, { p: 0.5, granularity: 'block', block: graddrop.preferredBlock(), seed, step, layer });
 */
export const linearGrad = linearGradOp.sync;
/** {@link linearGrad} on a worker thread. @throws FrugalError as {@link linearGrad} (the promise rejects). */
export const linearGradAsync = linearGradOp.async;

/**
 * The block shape [br, bc] whose drops {@link linearGrad} skips best at the active
 * ISA level (a multiple of the CPU GEMM's register tile). A query, not an op: no async form.
 * @example const block = graddrop.preferredBlock(); // [14, 32] at AVX-512, [6, 16] at AVX2
 */
export function preferredBlock(): [number, number] {
  const [br, bc] = native<GradDropNative>().graddropPreferredBlock();
  return [br, bc];
}
