// GHPA (EGE-UNet's grouped multi-axis Hadamard-product attention) forward,
// backward and inference maps: one native call each (native/src/core/ghpa.cc).
import { native } from '../binding';
import { defineOp, type AsyncOptions, type Prepared } from '../call';
import { FrugalError } from '../errors';
import { Tensor, checkDims, checkFinite, checkTensor, commonDevice, zeros, type Memory } from '../tensor';
import { checkBool, checkInt, checkOptions, optionKeys, shapeText } from '../validate';
import { ghpaLayout, packParams, unpack, type ModuleLayout, type ModuleParams } from './layout';
import { moduleSizes } from './sizes';

interface GhpaShapeArgs { B: number; C: number; O: number; H: number; W: number }
interface GhpaNative {
  ghpaMaps(args: GhpaShapeArgs & { params: Memory; maps: Memory; async: boolean }): unknown;
  ghpa(args: GhpaShapeArgs & { params: Memory; x: Memory; maps: Memory | null; y: Memory; saved: Memory | null; async: boolean }): unknown;
  ghpaBackward(args: GhpaShapeArgs & { params: Memory; x: Memory; saved: Memory; dy: Memory; dx: Memory; dparams: Memory; async: boolean }): unknown;
}
const nat = () => native<GhpaNative>();

/** GHPA's three attention maps: they depend on the parameters and (H, W) only. */
export interface GhpaMaps {
  /** [C/4, H, W]: multiplies the first channel group. */
  xy: Tensor;
  /** [C/4, H]: the second group, broadcast over W. */
  zx: Tensor;
  /** [C/4, W]: the third group, broadcast over H. */
  zy: Tensor;
}

/** What a training forward keeps for {@link ghpaBackward} (opaque). */
export interface GhpaSaved {
  readonly kind: 'ghpa';
  readonly shape: readonly number[];  // x's
  readonly dimOut: number;
  readonly buffer: Tensor;
}

/** The inputs of {@link ghpa}. */
export interface GhpaInputs {
  /** [B, dimIn, H, W], dimIn a multiple of 4. */
  x: Tensor;
  /** The module's tensors keyed by PyTorch's state_dict names (`params_xy`, `conv_xy.0.weight`, …, `ldw.2.bias`). */
  params: ModuleParams;
  /** Precomputed {@link ghpaMaps} for this (H, W): an inference forward that skips them and saves nothing. */
  maps?: GhpaMaps;
  /** Keep what the backward needs (default true, false with maps). */
  train?: boolean;
  /**
   * A training forward's saved of the same shapes whose memory this training forward
   * overwrites instead of allocating (a training loop's steady state; that saved is
   * then this forward's).
   */
  reuse?: GhpaSaved;
}

/** What {@link ghpa} returns. */
export interface GhpaResult {
  /** [B, dimOut, H, W]. */
  y: Tensor;
  /** For {@link ghpaBackward}; null for an inference forward. */
  saved: GhpaSaved | null;
}

/** The inputs of {@link ghpaBackward}: the forward's x, params and saved, and ∂y. */
export interface GhpaBackwardInputs {
  x: Tensor;
  params: ModuleParams;
  saved: GhpaSaved;
  dy: Tensor;
}

/** What {@link ghpaBackward} returns. */
export interface GhpaGrads {
  dx: Tensor;
  /** ∂loss/∂ each parameter, by the same keys. */
  dParams: ModuleParams;
}

const INPUT_KEYS = optionKeys<GhpaInputs>({ x: true, params: true, maps: true, train: true, reuse: true });
const BACKWARD_KEYS = optionKeys<GhpaBackwardInputs>({ x: true, params: true, saved: true, dy: true });
const MAPS_KEYS = optionKeys<GhpaMapsInputs>({ params: true, H: true, W: true });

/** dimOut from the last conv's weight, read before the layout can check the rest. */
function dimOutOf(params: unknown, name: string): number {
  const w = (params as ModuleParams | undefined)?.['ldw.2.weight'];
  if (!(w instanceof Tensor) || w.shape.length !== 4) {
    throw new FrugalError('E_CONFIG', `${name}['ldw.2.weight']: expected the output conv's weight [dimOut, dimIn, 1, 1], got ${w instanceof Tensor ? shapeText(w.shape) : 'none'}`);
  }
  return w.shape[0];
}

function checkX(value: unknown, name: string, scan: boolean): { x: Tensor; B: number; C: number; H: number; W: number } {
  const x = checkTensor(value, name);
  if (x.shape.length !== 4) throw new FrugalError('E_SHAPE', `${name}: expected [B, C, H, W], got ${shapeText(x.shape)}`);
  const [B, C, H, W] = x.shape;
  if (C % 4 !== 0 || C < 4) throw new FrugalError('E_SHAPE', `${name}: expected channels divisible by 4 (four groups), got ${shapeText(x.shape)}`);
  if (B < 1 || H < 1 || W < 1) throw new FrugalError('E_SHAPE', `${name}: expected B, H, W >= 1, got ${shapeText(x.shape)}`);
  if (scan) checkFinite(x, name);
  return { x, B, C, H, W };
}

// Maps records made here, with the flat buffer the addon takes.
const mapsFlat = new WeakMap<GhpaMaps, Tensor>();

function packMaps(value: unknown, C: number, H: number, W: number, name: string): Tensor {
  const o = checkOptions<GhpaMaps>(value, name, ['xy', 'zx', 'zy']);
  const c = C / 4;
  const parts: Array<[unknown, string, number[]]> = [[o.xy, 'xy', [c, H, W]], [o.zx, 'zx', [c, H]], [o.zy, 'zy', [c, W]]];
  const tensors = parts.map(([t, key, shape]) => {
    const checked = checkTensor(t, `${name}.${key}`);
    checkDims(checked, `${name}.${key}`, shape);
    return checked;
  });
  const flat = mapsFlat.get(value as GhpaMaps);
  if (flat && tensors.every((t, i) => t === (value as GhpaMaps)[(['xy', 'zx', 'zy'] as const)[i]])) return flat;
  const host = zeros([c * (H * W + H + W)]);
  let at = 0;
  for (const t of tensors) {
    checkFinite(t, name);
    host.data.set(t.device === 'cpu' ? t.data : t.to('cpu').data, at);
    at += t.size;
  }
  return tensors[0].device === 'cpu' ? host : host.to(tensors[0].device);
}

/** Views of one flat maps buffer as {@link GhpaMaps} (host) or copies on the device. */
function mapsOf(flat: Tensor, c: number, H: number, W: number): GhpaMaps {
  const host = flat.device === 'cpu' ? flat : flat.to('cpu');
  const view = (from: number, shape: number[]) => Tensor.from(host.data.subarray(from, from + shape.reduce((a, b) => a * b)), shape);
  let maps: GhpaMaps = { xy: view(0, [c, H, W]), zx: view(c * H * W, [c, H]), zy: view(c * H * W + c * H, [c, W]) };
  if (flat.device !== 'cpu') maps = { xy: maps.xy.to(flat.device), zx: maps.zx.to(flat.device), zy: maps.zy.to(flat.device) };
  mapsFlat.set(maps, flat);
  return maps;
}

// `scan` false: the inputs are a caller's own intermediates (EgeUNet's), not scanned for NaN and Inf.
function prepareGhpa(inputs: GhpaInputs, scan: boolean): Prepared<GhpaResult> {
  const o = checkOptions<GhpaInputs>(inputs, 'inputs', INPUT_KEYS);
  const { x, B, C, H, W } = checkX(o.x, 'inputs.x', scan);
  const O = dimOutOf(o.params, 'inputs.params');
  const layout = ghpaLayout(C, O);
  const params = packParams(layout, o.params, 'inputs.params', scan);
  const device = commonDevice([[x, 'inputs.x']]);
  if (params.device !== device) throw new FrugalError('E_DEVICE', `inputs.params: expected tensors on '${device}' like inputs.x, got '${params.device}'`);
  const maps = o.maps === undefined ? null : packMaps(o.maps, C, H, W, 'inputs.maps');
  if (maps && maps.device !== device) throw new FrugalError('E_DEVICE', `inputs.maps: expected tensors on '${device}' like inputs.x, got '${maps.device}'`);
  const train = o.train === undefined ? maps === null : checkBool(o.train, 'inputs.train');
  if (train && maps) throw new FrugalError('E_CONFIG', 'inputs.train: a training forward computes its own maps; give maps only for inference (train false)');
  const y = zeros([B, O, H, W], device);
  if (o.reuse !== undefined && !train) throw new FrugalError('E_CONFIG', 'inputs.reuse: only a training forward saves anything');
  const saved = !train ? null : o.reuse !== undefined ? checkSaved(o.reuse, x, O, 'inputs.reuse').buffer : zeros([moduleSizes(B, C, O, H, W).ghpaSaved], device);
  return {
    run: (async) => nat().ghpa({ B, C, O, H, W, params: params.memory, x: x.memory, maps: maps?.memory ?? null, y: y.memory,
      saved: saved?.memory ?? null, async }),
    result: () => ({ y, saved: saved ? Object.freeze({ kind: 'ghpa' as const, shape: x.shape, dimOut: O, buffer: saved }) : null }),
  };
}

function checkSaved(value: unknown, x: Tensor, O: number, name: string): GhpaSaved {
  const s = value as GhpaSaved | undefined;
  if (!s || s.kind !== 'ghpa' || !(s.buffer instanceof Tensor)) throw new FrugalError('E_DTYPE', `${name}: expected the saved of a training ghpa forward`);
  if (s.shape.join() !== x.shape.join() || s.dimOut !== O) {
    throw new FrugalError('E_SHAPE', `${name}: saved by a forward of x ${shapeText(s.shape)} → ${s.dimOut} channels, not x ${shapeText(x.shape)} → ${O}`);
  }
  return s;
}

function prepareBackward(inputs: GhpaBackwardInputs, scan: boolean): Prepared<GhpaGrads> {
  const o = checkOptions<GhpaBackwardInputs>(inputs, 'inputs', BACKWARD_KEYS);
  const { x, B, C, H, W } = checkX(o.x, 'inputs.x', scan);
  const O = dimOutOf(o.params, 'inputs.params');
  const layout: ModuleLayout = ghpaLayout(C, O);
  const params = packParams(layout, o.params, 'inputs.params', scan);
  const saved = checkSaved(o.saved, x, O, 'inputs.saved');
  const dy = checkTensor(o.dy, 'inputs.dy');
  checkDims(dy, 'inputs.dy', [B, O, H, W]);
  if (scan) checkFinite(dy, 'inputs.dy');
  const device = commonDevice([[x, 'inputs.x'], [dy, 'inputs.dy'], [saved.buffer, 'inputs.saved']]);
  if (params.device !== device) throw new FrugalError('E_DEVICE', `inputs.params: expected tensors on '${device}' like inputs.x, got '${params.device}'`);
  const dx = zeros([B, C, H, W], device);
  const dparams = zeros([layout.floats], device);
  return {
    run: (async) => nat().ghpaBackward({ B, C, O, H, W, params: params.memory, x: x.memory, saved: saved.buffer.memory,
      dy: dy.memory, dx: dx.memory, dparams: dparams.memory, async }),
    result: () => ({ dx, dParams: unpack(layout, dparams) }),
  };
}

/** The inputs of {@link ghpaMaps}. */
export interface GhpaMapsInputs {
  params: ModuleParams;
  /** The feature map's height and width the maps are resized to. */
  H: number;
  W: number;
}

function prepareMaps(inputs: GhpaMapsInputs): Prepared<GhpaMaps> {
  const o = checkOptions<GhpaMapsInputs>(inputs, 'inputs', MAPS_KEYS);
  const H = checkInt(o.H, 'inputs.H', 1);
  const W = checkInt(o.W, 'inputs.W', 1);
  const O = dimOutOf(o.params, 'inputs.params');
  const norm = (o.params as ModuleParams)['norm1.weight'];
  if (!(norm instanceof Tensor) || norm.shape.length !== 1) throw new FrugalError('E_CONFIG', "inputs.params['norm1.weight']: expected [dimIn]");
  const C = norm.shape[0];
  const layout = ghpaLayout(C, O);
  const params = packParams(layout, o.params, 'inputs.params');
  const flat = zeros([moduleSizes(1, C, O, H, W).ghpaMaps], params.device);
  return {
    run: (async) => nat().ghpaMaps({ B: 1, C, O, H, W, params: params.memory, maps: flat.memory, async }),
    result: () => mapsOf(flat, C / 4, H, W),
  };
}

const ghpaOp = defineOp('hadamard.ghpa', (inputs: GhpaInputs) => prepareGhpa(inputs, true));
const backwardOp = defineOp('hadamard.ghpaBackward', (inputs: GhpaBackwardInputs) => prepareBackward(inputs, true));
const mapsOp = defineOp('hadamard.ghpaMaps', prepareMaps);

/**
 * GHPA(dimIn → dimOut) exactly as EGE-UNet's module: LN₁ → four channel groups
 * multiplied by learnt maps over (H, W), (C, H), (C, W) and a depthwise branch →
 * concat → LN₂ → dw3×3 → GELU → 1×1. One native call; with `maps` (from
 * {@link ghpaMaps}) an inference forward that skips the maps and saves nothing.
 * @throws FrugalError E_SHAPE (x not [B, C, H, W] with C % 4 = 0, a parameter of
 *   another shape, maps of another size), E_CONFIG (a missing or unknown parameter
 *   key, maps with train), E_RANGE (NaN or Inf in x or a parameter), E_DTYPE, E_DEVICE.
 * @example const { y, saved } = hadamard.ghpa({ x, params });
 */
export const ghpa = ghpaOp.sync;
/** {@link ghpa} on a worker thread. @throws FrugalError as {@link ghpa}. */
export const ghpaAsync = ghpaOp.async as (inputs: GhpaInputs, options?: AsyncOptions) => Promise<GhpaResult>;
/**
 * The backward of a training {@link ghpa}: ∂x and every parameter's gradient
 * (overwritten, keyed as `params`). The same bits at any thread count.
 * @throws FrugalError as {@link ghpa}, and E_SHAPE / E_DTYPE (dy or saved not of this forward).
 */
export const ghpaBackward = backwardOp.sync;
/** {@link ghpaBackward} on a worker thread. @throws FrugalError as {@link ghpaBackward}. */
export const ghpaBackwardAsync = backwardOp.async as (inputs: GhpaBackwardInputs, options?: AsyncOptions) => Promise<GhpaGrads>;
/**
 * GHPA's three attention maps for a feature map of H × W (they depend on the
 * parameters only): compute once, then pass to {@link ghpa} for inference.
 * @throws FrugalError as {@link ghpa}; E_RANGE (H or W not an integer >= 1).
 */
export const ghpaMaps = mapsOp.sync;
/** {@link ghpaMaps} on a worker thread. @throws FrugalError as {@link ghpaMaps}. */
export const ghpaMapsAsync = mapsOp.async as (inputs: GhpaMapsInputs, options?: AsyncOptions) => Promise<GhpaMaps>;

/** @internal {@link ghpa} and {@link ghpaBackward} without the NaN/Inf scans, for callers passing their own intermediates. */
export const ghpaUnscanned = defineOp('hadamard.ghpa', (inputs: GhpaInputs) => prepareGhpa(inputs, false)).sync;
/** @internal */
export const ghpaBackwardUnscanned = defineOp('hadamard.ghpaBackward', (inputs: GhpaBackwardInputs) => prepareBackward(inputs, false)).sync;
