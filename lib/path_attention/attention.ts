// Packed variable-length multi-head attention over each path's kept tokens, and
// its backward from the saved log-sum-exp (FlashAttention's: no stored probabilities).
import { native } from '../binding';
import { defineOp, type Prepared } from '../call';
import { FrugalError } from '../errors';
import { checkOffsets, type Offsets } from '../packed';
import { Tensor, checkDims, checkTensor, commonDevice, zeros, type Memory } from '../tensor';
import { checkFloat32, checkInt, checkOptions, optionKeys, shapeText } from '../validate';

// The addon's argument lists (native/addon/path_attention.cc reads these keys and refuses any other).
interface HeadsArgs { offsets: Int32Array; heads: number; headDim: number; scale: number; fusedQkv: boolean; q: Memory; k: Memory; v: Memory; async: boolean }
interface AttentionNative {
  pathAttention(args: HeadsArgs & { out: Memory; lse: Memory }): unknown;
  pathAttentionBackward(args: HeadsArgs & { out: Memory; lse: Memory; dout: Memory; dq: Memory; dk: Memory; dv: Memory }): unknown;
}

/** Largest head dimension the kernels take. */
export const MAX_HEAD_DIM = 256;

/** q, k and v as three tensors [total, heads, headDim]. */
export interface SeparateQkv {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  /** [B + 1]: path b owns rows [offsets[b], offsets[b+1]); 0 first, non-decreasing, the rows last. */
  offsets: Offsets;
  /** Multiplies q·k; finite. Default 1/√headDim. */
  scale?: number;
}

/**
 * q, k and v in one tensor [total, 3·heads·headDim], as a fused qkv Linear writes
 * them (timm's layout): q of head h at columns h·headDim…, k at dim + h·headDim…,
 * v at 2·dim + h·headDim…, with dim = heads·headDim. Read in place, no split.
 */
export interface FusedQkv {
  qkv: Tensor;
  heads: number;
  offsets: Offsets;
  scale?: number;
}

/** What {@link attention} returns. */
export interface AttentionResult {
  /** [total, heads, headDim]: softmax(q·kᵀ·scale)·v per path and head. */
  out: Tensor;
  /** [total, heads]: the natural log of Σ_j exp(q·k_j·scale) of each row (saved for the backward). */
  lse: Tensor;
}

/** The forward's inputs and result, and the gradient of out. */
export type AttentionBackwardInputs<Q> = Q & { out: Tensor; lse: Tensor; dout: Tensor };

/** What {@link attentionBackward} returns with separate q, k, v. */
export interface SeparateQkvGrads { dq: Tensor; dk: Tensor; dv: Tensor }
/** What {@link attentionBackward} returns with a fused qkv: one gradient shaped like qkv. */
export interface FusedQkvGrads { dqkv: Tensor }

const SEPARATE_KEYS = optionKeys<SeparateQkv>({ q: true, k: true, v: true, offsets: true, scale: true });
const FUSED_KEYS = optionKeys<FusedQkv>({ qkv: true, heads: true, offsets: true, scale: true });
const SAVED = { out: true, lse: true, dout: true } as const;
const SEPARATE_BACKWARD_KEYS = [...SEPARATE_KEYS, ...Object.keys(SAVED)];
const FUSED_BACKWARD_KEYS = [...FUSED_KEYS, ...Object.keys(SAVED)];

const nat = () => native<AttentionNative>();

// The checked inputs of either form: the memory under q, k, v (one tensor three times when fused).
interface Heads {
  base: HeadsArgs;
  total: number;
  heads: number;
  headDim: number;
  tensors: Array<[Tensor, string]>;
  shape: readonly number[];  // the shape of q (or qkv): the gradients' shape
  fused: boolean;
}

function checkHeadDim(headDim: number, name: string): void {
  if (headDim < 1 || headDim > MAX_HEAD_DIM) {
    throw new FrugalError('E_SHAPE', `${name}: expected a head dimension in [1, ${MAX_HEAD_DIM}], got ${headDim}`);
  }
}

function checkHeads(value: unknown, name: string, backward: boolean): Heads {
  if (typeof value !== 'object' || value === null) throw new FrugalError('E_DTYPE', `${name}: expected { q, k, v, offsets } or { qkv, heads, offsets }`);
  const fused = 'qkv' in value;
  const keys = fused ? (backward ? FUSED_BACKWARD_KEYS : FUSED_KEYS) : backward ? SEPARATE_BACKWARD_KEYS : SEPARATE_KEYS;
  const o = checkOptions<SeparateQkv & FusedQkv>(value, name, keys);
  let q: Tensor, k: Tensor, v: Tensor, heads: number, headDim: number, tensors: Array<[Tensor, string]>;
  if (fused) {
    q = k = v = checkTensor(o.qkv, `${name}.qkv`);
    heads = checkInt(o.heads, `${name}.heads`, 1);
    if (q.shape.length !== 2 || q.shape[1] % (3 * heads) !== 0) {
      throw new FrugalError('E_SHAPE', `${name}.qkv: expected [total, 3·heads·headDim] with heads ${heads}, got ${shapeText(q.shape)}`);
    }
    headDim = q.shape[1] / (3 * heads);
    checkHeadDim(headDim, `${name}.qkv`);
    tensors = [[q, `${name}.qkv`]];
  } else {
    q = checkTensor(o.q, `${name}.q`);
    if (q.shape.length !== 3) throw new FrugalError('E_SHAPE', `${name}.q: expected [total, heads, headDim], got ${shapeText(q.shape)}`);
    [, heads, headDim] = q.shape;
    if (heads < 1) throw new FrugalError('E_SHAPE', `${name}.q: expected heads >= 1, got ${shapeText(q.shape)}`);
    checkHeadDim(headDim, `${name}.q`);
    k = checkTensor(o.k, `${name}.k`);
    v = checkTensor(o.v, `${name}.v`);
    checkDims(k, `${name}.k`, q.shape);
    checkDims(v, `${name}.v`, q.shape);
    tensors = [[q, `${name}.q`], [k, `${name}.k`], [v, `${name}.v`]];
  }
  const total = q.shape[0];
  const offsets = checkOffsets(o.offsets, `${name}.offsets`, total, false);
  const scale = o.scale === undefined ? 1 / Math.sqrt(headDim) : checkFloat32(o.scale, `${name}.scale`);
  return {
    base: { offsets, heads, headDim, scale, fusedQkv: fused, q: q.memory, k: k.memory, v: v.memory, async: false },
    total, heads, headDim, tensors, shape: q.shape, fused,
  };
}

function prepareAttention(inputs: SeparateQkv | FusedQkv): Prepared<AttentionResult> {
  const h = checkHeads(inputs, 'inputs', false);
  const device = commonDevice(h.tensors);
  const result: AttentionResult = { out: zeros([h.total, h.heads, h.headDim], device), lse: zeros([h.total, h.heads], device) };
  return {
    run: (async) => nat().pathAttention({ ...h.base, out: result.out.memory, lse: result.lse.memory, async }),
    result: () => result,
  };
}

function prepareBackward(inputs: AttentionBackwardInputs<SeparateQkv> | AttentionBackwardInputs<FusedQkv>): Prepared<SeparateQkvGrads | FusedQkvGrads> {
  const h = checkHeads(inputs, 'inputs', true);
  const out = checkTensor(inputs.out, 'inputs.out');
  const lse = checkTensor(inputs.lse, 'inputs.lse');
  const dout = checkTensor(inputs.dout, 'inputs.dout');
  const outShape = [h.total, h.heads, h.headDim];
  // out and dout may come as [total, heads, headDim] or its [total, heads·headDim] view.
  for (const [t, name] of [[out, 'inputs.out'], [dout, 'inputs.dout']] as const) {
    if (t.size !== h.total * h.heads * h.headDim || t.shape[0] !== h.total) {
      throw new FrugalError('E_SHAPE', `${name}: expected shape ${shapeText(outShape)} (or [${h.total}, ${h.heads * h.headDim}]), got ${shapeText(t.shape)}`);
    }
  }
  checkDims(lse, 'inputs.lse', [h.total, h.heads]);
  const device = commonDevice([...h.tensors, [out, 'inputs.out'], [lse, 'inputs.lse'], [dout, 'inputs.dout']]);
  const grads = h.fused ? [zeros([...h.shape], device)] : [0, 1, 2].map(() => zeros([...h.shape], device));
  const [dq, dk, dv] = h.fused ? [grads[0], grads[0], grads[0]] : grads;
  return {
    run: (async) => nat().pathAttentionBackward({ ...h.base, out: out.memory, lse: lse.memory, dout: dout.memory,
      dq: dq.memory, dk: dk.memory, dv: dv.memory, async }),
    result: () => (h.fused ? { dqkv: dq } : { dq, dk, dv }),
  };
}

const attentionOp = defineOp('pathAttention.attention', prepareAttention);
const backwardOp = defineOp('pathAttention.attentionBackward', prepareBackward);

/**
 * Multi-head attention per path over its own tokens only: for path b (rows
 * [offsets[b], offsets[b+1])) and each head, out_i = Σ_j softmax_j(q_i·k_j·scale)·v_j.
 * Online softmax over blocks of keys (never a T×T matrix); any head dimension in
 * [1, 256]; empty paths allowed; a path of one token gives out = v. Takes q, k, v
 * as three [total, heads, headDim] tensors or one fused qkv [total, 3·heads·headDim].
 * NaN and Inf inputs propagate; nothing traps. The same result at any thread count.
 * @throws FrugalError E_DTYPE (not Tensors, offsets not Int32Array/number[]), E_SHAPE
 *   (shapes differing, headDim outside [1, 256], offsets not starting at 0, decreasing or
 *   not ending at total), E_RANGE (scale not a finite float32, heads < 1), E_DEVICE, E_CONFIG.
 * @example const { out, lse } = pathAttention.attention({ q, k, v, offsets });
 */
export const attention = attentionOp.sync as {
  (inputs: SeparateQkv): AttentionResult;
  (inputs: FusedQkv): AttentionResult;
};
/** {@link attention} on a worker thread. @throws FrugalError as {@link attention} (the promise rejects). */
export const attentionAsync = attentionOp.async as (inputs: SeparateQkv | FusedQkv, options?: import('../call').AsyncOptions) => Promise<AttentionResult>;

/**
 * The backward of {@link attention} from its saved lse: with p_ij recomputed as
 * exp(q_i·k_j·scale − lse_i) and D_i = dout_i·out_i, ds_ij = p_ij(dout_i·v_j − D_i),
 * dq_i = scale Σ_j ds_ij k_j, dk_j = scale Σ_i ds_ij q_i, dv_j = Σ_i p_ij dout_i.
 * Given separate q, k, v it returns { dq, dk, dv }; given a fused qkv, { dqkv } shaped like it.
 * @throws FrugalError as {@link attention}, and E_SHAPE (out, dout or lse of another shape).
 */
export const attentionBackward = backwardOp.sync as {
  (inputs: AttentionBackwardInputs<SeparateQkv>): SeparateQkvGrads;
  (inputs: AttentionBackwardInputs<FusedQkv>): FusedQkvGrads;
};
/** {@link attentionBackward} on a worker thread. @throws FrugalError as {@link attentionBackward}. */
export const attentionBackwardAsync = backwardOp.async as {
  (inputs: AttentionBackwardInputs<SeparateQkv>, options?: import('../call').AsyncOptions): Promise<SeparateQkvGrads>;
  (inputs: AttentionBackwardInputs<FusedQkv>, options?: import('../call').AsyncOptions): Promise<FusedQkvGrads>;
};
