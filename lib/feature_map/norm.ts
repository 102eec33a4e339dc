// Channel LayerNorm (EGE-UNet's channels_first LayerNorm: over C at every pixel)
// and GroupNorm (torch.nn.GroupNorm) over NCHW maps, forward and backward.
import { native } from '../binding';
import { defineOp, type Prepared } from '../call';
import { FrugalError } from '../errors';
import { Tensor, zeros, type Memory } from '../tensor';
import { checkFloat32, checkInt, optionKeys } from '../validate';
import { NAME, checkInputs, deviceOf, dims, mapDims, required, type MapDims } from './map';

// The addon's argument lists (native/addon/feature_map.cc reads these keys and refuses any other).
type Dims = MapDims & { async: boolean };
interface NormNative {
  featureMapChannelNorm(args: Dims & { groups: number; eps: number; x: Memory; weight: Memory; bias: Memory; y: Memory;
    mean: Memory; rstd: Memory }): unknown;
  featureMapChannelNormBackward(args: Dims & { groups: number; dy: Memory; x: Memory; weight: Memory; mean: Memory; rstd: Memory;
    dx: Memory; dweight: Memory; dbias: Memory }): unknown;
  featureMapGroupNorm(args: Dims & { groups: number; eps: number; x: Memory; weight: Memory; bias: Memory; y: Memory;
    mean: Memory; rstd: Memory }): unknown;
  featureMapGroupNormBackward(args: Dims & { groups: number; dy: Memory; x: Memory; weight: Memory; mean: Memory; rstd: Memory;
    dx: Memory; dweight: Memory; dbias: Memory }): unknown;
}

/** Inputs of {@link channelNorm}. */
export interface ChannelNormInputs {
  /** [B, C, H, W]. */
  x: Tensor;
  /** [C]: γ (with groups, the groups' γ one after the other). */
  weight: Tensor;
  /** [C]: β. */
  bias: Tensor;
  /**
   * Split C into this many consecutive blocks of C/groups channels, each normalised on
   * its own at every pixel (several channel LayerNorms over slices in one call): an
   * integer ≥ 1 dividing C. Default 1 (over all C).
   */
  groups?: number;
  /** Added to the variance; finite and > 0 as a float32. Default 1e-6 (EGE-UNet's). */
  eps?: number;
}

/** Inputs of {@link groupNorm}. */
export interface GroupNormInputs {
  /** [B, C, H, W]. */
  x: Tensor;
  /** How many groups C is split in: an integer ≥ 1 dividing C. */
  groups: number;
  /** [C]: the per-channel scale. */
  weight: Tensor;
  /** [C]: the per-channel shift. */
  bias: Tensor;
  /** Default 1e-5 (torch.nn.GroupNorm's). */
  eps?: number;
}

/** What {@link channelNorm} and {@link groupNorm} return. */
export interface MapNormResult {
  /** Shaped like x. */
  y: Tensor;
  /**
   * The mean of each pixel ([B, H, W], channel norm; [B, groups, H, W] with groups > 1) or of
   * each group ([B, groups], GroupNorm): saved for the backward.
   */
  mean: Tensor;
  /** 1/√(var + eps) (biased variance), shaped like mean. */
  rstd: Tensor;
}

/** Inputs of {@link channelNormBackward}: dy, the forward's x and weight, and its saved statistics. */
export interface ChannelNormBackwardInputs {
  /** Shaped like x. */
  dy: Tensor;
  x: Tensor;
  weight: Tensor;
  /** The forward's groups (default 1). */
  groups?: number;
  /** [B, H, W] ([B, groups, H, W] with groups > 1), from the forward. */
  mean: Tensor;
  /** Shaped as mean, from the forward. */
  rstd: Tensor;
}

/** Inputs of {@link groupNormBackward}. */
export interface GroupNormBackwardInputs {
  dy: Tensor;
  x: Tensor;
  /** The forward's groups. */
  groups: number;
  weight: Tensor;
  /** [B, groups], from the forward. */
  mean: Tensor;
  /** [B, groups], from the forward. */
  rstd: Tensor;
}

/** What the norm backwards return. */
export interface MapNormGrads {
  /** Shaped like x. */
  dx: Tensor;
  /** [C]: Σ over batch and pixels of dy ⊙ x̂, in fixed blocks (the same bits at any thread count). */
  dweight: Tensor;
  /** [C]: Σ over batch and pixels of dy. */
  dbias: Tensor;
}

const CHANNEL_KEYS = optionKeys<ChannelNormInputs>({ x: true, weight: true, bias: true, groups: true, eps: true });
const GROUP_KEYS = optionKeys<GroupNormInputs>({ x: true, groups: true, weight: true, bias: true, eps: true });
const CHANNEL_BACKWARD_KEYS = optionKeys<ChannelNormBackwardInputs>({ dy: true, x: true, weight: true, groups: true, mean: true, rstd: true });
const GROUP_BACKWARD_KEYS = optionKeys<GroupNormBackwardInputs>({ dy: true, x: true, groups: true, weight: true, mean: true, rstd: true });

const nat = () => native<NormNative>();

function checkEps(value: unknown, fallback: number): number {
  return value === undefined ? fallback : checkFloat32(value, `${NAME}.eps`, { min: 0, positive: true });
}

// groups: an integer >= 1 dividing C.
function checkGroups(value: unknown, C: number): number {
  const g = checkInt(value, `${NAME}.groups`, 1);
  if (C % g !== 0) throw new FrugalError('E_SHAPE', `${NAME}.groups: expected a divisor of C = ${C} (x's channels), got ${g}`);
  return g;
}

// A channel norm's statistics: [B, H, W], or [B, groups, H, W] with groups > 1.
function channelStats(d: MapDims, groups: number): number[] {
  return groups > 1 ? [d.B, groups, d.H, d.W] : [d.B, d.H, d.W];
}

// x and the affine parameters [C] of a forward.
function forwardInputs(o: Partial<ChannelNormInputs>): { x: Tensor; weight: Tensor; bias: Tensor; d: MapDims } {
  const x = required(o, 'x');
  const d = mapDims(x, 'x');
  const weight = dims(required(o, 'weight'), 'weight', [d.C]);
  const bias = dims(required(o, 'bias'), 'bias', [d.C]);
  return { x, weight, bias, d };
}

// dy, x and weight of a backward, its saved statistics of shape stats(d) and the gradients.
function backwardInputs(o: Partial<Omit<ChannelNormBackwardInputs, 'groups'>>, stats: (d: MapDims) => number[]) {
  const x = required(o, 'x');
  const d = mapDims(x, 'x');
  const s = stats(d);
  const dy = dims(required(o, 'dy'), 'dy', x.shape);
  const weight = dims(required(o, 'weight'), 'weight', [d.C]);
  const mean = dims(required(o, 'mean'), 'mean', s);
  const rstd = dims(required(o, 'rstd'), 'rstd', s);
  const device = deviceOf({ dy, x, weight, mean, rstd });
  const grads: MapNormGrads = { dx: zeros([...x.shape], device), dweight: zeros([d.C], device), dbias: zeros([d.C], device) };
  const memory = { dy: dy.memory, x: x.memory, weight: weight.memory, mean: mean.memory, rstd: rstd.memory,
    dx: grads.dx.memory, dweight: grads.dweight.memory, dbias: grads.dbias.memory };
  return { d, grads, memory };
}

function prepareChannelNorm(inputs: ChannelNormInputs): Prepared<MapNormResult> {
  const o = checkInputs<ChannelNormInputs>(inputs, CHANNEL_KEYS);
  const { x, weight, bias, d } = forwardInputs(o);
  const groups = o.groups === undefined ? 1 : checkGroups(o.groups, d.C);
  const eps = checkEps(o.eps, 1e-6);
  const device = deviceOf({ x, weight, bias });
  const stats = channelStats(d, groups);
  const r: MapNormResult = { y: zeros([...x.shape], device), mean: zeros(stats, device), rstd: zeros(stats, device) };
  return {
    run: (async) => nat().featureMapChannelNorm({ ...d, groups, eps, x: x.memory, weight: weight.memory, bias: bias.memory,
      y: r.y.memory, mean: r.mean.memory, rstd: r.rstd.memory, async }),
    result: () => r,
  };
}

function prepareChannelNormBackward(inputs: ChannelNormBackwardInputs): Prepared<MapNormGrads> {
  const o = checkInputs<ChannelNormBackwardInputs>(inputs, CHANNEL_BACKWARD_KEYS);
  let groups = 1;
  const b = backwardInputs(o, (d) => channelStats(d, (groups = o.groups === undefined ? 1 : checkGroups(o.groups, d.C))));
  return { run: (async) => nat().featureMapChannelNormBackward({ ...b.d, groups, ...b.memory, async }), result: () => b.grads };
}

function prepareGroupNorm(inputs: GroupNormInputs): Prepared<MapNormResult> {
  const o = checkInputs<GroupNormInputs>(inputs, GROUP_KEYS);
  const { x, weight, bias, d } = forwardInputs(o);
  const groups = checkGroups(o.groups, d.C);
  const eps = checkEps(o.eps, 1e-5);
  const device = deviceOf({ x, weight, bias });
  const r: MapNormResult = { y: zeros([...x.shape], device), mean: zeros([d.B, groups], device), rstd: zeros([d.B, groups], device) };
  return {
    run: (async) => nat().featureMapGroupNorm({ ...d, groups, eps, x: x.memory, weight: weight.memory, bias: bias.memory,
      y: r.y.memory, mean: r.mean.memory, rstd: r.rstd.memory, async }),
    result: () => r,
  };
}

function prepareGroupNormBackward(inputs: GroupNormBackwardInputs): Prepared<MapNormGrads> {
  const o = checkInputs<GroupNormBackwardInputs>(inputs, GROUP_BACKWARD_KEYS);
  let groups = 0;
  const b = backwardInputs(o, (d) => [d.B, (groups = checkGroups(o.groups, d.C))]);
  return { run: (async) => nat().featureMapGroupNormBackward({ ...b.d, groups, ...b.memory, async }), result: () => b.grads };
}

const channelNormOp = defineOp('featureMap.channelNorm', prepareChannelNorm);
const channelNormBackwardOp = defineOp('featureMap.channelNormBackward', prepareChannelNormBackward);
const groupNormOp = defineOp('featureMap.groupNorm', prepareGroupNorm);
const groupNormBackwardOp = defineOp('featureMap.groupNormBackward', prepareGroupNormBackward);

/**
 * LayerNorm over the channels of every pixel (EGE-UNet's channels_first LayerNorm):
 * y[b,c,h,w] = weight_c·(x[b,c,h,w] − μ[b,h,w])·rstd[b,h,w] + bias_c, with μ and the
 * biased variance σ² over c and rstd = 1/√(σ² + eps). x [B, C, H, W], weight and bias [C].
 * With `groups` > 1 the C channels are `groups` consecutive blocks, each normalised on its
 * own (μ, σ² over the block's channels at each pixel); mean and rstd are then [B, groups, H, W]
 * and weight and bias stay [C] (the blocks' affines one after the other).
 * @throws FrugalError E_DTYPE (not Tensors; groups not a number), E_SHAPE (x not 4-D with C, H, W ≥ 1;
 *   weight or bias not [C]; groups not dividing C), E_RANGE (eps not finite and > 0 as a float32;
 *   groups not an integer ≥ 1), E_DEVICE, E_CONFIG (unknown key).
 * @example const { y, mean, rstd } = featureMap.channelNorm({ x, weight, bias });
 * @example const { y } = featureMap.channelNorm({ x, weight, bias, groups: 4 }); // four LayerNorms of C/4 channels
 */
export const channelNorm = channelNormOp.sync;
/** {@link channelNorm} on a worker thread. @throws FrugalError as {@link channelNorm} (the promise rejects). */
export const channelNormAsync = channelNormOp.async;

/**
 * Backward of {@link channelNorm}: with x̂ = (x − μ)·rstd and g = weight ⊙ dy at each pixel,
 * dx = rstd·(g − mean_c(g) − x̂·mean_c(g ⊙ x̂)), dweight = Σ dy ⊙ x̂ and dbias = Σ dy over
 * batch and pixels (per block with `groups`, the forward's). Pass the forward's mean and rstd.
 * @throws FrugalError as {@link channelNorm}, and E_SHAPE (dy not shaped like x, mean or rstd not
 *   [B, H, W], or [B, groups, H, W] with groups > 1).
 * @example const { dx, dweight, dbias } = featureMap.channelNormBackward({ dy, x, weight, mean, rstd });
 */
export const channelNormBackward = channelNormBackwardOp.sync;
/** {@link channelNormBackward} on a worker thread. @throws FrugalError as {@link channelNormBackward}. */
export const channelNormBackwardAsync = channelNormBackwardOp.async;

/**
 * torch.nn.GroupNorm: C split into `groups` groups of C/groups channels, μ and the
 * biased variance over each group's channels and pixels, then y = weight_c·x̂ + bias_c.
 * mean and rstd are [B, groups].
 * @throws FrugalError as {@link channelNorm}, and E_DTYPE/E_RANGE (groups not an integer ≥ 1),
 *   E_SHAPE (groups not dividing C).
 * @example const { y } = featureMap.groupNorm({ x, groups: 4, weight, bias });
 */
export const groupNorm = groupNormOp.sync;
/** {@link groupNorm} on a worker thread. @throws FrugalError as {@link groupNorm}. */
export const groupNormAsync = groupNormOp.async;

/**
 * Backward of {@link groupNorm} from its saved mean and rstd ([B, groups]): dx (the
 * group-wise form of {@link channelNormBackward}'s), dweight and dbias [C].
 * @throws FrugalError as {@link groupNorm}, and E_SHAPE (dy not shaped like x, mean or rstd not [B, groups]).
 */
export const groupNormBackward = groupNormBackwardOp.sync;
/** {@link groupNormBackward} on a worker thread. @throws FrugalError as {@link groupNormBackward}. */
export const groupNormBackwardAsync = groupNormBackwardOp.async;

