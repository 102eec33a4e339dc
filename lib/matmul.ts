// Matrix multiplication with fused epilogues (CPU: packed AVX-512/AVX2 kernels;
// CUDA when the tensors live there).
import { native } from './binding';
import { defineOp, type Prepared } from './call';
import { FrugalError } from './errors';
import { Tensor, checkApart, checkTensor, commonDevice, zeros, type Memory } from './tensor';
import { checkBool, checkEnum, checkFloat32, checkOptions, optionKeys, shapeText } from './validate';

// The addon's argument list of gemm (native/addon/gemm.cc reads these keys and
// refuses any other): out = act(alpha·op(a)·op(b) + bias)·colScale + residual + beta·out.
interface GemmArgs {
  a: Memory;
  b: Memory;
  out: Memory;
  bias: Memory | null;
  colScale: Memory | null;
  residual: Memory | null;
  batch: number;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** b is one [K, N] matrix shared by every batch. */
  sharedB: boolean;
  alpha: number;
  beta: number;
  activation: 'none' | 'gelu' | 'relu';
  async: boolean;
}

interface GemmNative {
  gemm(args: GemmArgs): unknown;
}

/** Options of {@link matmul}: `out = act(alpha·op(a)·op(b) + bias)·colScale + residual + beta·out`. */
export interface MatmulOptions {
  /** Use aᵀ: a is [K, M] (or [batch, K, M]). Default false. */
  transA?: boolean;
  /** Use bᵀ: b is [N, K] (or [batch, N, K]). Default false. */
  transB?: boolean;
  /** Scales the product. Default 1. */
  alpha?: number;
  /** Adds beta × the previous contents of `out` (needs `out`). Default 0. */
  beta?: number;
  /** Where to write the result ([M, N] or [batch, M, N]); must not share memory with a, b, bias, colScale or residual. */
  out?: Tensor;
  /** [N], added to every row before the activation. */
  bias?: Tensor;
  /** Shaped like the result, added after the activation and colScale. */
  residual?: Tensor;
  /** [N], multiplies every row after the activation. */
  colScale?: Tensor;
  /** 'none' (default), 'gelu' (exact erf form) or 'relu'. */
  activation?: 'none' | 'gelu' | 'relu';
}

const KEYS = optionKeys<MatmulOptions>({ transA: true, transB: true, alpha: true, beta: true, out: true, bias: true, residual: true, colScale: true, activation: true });

function prepare(a: Tensor, b: Tensor, options?: MatmulOptions): Prepared<Tensor> {
  const A = checkTensor(a, 'a');
  const B = checkTensor(b, 'b');
  const o = checkOptions<MatmulOptions>(options, 'options', KEYS);
  const transA = o.transA === undefined ? false : checkBool(o.transA, 'options.transA');
  const transB = o.transB === undefined ? false : checkBool(o.transB, 'options.transB');
  const alpha = o.alpha === undefined ? 1 : checkFloat32(o.alpha, 'options.alpha');
  const beta = o.beta === undefined ? 0 : checkFloat32(o.beta, 'options.beta');
  const activation = o.activation === undefined ? 'none' : checkEnum(o.activation, 'options.activation', ['none', 'gelu', 'relu'] as const);

  if (A.shape.length !== 2 && A.shape.length !== 3) {
    throw new FrugalError('E_SHAPE', `a: expected shape [M, K] or [batch, M, K], got ${shapeText(A.shape)}`);
  }
  if (B.shape.length !== 2 && B.shape.length !== 3) {
    throw new FrugalError('E_SHAPE', `b: expected shape [K, N] or [batch, K, N], got ${shapeText(B.shape)}`);
  }
  const batched = A.shape.length === 3;
  const batch = batched ? A.shape[0] : 1;
  const ar = A.shape[A.shape.length - 2], ac = A.shape[A.shape.length - 1];
  const br = B.shape[B.shape.length - 2], bc = B.shape[B.shape.length - 1];
  const M = transA ? ac : ar;
  const K = transA ? ar : ac;
  const Kb = transB ? bc : br;
  const N = transB ? br : bc;
  if (B.shape.length === 3 && (!batched || B.shape[0] !== batch)) {
    throw new FrugalError('E_SHAPE', `b: a batched b must match a's batch ${batched ? batch : '(a is not batched)'}, got ${shapeText(B.shape)}`);
  }
  if (Kb !== K) {
    const want = transB ? `[*, ${K}]` : `[${K}, *]`;
    throw new FrugalError('E_SHAPE', `b: inner dimensions differ: op(a) is ${M}x${K}, so b must be ${want}${transB ? ' (transB)' : ''}, got ${shapeText(B.shape)}`);
  }
  const outShape = batched ? [batch, M, N] : [M, N];
  const tensors: Array<[Tensor | undefined, string]> = [[A, 'a'], [B, 'b']];
  const check = (t: unknown, name: string, shape: number[]): Tensor | undefined => {
    if (t === undefined) return undefined;
    const T = checkTensor(t, name);
    if (T.shape.length !== shape.length || T.shape.some((d, i) => d !== shape[i])) {
      throw new FrugalError('E_SHAPE', `${name}: expected shape ${shapeText(shape)}, got ${shapeText(T.shape)}`);
    }
    tensors.push([T, name]);
    return T;
  };
  const bias = check(o.bias, 'options.bias', [N]);
  const colScale = check(o.colScale, 'options.colScale', [N]);
  const residual = check(o.residual, 'options.residual', outShape);
  let out = check(o.out, 'options.out', outShape);
  if (beta !== 0 && !out) throw new FrugalError('E_CONFIG', `options.beta: beta ${beta} needs options.out (the C it scales)`);
  const device = commonDevice(tensors);
  if (out) {
    // The K blocks accumulate in out before the epilogue reads residual: no operand may alias it.
    checkApart(out, 'options.out', [[A, 'a', 'apart'], [B, 'b', 'apart'], [bias, 'options.bias', 'apart'],
      [colScale, 'options.colScale', 'apart'], [residual, 'options.residual', 'apart']]);
  } else {
    out = zeros(outShape, device);
  }
  // Touch .memory now: it checks for detached buffers before any native call.
  const mem = (t: Tensor | undefined) => (t ? t.memory : null);
  const C = out;
  // One literal with every key (async set at run time): a spread copy per call made V8 build new hidden classes.
  const args: GemmArgs = {
    a: A.memory, b: B.memory, out: C.memory, bias: mem(bias), colScale: mem(colScale), residual: mem(residual),
    batch, M, N, K, transA, transB, sharedB: B.shape.length === 2, alpha, beta, activation, async: false,
  };
  return {
    run: (async) => {
      args.async = async;
      return native<GemmNative>().gemm(args);
    },
    result: () => C,
  };
}

const op = defineOp('matmul', prepare);

/**
 * Matrix product with an optional fused epilogue:
 * `out = act(alpha·op(a)·op(b) + bias)·colScale + residual + beta·out`.
 * a is [M, K] or [batch, M, K]; b is [K, N] (shared by every batch) or
 * [batch, K, N]. Returns `out` (a new tensor unless `options.out` is given).
 * @throws FrugalError E_DTYPE (not a Tensor, bad option type), E_SHAPE (ranks, inner
 *   dimensions, bias/colScale/residual/out shapes), E_CONFIG (unknown option, beta
 *   without out), E_RANGE (out sharing memory with a or b), E_DEVICE (tensors on
 *   different devices).
 * @example matmul(x, w, { bias, activation: 'gelu' })
 */
export const matmul = op.sync;

/**
 * {@link matmul} on a worker thread; the inputs stay referenced until it settles.
 * @throws FrugalError as {@link matmul} (the promise rejects).
 */
export const matmulAsync = op.async;
