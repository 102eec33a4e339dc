// GAB (EGE-UNet's group aggregation bridge) forward and backward: one native
// call each (native/src/core/gab.cc).
import { native } from '../binding';
import { defineOp, type AsyncOptions, type Prepared } from '../call';
import { FrugalError } from '../errors';
import { Tensor, checkDims, checkFinite, checkTensor, commonDevice, zeros, type Memory } from '../tensor';
import { checkBool, checkOptions, optionKeys, shapeText } from '../validate';
import { gabLayout, packParams, unpack, type ModuleParams } from './layout';
import { moduleSizes } from './sizes';

interface GabShapeArgs { B: number; Ch: number; Cl: number; h: number; w: number; H: number; W: number }
interface GabNative {
  gab(args: GabShapeArgs & { params: Memory; xh: Memory; xl: Memory; mask: Memory; y: Memory; saved: Memory | null; async: boolean }): unknown;
  gabBackward(args: GabShapeArgs & { params: Memory; xh: Memory; saved: Memory; dy: Memory; dxh: Memory; dxl: Memory;
    dmask: Memory; dparams: Memory; async: boolean }): unknown;
}
const nat = () => native<GabNative>();

/** What a training forward keeps for {@link gabBackward} (opaque). */
export interface GabSaved {
  readonly kind: 'gab';
  readonly shapes: string;  // xh's and xl's, to match the backward's
  readonly buffer: Tensor;
}

/** The inputs of {@link gab}. */
export interface GabInputs {
  /** [B, dimXh, h, w]: the high-level (coarser) feature. */
  xh: Tensor;
  /** [B, dimXl, H, W]: the low-level feature, dimXl a multiple of 4. */
  xl: Tensor;
  /** [B, 1, H, W]: the decoder's mask logit. */
  mask: Tensor;
  /** Keyed by PyTorch's state_dict names (`pre_project.*`, `g.{k}.0.*`, `g.{k}.1.*`, `tail_conv.{0,1}.*`). */
  params: ModuleParams;
  /** Keep what the backward needs (default true). */
  train?: boolean;
  /** A training forward's saved of the same shapes to overwrite instead of allocating (see {@link GhpaInputs.reuse}). */
  reuse?: GabSaved;
}

/** What {@link gab} returns. */
export interface GabResult {
  /** [B, dimXl, H, W]. */
  y: Tensor;
  saved: GabSaved | null;
}

/** The inputs of {@link gabBackward}. */
export type GabBackwardInputs = Omit<GabInputs, 'train' | 'reuse'> & { saved: GabSaved; dy: Tensor };

/** What {@link gabBackward} returns. */
export interface GabGrads {
  dxh: Tensor;
  dxl: Tensor;
  dmask: Tensor;
  dParams: ModuleParams;
}

const INPUT_KEYS = optionKeys<GabInputs>({ xh: true, xl: true, mask: true, params: true, train: true, reuse: true });
const BACKWARD_KEYS = optionKeys<GabBackwardInputs>({ xh: true, xl: true, mask: true, params: true, saved: true, dy: true });

function checkMaps(o: Partial<GabInputs>, scan: boolean) {
  const xh = checkTensor(o.xh, 'inputs.xh');
  const xl = checkTensor(o.xl, 'inputs.xl');
  const mask = checkTensor(o.mask, 'inputs.mask');
  for (const [t, name] of [[xh, 'inputs.xh'], [xl, 'inputs.xl']] as const) {
    if (t.shape.length !== 4 || t.shape.some((d) => d < 1)) throw new FrugalError('E_SHAPE', `${name}: expected [B, C, H, W] with every size >= 1, got ${shapeText(t.shape)}`);
  }
  const [B, Cl, H, W] = xl.shape;
  const [Bh, Ch, h, w] = xh.shape;
  if (Cl % 4 !== 0) throw new FrugalError('E_SHAPE', `inputs.xl: expected channels divisible by 4 (four groups), got ${shapeText(xl.shape)}`);
  if (Bh !== B) throw new FrugalError('E_SHAPE', `inputs.xh: expected batch ${B} like inputs.xl, got ${shapeText(xh.shape)}`);
  checkDims(mask, 'inputs.mask', [B, 1, H, W]);
  if (scan) for (const [t, name] of [[xh, 'inputs.xh'], [xl, 'inputs.xl'], [mask, 'inputs.mask']] as const) checkFinite(t, name);
  const device = commonDevice([[xh, 'inputs.xh'], [xl, 'inputs.xl'], [mask, 'inputs.mask']]);
  return { xh, xl, mask, device, shape: { B, Ch, Cl, h, w, H, W } };
}

function checkParams(params: unknown, Ch: number, Cl: number, device: string, scan: boolean) {
  const layout = gabLayout(Ch, Cl);
  const packed = packParams(layout, params, 'inputs.params', scan);
  if (packed.device !== device) throw new FrugalError('E_DEVICE', `inputs.params: expected tensors on '${device}' like inputs.xl, got '${packed.device}'`);
  return { layout, memory: packed.memory };
}

function checkSaved(value: unknown, shapes: string, name: string): GabSaved {
  const saved = value as GabSaved | undefined;
  if (!saved || saved.kind !== 'gab' || !(saved.buffer instanceof Tensor)) throw new FrugalError('E_DTYPE', `${name}: expected the saved of a training gab forward`);
  if (saved.shapes !== shapes) throw new FrugalError('E_SHAPE', `${name}: saved by a forward of other xh/xl shapes`);
  return saved;
}

// `scan` false: the inputs are a caller's own intermediates (EgeUNet's), not scanned for NaN and Inf.
function prepareGab(inputs: GabInputs, scan: boolean): Prepared<GabResult> {
  const o = checkOptions<GabInputs>(inputs, 'inputs', INPUT_KEYS);
  const m = checkMaps(o, scan);
  const s = m.shape;
  const params = checkParams(o.params, s.Ch, s.Cl, m.device, scan);
  const train = o.train === undefined || checkBool(o.train, 'inputs.train');
  const y = zeros([s.B, s.Cl, s.H, s.W], m.device);
  const shapes = `${m.xh.shape.join()} ${m.xl.shape.join()}`;
  if (o.reuse !== undefined && !train) throw new FrugalError('E_CONFIG', 'inputs.reuse: only a training forward saves anything');
  const saved = !train ? null : o.reuse !== undefined ? checkSaved(o.reuse, shapes, 'inputs.reuse').buffer
    : zeros([moduleSizes(s.B, s.Ch, s.Cl, s.H, s.W, s.h, s.w).gabSaved], m.device);
  return {
    run: (async) => nat().gab({ ...s, params: params.memory, xh: m.xh.memory, xl: m.xl.memory, mask: m.mask.memory, y: y.memory,
      saved: saved?.memory ?? null, async }),
    result: () => ({ y, saved: saved ? Object.freeze({ kind: 'gab' as const, shapes, buffer: saved }) : null }),
  };
}

function prepareBackward(inputs: GabBackwardInputs, scan: boolean): Prepared<GabGrads> {
  const o = checkOptions<GabBackwardInputs>(inputs, 'inputs', BACKWARD_KEYS);
  const m = checkMaps(o, scan);
  const s = m.shape;
  const params = checkParams(o.params, s.Ch, s.Cl, m.device, scan);
  const saved = checkSaved(o.saved, `${m.xh.shape.join()} ${m.xl.shape.join()}`, 'inputs.saved');
  const dy = checkTensor(o.dy, 'inputs.dy');
  checkDims(dy, 'inputs.dy', [s.B, s.Cl, s.H, s.W]);
  if (scan) checkFinite(dy, 'inputs.dy');
  commonDevice([[m.xl, 'inputs.xl'], [dy, 'inputs.dy'], [saved.buffer, 'inputs.saved']]);
  const dxh = zeros([...m.xh.shape], m.device);
  const dxl = zeros([...m.xl.shape], m.device);
  const dmask = zeros([...m.mask.shape], m.device);
  const dparams = zeros([params.layout.floats], m.device);
  return {
    run: (async) => nat().gabBackward({ ...s, params: params.memory, xh: m.xh.memory, saved: saved.buffer.memory, dy: dy.memory,
      dxh: dxh.memory, dxl: dxl.memory, dmask: dmask.memory, dparams: dparams.memory, async }),
    result: () => ({ dxh, dxl, dmask, dParams: unpack(params.layout, dparams) }),
  };
}

const gabOp = defineOp('hadamard.gab', (inputs: GabInputs) => prepareGab(inputs, true));
const backwardOp = defineOp('hadamard.gabBackward', (inputs: GabBackwardInputs) => prepareBackward(inputs, true));

/**
 * GAB(dimXh, dimXl) exactly as EGE-UNet's bridge: xh through a 1×1 conv and a
 * bilinear (align_corners) resize to xl's size; four groups of [xh part, xl part,
 * mask], each with its channel LayerNorm and a depthwise 3×3 of dilation 1, 2, 5, 7;
 * concat, LayerNorm, 1×1 to dimXl. One native call.
 * @throws FrugalError E_SHAPE (dimXl not divisible by 4, batch or mask size not
 *   matching xl, a parameter of another shape), E_CONFIG (a missing or unknown
 *   parameter key), E_RANGE (NaN or Inf), E_DTYPE, E_DEVICE.
 * @example const { y, saved } = hadamard.gab({ xh, xl, mask, params });
 */
export const gab = gabOp.sync;
/** {@link gab} on a worker thread. @throws FrugalError as {@link gab}. */
export const gabAsync = gabOp.async as (inputs: GabInputs, options?: AsyncOptions) => Promise<GabResult>;
/**
 * The backward of a training {@link gab}: ∂xh, ∂xl, ∂mask (summed over the four
 * groups) and every parameter's gradient, keyed as `params`.
 * @throws FrugalError as {@link gab}, and E_SHAPE / E_DTYPE (dy or saved not of this forward).
 */
export const gabBackward = backwardOp.sync;
/** {@link gabBackward} on a worker thread. @throws FrugalError as {@link gabBackward}. */
export const gabBackwardAsync = backwardOp.async as (inputs: GabBackwardInputs, options?: AsyncOptions) => Promise<GabGrads>;

/** @internal {@link gab} and {@link gabBackward} without the NaN/Inf scans, for callers passing their own intermediates. */
export const gabUnscanned = defineOp('hadamard.gab', (inputs: GabInputs) => prepareGab(inputs, false)).sync;
/** @internal */
export const gabBackwardUnscanned = defineOp('hadamard.gabBackward', (inputs: GabBackwardInputs) => prepareBackward(inputs, false)).sync;
