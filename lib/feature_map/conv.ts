// Stride-1 convolutions over NCHW (and NCL) maps, forward and backward: depthwise
// (groups = C, any kh × kw, dilation and padding per axis: EGE-UNet's dilated 3×3
// and its 1-D k = 3) and dense with a square kernel (k = 1 is the pointwise conv),
// each with an optional bias and a fused exact GELU whose pre-activation is kept.
import { native } from '../binding';
import { defineOp, type Prepared } from '../call';
import { FrugalError } from '../errors';
import { Tensor, zeros, type Memory } from '../tensor';
import { optionKeys, shapeText } from '../validate';
import {
  NAME, checkInputs, convOutput, deviceOf, dims, geluOption, intOption, intPair, mapDims, mapShape, memoryOrNull, optional, preInput,
  required, type MapDims,
} from './map';

// The addon's argument lists (native/addon/feature_map.cc reads these keys and refuses any other).
interface DepthwiseGeometry { kh: number; kw: number; dilationH: number; dilationW: number; paddingH: number; paddingW: number }
interface DenseGeometry { outChannels: number; k: number; padding: number }
type Common = MapDims & { gelu: boolean; async: boolean };
interface ConvNative {
  featureMapDepthwiseConv(args: Common & DepthwiseGeometry & { x: Memory; weight: Memory; bias: Memory | null; y: Memory; pre: Memory | null }): unknown;
  featureMapDepthwiseConvBackward(args: Common & DepthwiseGeometry & { dy: Memory; x: Memory; weight: Memory; pre: Memory | null;
    dx: Memory; dweight: Memory; dbias: Memory }): unknown;
  featureMapConv(args: Common & DenseGeometry & { x: Memory; weight: Memory; bias: Memory | null; y: Memory; pre: Memory | null }): unknown;
  featureMapConvBackward(args: Common & DenseGeometry & { dy: Memory; x: Memory; weight: Memory; pre: Memory | null;
    dx: Memory; dweight: Memory; dbias: Memory }): unknown;
}

/** An integer for both axes, or [h, w]. */
export type IntPair = number | [number, number];

/** Inputs of {@link depthwiseConv2d}. */
export interface DepthwiseConv2dInputs {
  /** [B, C, H, W]. */
  x: Tensor;
  /** [C, 1, kh, kw] (PyTorch's Conv2d(C, C, k, groups=C) weight). */
  weight: Tensor;
  /** [C], or omitted (no bias). */
  bias?: Tensor;
  /** An integer ≥ 1, or [dh, dw]. Default 1. */
  dilation?: IntPair;
  /** An integer ≥ 0, or [ph, pw]. Default dilation·(k − 1)/2 per axis ("same"; it must then be an integer). */
  padding?: IntPair;
  /** Apply the exact (erf) GELU to the output, and keep the pre-activation. Default false. */
  gelu?: boolean;
}

/** Inputs of {@link depthwiseConv1d}: x [B, C, L] and weight [C, 1, k]; dilation and padding are numbers. */
export interface DepthwiseConv1dInputs {
  x: Tensor;
  weight: Tensor;
  bias?: Tensor;
  /** Default 1. */
  dilation?: number;
  /** Default dilation·(k − 1)/2. */
  padding?: number;
  gelu?: boolean;
}

/** Inputs of {@link conv2d}. */
export interface Conv2dInputs {
  /** [B, C, H, W]. */
  x: Tensor;
  /** [O, C, k, k], a square kernel (k = 1: the pointwise conv). */
  weight: Tensor;
  /** [O], or omitted. */
  bias?: Tensor;
  /** Zero padding on every side, an integer ≥ 0. Default 0. */
  padding?: number;
  gelu?: boolean;
}

/** Inputs of {@link conv1d}: the pointwise conv of x [B, C, L] with weight [O, C, 1] (PyTorch's Conv1d(C, O, 1)). */
export interface Conv1dInputs {
  x: Tensor;
  weight: Tensor;
  bias?: Tensor;
  gelu?: boolean;
}

/** What the convolutions return. */
export interface ConvResult {
  /** [B, O, Ho, Wo] ([B, O, Lo] for the 1-D forms; O = C for the depthwise conv). */
  y: Tensor;
  /** With gelu: the pre-activation, shaped like y (what the backward needs). Absent otherwise. */
  pre?: Tensor;
}

/** The backward's inputs: the forward's (but bias), its pre when it had gelu, and dy shaped like y. */
export type ConvBackwardInputs<F> = Omit<F, 'bias'> & { dy: Tensor; pre?: Tensor };
export type DepthwiseConv2dBackwardInputs = ConvBackwardInputs<DepthwiseConv2dInputs>;
export type DepthwiseConv1dBackwardInputs = ConvBackwardInputs<DepthwiseConv1dInputs>;
export type Conv2dBackwardInputs = ConvBackwardInputs<Conv2dInputs>;
export type Conv1dBackwardInputs = ConvBackwardInputs<Conv1dInputs>;

/** What the convolution backwards return. */
export interface ConvGrads {
  /** Shaped like x. */
  dx: Tensor;
  /** Shaped like weight: Σ over the batch and pixels, in fixed blocks (the same bits at any thread count). */
  dweight: Tensor;
  /** [O]: Σ of dy (of GELU's input gradient with gelu) over the batch and pixels. */
  dbias: Tensor;
}

const DEPTHWISE_KEYS = { x: true, weight: true, dilation: true, padding: true, gelu: true } as const;
const DEPTHWISE2D_KEYS = optionKeys<DepthwiseConv2dInputs>({ ...DEPTHWISE_KEYS, bias: true });
const DEPTHWISE1D_KEYS = optionKeys<DepthwiseConv1dInputs>({ ...DEPTHWISE_KEYS, bias: true });
const DEPTHWISE2D_BACKWARD_KEYS = optionKeys<DepthwiseConv2dBackwardInputs>({ ...DEPTHWISE_KEYS, dy: true, pre: true });
const DEPTHWISE1D_BACKWARD_KEYS = optionKeys<DepthwiseConv1dBackwardInputs>({ ...DEPTHWISE_KEYS, dy: true, pre: true });
const CONV2D_KEYS = optionKeys<Conv2dInputs>({ x: true, weight: true, bias: true, padding: true, gelu: true });
const CONV1D_KEYS = optionKeys<Conv1dInputs>({ x: true, weight: true, bias: true, gelu: true });
const CONV2D_BACKWARD_KEYS = optionKeys<Conv2dBackwardInputs>({ x: true, weight: true, padding: true, gelu: true, dy: true, pre: true });
const CONV1D_BACKWARD_KEYS = optionKeys<Conv1dBackwardInputs>({ x: true, weight: true, gelu: true, dy: true, pre: true });

const nat = () => native<ConvNative>();

// A checked convolution call: the input's dims, the geometry as the addon takes it,
// the output shape and the tensors read.
interface Geometry<G> {
  x: Tensor;
  weight: Tensor;
  d: MapDims;
  geometry: G;
  gelu: boolean;
  outShape: number[];
  out: number;  // output channels
}

// The "same" padding dilation·(k − 1)/2 of one axis, which must be an integer.
function samePadding(k: number, dilation: number, key: string): number {
  const p = (dilation * (k - 1)) / 2;
  if (!Number.isInteger(p)) {
    throw new FrugalError('E_CONFIG', `${NAME}.${key}: the default dilation·(k − 1)/2 = ${dilation}·(${k} − 1)/2 is not an integer; give it explicitly`);
  }
  return p;
}

function depthwiseGeometry(o: Record<string, unknown>, oneD: boolean): Geometry<DepthwiseGeometry> {
  const x = required(o, 'x');
  const d = mapDims(x, 'x', oneD);
  const weight = required(o, 'weight');
  const w = weight.shape;
  const ok = oneD ? w.length === 3 && w[0] === d.C && w[1] === 1 && w[2] >= 1 : w.length === 4 && w[0] === d.C && w[1] === 1 && w[2] >= 1 && w[3] >= 1;
  if (!ok) {
    throw new FrugalError('E_SHAPE', `${NAME}.weight: expected ${oneD ? `[${d.C}, 1, k]` : `[${d.C}, 1, kh, kw]`} (C = ${d.C} from x, kernel sides ≥ 1), got ${shapeText(w)}`);
  }
  const [kh, kw] = oneD ? [1, w[2]] : [w[2], w[3]];
  let dh: number, dw: number, ph: number, pw: number;
  if (oneD) {
    dh = 1;
    dw = intOption(o.dilation, 'dilation', 1, 1);
    ph = 0;
    pw = o.padding === undefined ? samePadding(kw, dw, 'padding') : intOption(o.padding, 'padding', 0, 0);
  } else {
    [dh, dw] = intPair(o.dilation, 'dilation', 1, () => [1, 1], '[dh, dw]');
    [ph, pw] = intPair(o.padding, 'padding', 0, () => [samePadding(kh, dh, 'padding'), samePadding(kw, dw, 'padding')], '[ph, pw]');
  }
  const Ho = convOutput(d.H, kh, dh, ph, 'H'), Wo = convOutput(d.W, kw, dw, pw, oneD ? 'L' : 'W');
  return {
    x, weight, d, gelu: geluOption(o.gelu), out: d.C, outShape: mapShape(d.B, d.C, Ho, Wo, oneD),
    geometry: { kh, kw, dilationH: dh, dilationW: dw, paddingH: ph, paddingW: pw },
  };
}

function denseGeometry(o: Record<string, unknown>, oneD: boolean): Geometry<DenseGeometry> {
  const x = required(o, 'x');
  const d = mapDims(x, 'x', oneD);
  const weight = required(o, 'weight');
  const w = weight.shape;
  const ok = oneD ? w.length === 3 && w[0] >= 1 && w[1] === d.C && w[2] === 1 : w.length === 4 && w[0] >= 1 && w[1] === d.C && w[2] >= 1 && w[3] === w[2];
  if (!ok) {
    throw new FrugalError('E_SHAPE', `${NAME}.weight: expected ${oneD ? `[O, ${d.C}, 1] (conv1d is pointwise)` : `[O, ${d.C}, k, k] (a square kernel)`} ` +
      `with O ≥ 1 and C = ${d.C} from x, got ${shapeText(w)}`);
  }
  const k = oneD ? 1 : w[2];
  const padding = oneD ? 0 : intOption(o.padding, 'padding', 0, 0);
  const Ho = convOutput(d.H, k, 1, padding, 'H'), Wo = convOutput(d.W, k, 1, padding, oneD ? 'L' : 'W');
  return { x, weight, d, gelu: geluOption(o.gelu), out: w[0], outShape: mapShape(d.B, w[0], Ho, Wo, oneD), geometry: { outChannels: w[0], k, padding } };
}

type Forward<G> = (args: Common & G & { x: Memory; weight: Memory; bias: Memory | null; y: Memory; pre: Memory | null }) => unknown;
type Backward<G> = (args: Common & G & { dy: Memory; x: Memory; weight: Memory; pre: Memory | null; dx: Memory; dweight: Memory; dbias: Memory }) => unknown;

function prepareForward<G>(inputs: unknown, keys: readonly string[], geometry: (o: Record<string, unknown>) => Geometry<G>, fn: () => Forward<G>): Prepared<ConvResult> {
  const o = checkInputs<Record<string, unknown>>(inputs, keys);
  const g = geometry(o);
  const bias = optional(o, 'bias');
  if (bias) dims(bias, 'bias', [g.out]);
  const device = deviceOf({ x: g.x, weight: g.weight, bias });
  const y = zeros(g.outShape, device);
  const pre = g.gelu ? zeros(g.outShape, device) : undefined;
  return {
    run: (async) => fn()({ ...g.d, ...g.geometry, gelu: g.gelu, x: g.x.memory, weight: g.weight.memory, bias: memoryOrNull(bias), y: y.memory,
      pre: memoryOrNull(pre), async }),
    result: () => (pre ? { y, pre } : { y }),
  };
}

function prepareBackward<G>(inputs: unknown, keys: readonly string[], geometry: (o: Record<string, unknown>) => Geometry<G>, fn: () => Backward<G>): Prepared<ConvGrads> {
  const o = checkInputs<Record<string, unknown>>(inputs, keys);
  const g = geometry(o);
  const dy = dims(required(o, 'dy'), 'dy', g.outShape);
  const pre = preInput(o, g.gelu, g.outShape);
  const device = deviceOf({ dy, x: g.x, weight: g.weight, pre });
  const grads: ConvGrads = { dx: zeros([...g.x.shape], device), dweight: zeros([...g.weight.shape], device), dbias: zeros([g.out], device) };
  return {
    run: (async) => fn()({ ...g.d, ...g.geometry, gelu: g.gelu, dy: dy.memory, x: g.x.memory, weight: g.weight.memory, pre: memoryOrNull(pre),
      dx: grads.dx.memory, dweight: grads.dweight.memory, dbias: grads.dbias.memory, async }),
    result: () => grads,
  };
}

const depthwise2d = (o: Record<string, unknown>) => depthwiseGeometry(o, false);
const depthwise1d = (o: Record<string, unknown>) => depthwiseGeometry(o, true);
const dense2d = (o: Record<string, unknown>) => denseGeometry(o, false);
const dense1d = (o: Record<string, unknown>) => denseGeometry(o, true);
const dwForward = () => nat().featureMapDepthwiseConv;
const dwBackward = () => nat().featureMapDepthwiseConvBackward;
const convForward = () => nat().featureMapConv;
const convBackward = () => nat().featureMapConvBackward;

const depthwiseConv2dOp = defineOp('featureMap.depthwiseConv2d', (inputs: DepthwiseConv2dInputs) => prepareForward(inputs, DEPTHWISE2D_KEYS, depthwise2d, dwForward));
const depthwiseConv2dBackwardOp = defineOp('featureMap.depthwiseConv2dBackward',
  (inputs: DepthwiseConv2dBackwardInputs) => prepareBackward(inputs, DEPTHWISE2D_BACKWARD_KEYS, depthwise2d, dwBackward));
const depthwiseConv1dOp = defineOp('featureMap.depthwiseConv1d', (inputs: DepthwiseConv1dInputs) => prepareForward(inputs, DEPTHWISE1D_KEYS, depthwise1d, dwForward));
const depthwiseConv1dBackwardOp = defineOp('featureMap.depthwiseConv1dBackward',
  (inputs: DepthwiseConv1dBackwardInputs) => prepareBackward(inputs, DEPTHWISE1D_BACKWARD_KEYS, depthwise1d, dwBackward));
const conv2dOp = defineOp('featureMap.conv2d', (inputs: Conv2dInputs) => prepareForward(inputs, CONV2D_KEYS, dense2d, convForward));
const conv2dBackwardOp = defineOp('featureMap.conv2dBackward', (inputs: Conv2dBackwardInputs) => prepareBackward(inputs, CONV2D_BACKWARD_KEYS, dense2d, convBackward));
const conv1dOp = defineOp('featureMap.conv1d', (inputs: Conv1dInputs) => prepareForward(inputs, CONV1D_KEYS, dense1d, convForward));
const conv1dBackwardOp = defineOp('featureMap.conv1dBackward', (inputs: Conv1dBackwardInputs) => prepareBackward(inputs, CONV1D_BACKWARD_KEYS, dense1d, convBackward));

/**
 * Depthwise 2-D convolution, stride 1: y[b,c,i,j] = bias_c + Σ_{p,q} weight[c,0,p,q]·
 * x[b,c, i − ph + p·dh, j − pw + q·dw] (zeros outside x), output
 * (H + 2ph − dh(kh − 1)) × (W + 2pw − dw(kw − 1)), which must be at least 1 × 1. The
 * dilation may exceed the image: taps outside it read zeros. With `gelu`, y = GELU(pre)
 * and pre is returned too.
 * @throws FrugalError E_DTYPE (not Tensors, gelu not a boolean, dilation/padding not numbers
 *   or pairs), E_SHAPE (x not 4-D with C, H, W ≥ 1; weight not [C, 1, kh, kw]; bias not [C];
 *   an output side < 1), E_RANGE (dilation < 1, padding < 0, not integers), E_CONFIG (the
 *   default padding not an integer, an unknown key), E_DEVICE.
 * @example const { y } = featureMap.depthwiseConv2d({ x, weight, bias, dilation: 5 }); // padding 5: same size
 */
export const depthwiseConv2d = depthwiseConv2dOp.sync;
/** {@link depthwiseConv2d} on a worker thread. @throws FrugalError as {@link depthwiseConv2d} (the promise rejects). */
export const depthwiseConv2dAsync = depthwiseConv2dOp.async;

/**
 * Backward of {@link depthwiseConv2d}: the forward's x, weight, dilation, padding and
 * gelu (with gelu, its pre), and dy shaped like y → dx, dweight [C, 1, kh, kw], dbias [C].
 * @throws FrugalError as {@link depthwiseConv2d}, and E_SHAPE (dy or pre not shaped like the
 *   output), E_CONFIG (pre missing with gelu, or given without).
 */
export const depthwiseConv2dBackward = depthwiseConv2dBackwardOp.sync;
/** {@link depthwiseConv2dBackward} on a worker thread. @throws FrugalError as {@link depthwiseConv2dBackward}. */
export const depthwiseConv2dBackwardAsync = depthwiseConv2dBackwardOp.async;

/**
 * Depthwise 1-D convolution of x [B, C, L] with weight [C, 1, k] (EGE-UNet's Conv1d(C, C,
 * 3, groups=C) over the channel axis): {@link depthwiseConv2d} at H = 1; dilation and
 * padding are numbers (padding default dilation·(k − 1)/2). y is [B, C, Lo].
 * @throws FrugalError as {@link depthwiseConv2d} (x not [B, C, L], weight not [C, 1, k]).
 */
export const depthwiseConv1d = depthwiseConv1dOp.sync;
/** {@link depthwiseConv1d} on a worker thread. @throws FrugalError as {@link depthwiseConv1d}. */
export const depthwiseConv1dAsync = depthwiseConv1dOp.async;
/** Backward of {@link depthwiseConv1d}. @throws FrugalError as {@link depthwiseConv2dBackward}. */
export const depthwiseConv1dBackward = depthwiseConv1dBackwardOp.sync;
/** {@link depthwiseConv1dBackward} on a worker thread. @throws FrugalError as {@link depthwiseConv1dBackward}. */
export const depthwiseConv1dBackwardAsync = depthwiseConv1dBackwardOp.async;

/**
 * Dense 2-D convolution, stride 1, square kernel: y[b,o] = bias_o + Σ_c weight[o,c] ⋆ x[b,c]
 * with zero padding `padding` on every side, output (H + 2·padding − k + 1) × (W + 2·padding
 * − k + 1). k = 1 is the pointwise (1×1) conv, a GEMM per batch. `gelu` as for
 * {@link depthwiseConv2d}.
 * @throws FrugalError E_DTYPE, E_SHAPE (weight not [O, C, k, k] with O ≥ 1, bias not [O], an
 *   output side < 1), E_RANGE (padding not an integer ≥ 0), E_DEVICE, E_CONFIG.
 * @example const { y } = featureMap.conv2d({ x, weight, bias, padding: 1 }); // a 3×3 "same" conv
 */
export const conv2d = conv2dOp.sync;
/** {@link conv2d} on a worker thread. @throws FrugalError as {@link conv2d}. */
export const conv2dAsync = conv2dOp.async;
/**
 * Backward of {@link conv2d} → dx, dweight [O, C, k, k], dbias [O].
 * @throws FrugalError as {@link conv2d}, and E_SHAPE (dy or pre not shaped like y), E_CONFIG (pre with gelu only).
 */
export const conv2dBackward = conv2dBackwardOp.sync;
/** {@link conv2dBackward} on a worker thread. @throws FrugalError as {@link conv2dBackward}. */
export const conv2dBackwardAsync = conv2dBackwardOp.async;

/**
 * Pointwise 1-D convolution (PyTorch's Conv1d(C, O, 1)): x [B, C, L], weight [O, C, 1],
 * bias [O] → y [B, O, L].
 * @throws FrugalError as {@link conv2d} (x not [B, C, L], weight not [O, C, 1]).
 */
export const conv1d = conv1dOp.sync;
/** {@link conv1d} on a worker thread. @throws FrugalError as {@link conv1d}. */
export const conv1dAsync = conv1dOp.async;
/** Backward of {@link conv1d} → dx, dweight [O, C, 1], dbias [O]. @throws FrugalError as {@link conv2dBackward}. */
export const conv1dBackward = conv1dBackwardOp.sync;
/** {@link conv1dBackward} on a worker thread. @throws FrugalError as {@link conv1dBackward}. */
export const conv1dBackwardAsync = conv1dBackwardOp.async;
