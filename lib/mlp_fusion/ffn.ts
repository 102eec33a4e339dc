// The fused FFN of MLP Fusion, forward and backward (native/src/core/mlp_fusion.cc):
// y = W2f·diag(n)·σ(W1f·x + b1f) + b2, two GEMMs with the bias, activation and
// column scale n in the first one's epilogue; the backward recomputes σ from pre.
import { native } from '../binding';
import { defineOp, type Prepared } from '../call';
import { FrugalError } from '../errors';
import { Tensor, checkDims, checkTensor, commonDevice, zeros, type Memory } from '../tensor';
import { checkEnum, checkOptions, optionKeys, shapeText } from '../validate';

/** The hidden activation: the exact (erf) GELU or ReLU. */
export type FfnActivation = 'gelu' | 'relu';

// The addon's argument lists (native/addon/mlp_fusion.cc reads these keys and refuses any other).
interface FfnArgs {
  tokens: number;
  d: number;
  K: number;
  x: Memory;
  W1: Memory;
  b1: Memory | null;
  W2: Memory;
  b2: Memory | null;
  counts: Memory | null;
  activation: FfnActivation;
  pre: Memory;
  y: Memory;
  async: boolean;
}
interface FfnBackwardArgs {
  tokens: number;
  d: number;
  K: number;
  x: Memory;
  W1: Memory;
  W2: Memory;
  counts: Memory | null;
  pre: Memory;
  dy: Memory;
  activation: FfnActivation;
  dx: Memory;
  dW1: Memory;
  db1: Memory;
  dW2: Memory;
  db2: Memory;
  async: boolean;
}
interface FfnNative {
  mlpFusionFfn(args: FfnArgs): unknown;
  mlpFusionFfnBackward(args: FfnBackwardArgs): unknown;
}

/** Inputs of {@link ffn}. */
export interface FfnInputs {
  /** [N, d] or [B, T, d]. */
  x: Tensor;
  /** [K, d]: the fused first layer (PyTorch Linear layout). */
  W1f: Tensor;
  /** [K]. */
  b1f: Tensor;
  /** [d, K]: the fused second layer. */
  W2f: Tensor;
  /** [d]. */
  b2: Tensor;
  /** [K]: the cluster sizes n (the diag(n)); omitted, the plain FFN (n = 1). */
  counts?: Tensor;
  /** Default 'gelu'. */
  activation?: FfnActivation;
}

/** What {@link ffn} returns. */
export interface FfnResult {
  /** Shaped like x. */
  y: Tensor;
  /** x·W1fᵀ + b1f, [..., K]: what {@link ffnBackward} needs. */
  pre: Tensor;
}

/** Inputs of {@link ffnBackward}: the forward's inputs and pre, and dy. */
export interface FfnBackwardInputs {
  x: Tensor;
  W1f: Tensor;
  /** [K]: checked, not used (pre holds it). */
  b1f: Tensor;
  W2f: Tensor;
  counts?: Tensor;
  /** From {@link ffn}. */
  pre: Tensor;
  /** Shaped like x. */
  dy: Tensor;
  activation?: FfnActivation;
}

/** What {@link ffnBackward} returns (counts get no gradient: they are fixed). */
export interface FfnGrads {
  dx: Tensor;
  dW1f: Tensor;
  db1f: Tensor;
  dW2f: Tensor;
  db2: Tensor;
}

const FFN_KEYS = optionKeys<FfnInputs>({ x: true, W1f: true, b1f: true, W2f: true, b2: true, counts: true, activation: true });
const BACKWARD_KEYS = optionKeys<FfnBackwardInputs>({
  x: true, W1f: true, b1f: true, W2f: true, counts: true, pre: true, dy: true, activation: true,
});

interface Layout {
  lead: number[];
  tokens: number;
  d: number;
  K: number;
  activation: FfnActivation;
}

// The shapes every FFN op shares: x [..., d], W1f [K, d], b1f [K], W2f [d, K], counts [K].
function layout(o: Partial<FfnInputs & FfnBackwardInputs>, name: string): Layout {
  const x = checkTensor(o.x, `${name}.x`);
  if (x.shape.length !== 2 && x.shape.length !== 3) {
    throw new FrugalError('E_SHAPE', `${name}.x: expected shape [N, d] or [B, T, d], got ${shapeText(x.shape)}`);
  }
  const d = x.shape[x.shape.length - 1];
  const W1f = checkTensor(o.W1f, `${name}.W1f`);
  if (W1f.shape.length !== 2 || W1f.shape[1] !== d || W1f.shape[0] < 1) {
    throw new FrugalError('E_SHAPE', `${name}.W1f: expected shape [K, ${d}] with K >= 1 (d from x), got ${shapeText(W1f.shape)}`);
  }
  if (d < 1) throw new FrugalError('E_SHAPE', `${name}.x: expected d >= 1, got shape ${shapeText(x.shape)}`);
  const K = W1f.shape[0];
  checkDims(checkTensor(o.b1f, `${name}.b1f`), `${name}.b1f`, [K]);
  checkDims(checkTensor(o.W2f, `${name}.W2f`), `${name}.W2f`, [d, K]);
  if (o.counts !== undefined) checkDims(checkTensor(o.counts, `${name}.counts`), `${name}.counts`, [K]);
  const activation = o.activation === undefined ? 'gelu' : checkEnum(o.activation, `${name}.activation`, ['gelu', 'relu'] as const);
  const lead = x.shape.slice(0, -1);
  return { lead, tokens: lead.reduce((a, b) => a * b, 1), d, K, activation };
}

function prepareFfn(inputs: FfnInputs): Prepared<FfnResult> {
  const o = checkOptions<FfnInputs>(inputs, 'inputs', FFN_KEYS);
  const L = layout(o, 'inputs');
  const b2 = checkTensor(o.b2, 'inputs.b2');
  checkDims(b2, 'inputs.b2', [L.d]);
  const x = o.x!, W1f = o.W1f!, b1f = o.b1f!, W2f = o.W2f!, counts = o.counts;
  const device = commonDevice([[x, 'inputs.x'], [W1f, 'inputs.W1f'], [b1f, 'inputs.b1f'], [W2f, 'inputs.W2f'], [b2, 'inputs.b2'], [counts, 'inputs.counts']]);
  const y = zeros([...L.lead, L.d], device), pre = zeros([...L.lead, L.K], device);
  const args: FfnArgs = {
    tokens: L.tokens, d: L.d, K: L.K, x: x.memory, W1: W1f.memory, b1: b1f.memory, W2: W2f.memory, b2: b2.memory,
    counts: counts ? counts.memory : null, activation: L.activation, pre: pre.memory, y: y.memory, async: false,
  };
  return {
    run: (async) => {
      args.async = async;
      return native<FfnNative>().mlpFusionFfn(args);
    },
    result: () => ({ y, pre }),
  };
}

function prepareFfnBackward(inputs: FfnBackwardInputs): Prepared<FfnGrads> {
  const o = checkOptions<FfnBackwardInputs>(inputs, 'inputs', BACKWARD_KEYS);
  const L = layout(o, 'inputs');
  const x = o.x!, W1f = o.W1f!, W2f = o.W2f!, counts = o.counts;
  const pre = checkTensor(o.pre, 'inputs.pre');
  checkDims(pre, 'inputs.pre', [...L.lead, L.K]);
  const dy = checkTensor(o.dy, 'inputs.dy');
  checkDims(dy, 'inputs.dy', x.shape);
  const device = commonDevice([[x, 'inputs.x'], [W1f, 'inputs.W1f'], [o.b1f, 'inputs.b1f'], [W2f, 'inputs.W2f'], [counts, 'inputs.counts'],
    [pre, 'inputs.pre'], [dy, 'inputs.dy']]);
  const g: FfnGrads = {
    dx: zeros([...x.shape], device), dW1f: zeros([L.K, L.d], device), db1f: zeros([L.K], device),
    dW2f: zeros([L.d, L.K], device), db2: zeros([L.d], device),
  };
  const args: FfnBackwardArgs = {
    tokens: L.tokens, d: L.d, K: L.K, x: x.memory, W1: W1f.memory, W2: W2f.memory, counts: counts ? counts.memory : null,
    pre: pre.memory, dy: dy.memory, activation: L.activation, dx: g.dx.memory, dW1: g.dW1f.memory, db1: g.db1f.memory,
    dW2: g.dW2f.memory, db2: g.db2.memory, async: false,
  };
  return {
    run: (async) => {
      args.async = async;
      return native<FfnNative>().mlpFusionFfnBackward(args);
    },
    result: () => g,
  };
}

const ffnOp = defineOp('mlpFusion.ffn', prepareFfn);
const ffnBackwardOp = defineOp('mlpFusion.ffnBackward', prepareFfnBackward);

/**
 * The fused FFN: `y = W2f·diag(counts)·σ(W1f·x + b1f) + b2` over the last axis of x,
 * two GEMMs (bias, activation and the counts column scale fused into the first's
 * epilogue, which also stores `pre`). Without counts it is the plain FFN.
 * @throws FrugalError E_DTYPE (not a Tensor), E_SHAPE (x not [N, d] or [B, T, d],
 *   weights not [K, d] / [K] / [d, K] / [d]), E_RANGE (unknown activation),
 *   E_CONFIG (unknown key), E_DEVICE (tensors on different devices).
 * @example const { y, pre } = mlpFusion.ffn({ x, ...fused });
 */
export const ffn = ffnOp.sync;
/** {@link ffn} on a worker thread. @throws FrugalError as {@link ffn} (the promise rejects). */
export const ffnAsync = ffnOp.async;

/**
 * Gradients of {@link ffn}: dh = dy·W2f, dpre = dh·n·σ'(pre), h = σ(pre)·n;
 * dW2f = dyᵀh, db2 = Σ dy, dW1f = dpreᵀx, db1f = Σ dpre, dx = dpre·W1f. The counts
 * get none, so a compressed model fine-tunes with its cluster sizes fixed.
 * @throws FrugalError as {@link ffn}; E_SHAPE for pre not [..., K] or dy not shaped like x.
 * @example const g = mlpFusion.ffnBackward({ x, W1f, b1f, W2f, counts, pre, dy });
 */
export const ffnBackward = ffnBackwardOp.sync;
/** {@link ffnBackward} on a worker thread. @throws FrugalError as {@link ffnBackward} (the promise rejects). */
export const ffnBackwardAsync = ffnBackwardOp.async;
