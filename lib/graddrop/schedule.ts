// GradDrop's per-layer drop rates: constant, linear in the step, by depth, and the
// two unfreezing schedules (ULMFiT's gradual unfreezing and GradDrop's stochastic
// variant). A schedule only computes p; the masks come from the native ops, which
// take the MaskOptions that schedule.options() builds.
import { FrugalError, describe } from '../errors';
import { checkEnum, checkInt, checkNumber, checkOptions, checkSeed, checkU32, optionKeys } from '../validate';

/** How a gradient tensor [rows, cols] is cut into the units that are kept or dropped together. */
export type Granularity = 'element' | 'row' | 'column' | 'block' | 'tensor';

/** Every {@link Granularity}, in the order of DESIGN.md's gradient-mask contract. */
export const GRANULARITIES: readonly Granularity[] = Object.freeze(['element', 'row', 'column', 'block', 'tensor']);

/** The mask options of `graddrop.linearGrad` and `graddrop.apply`. */
export interface MaskOptions {
  /** Drop probability in [0, 1]; 1 drops the whole gradient without running the GEMM. */
  p: number;
  /** The unit kept or dropped as one. */
  granularity: Granularity;
  /** Block size [br, bc] (positive integers); required with granularity 'block', refused with any other. */
  block?: readonly [number, number];
  /** 'inverse' multiplies kept values by 1/(1 − p). Default 'none'. */
  rescale?: 'none' | 'inverse';
  /** Stream seed: a non-negative safe integer or a bigint below 2^64. */
  seed: number | bigint;
  /** 32-bit unsigned training step: each step draws a fresh mask. */
  step: number;
  /** 32-bit unsigned tensor id: each tensor draws its own mask. */
  layer: number;
}

const MASK_KEYS = optionKeys<MaskOptions>({ p: true, granularity: true, block: true, rescale: true, seed: true, step: true, layer: true });
const RESCALES = ['none', 'inverse'] as const;

function checkBlock(value: unknown, name: string): readonly [number, number] {
  if (!Array.isArray(value)) throw new FrugalError('E_DTYPE', `${name}: expected [br, bc] (two positive integers), got ${describe(value)}`);
  if (value.length !== 2) throw new FrugalError('E_SHAPE', `${name}: expected [br, bc] (two positive integers), got ${describe(value)}`);
  return Object.freeze([checkInt(value[0], `${name}[0]`, 1), checkInt(value[1], `${name}[1]`, 1)] as const);
}

/**
 * Checks a {@link MaskOptions} object and returns a checked copy (absent optional keys
 * stay absent; seed keeps the caller's number or bigint). `extraKeys` are an op's own
 * options beside the mask's: allowed here, checked by the op.
 * @throws FrugalError E_DTYPE (not a plain object, a value of the wrong type), E_CONFIG (an
 *   unknown key; block without granularity 'block', or granularity 'block' without block),
 *   E_RANGE (p outside [0, 1] or NaN, an unknown granularity or rescale, seed, step or layer
 *   out of range, a block side < 1), E_SHAPE (block not of length 2).
 * @example const mask = checkMaskOptions({ p: 0.1, granularity: 'row', seed: 7, step: 12, layer: 3 }, 'options');
 */
export function checkMaskOptions(value: unknown, name: string, extraKeys: readonly string[] = []): MaskOptions {
  if (value === undefined) throw new FrugalError('E_DTYPE', `${name}: expected { p, granularity, seed, step, layer, block?, rescale? }, got undefined`);
  const o = checkOptions<MaskOptions>(value, name, extraKeys.length === 0 ? MASK_KEYS : [...MASK_KEYS, ...extraKeys]);
  const p = checkNumber(o.p, `${name}.p`, { min: 0, max: 1 });
  const granularity = checkEnum(o.granularity, `${name}.granularity`, GRANULARITIES);
  if (o.block !== undefined && granularity !== 'block') {
    throw new FrugalError('E_CONFIG', `${name}.block: only with granularity 'block', got granularity '${granularity}'`);
  }
  if (o.block === undefined && granularity === 'block') {
    throw new FrugalError('E_CONFIG', `${name}.block: required with granularity 'block' ([br, bc]), got undefined`);
  }
  checkSeed(o.seed, `${name}.seed`);
  const checked: MaskOptions = {
    p,
    granularity,
    seed: o.seed as number | bigint,
    step: checkU32(o.step, `${name}.step`),
    layer: checkU32(o.layer, `${name}.layer`),
  };
  if (o.block !== undefined) checked.block = checkBlock(o.block, `${name}.block`);
  if (o.rescale !== undefined) checked.rescale = checkEnum(o.rescale, `${name}.rescale`, RESCALES);
  return checked;
}

/** Where training is when a rate is asked for. */
export interface RateContext {
  /** 32-bit unsigned training step (counted from 0 over the whole run). */
  step: number;
  /**
   * Epoch, a finite number ≥ 0. The unfreezing schedules read it as a real number:
   * pass `epoch + batch / batchesPerEpoch` for a rate that moves every step, or the
   * integer epoch for one that moves once per epoch.
   */
  epoch: number;
}

/** A {@link RateContext} plus what a {@link MaskOptions} needs beyond the rate. */
export interface MaskContext extends RateContext {
  /** Stream seed of the masks (as {@link MaskOptions.seed}). */
  seed: number | bigint;
  /** Default: the schedule's {@link GradDropSchedule.granularity}. */
  granularity?: Granularity;
  /** Block size, with granularity 'block' only. */
  block?: readonly [number, number];
  /** Default 'none' (see {@link MaskOptions.rescale}). */
  rescale?: 'none' | 'inverse';
  /** Tensor id of the mask stream (default: the layer index). Give distinct ids to a layer's several tensors. */
  layerId?: number;
}

/** Options of {@link GradDropSchedule.linear}. */
export interface LinearScheduleOptions {
  /** Rate at step 0, in [0, 1]. */
  from: number;
  /** Rate at step `steps` and after, in [0, 1]. */
  to: number;
  /** Steps the ramp lasts, a positive integer. */
  steps: number;
}

/** Options of {@link GradDropSchedule.byDepth}. */
export interface DepthScheduleOptions {
  /** Rate of layer 0 (the lowest), in [0, 1]. */
  bottom: number;
  /** Rate of layer L − 1 (the top), in [0, 1]. */
  top: number;
  /** Layer count L, a positive integer. */
  layers: number;
}

/** Options of {@link GradDropSchedule.gradualUnfreezing} and {@link GradDropSchedule.stochasticUnfreezing}. */
export interface UnfreezingOptions {
  /** Layer count L, a positive integer. */
  layers: number;
  /** Epochs between the unfreezing of one layer and of the next one down, a positive integer. */
  epochsPerLayer: number;
}

const RATE_KEYS = optionKeys<RateContext>({ step: true, epoch: true });
const MASK_CONTEXT_KEYS = optionKeys<MaskContext>({
  step: true, epoch: true, seed: true, granularity: true, block: true, rescale: true, layerId: true,
});
const LINEAR_KEYS = optionKeys<LinearScheduleOptions>({ from: true, to: true, steps: true });
const DEPTH_KEYS = optionKeys<DepthScheduleOptions>({ bottom: true, top: true, layers: true });
const UNFREEZING_KEYS = optionKeys<UnfreezingOptions>({ layers: true, epochsPerLayer: true });

// The rate of a checked layer at a checked step and epoch.
type RateOf = (layer: number, step: number, epoch: number) => number;

// Only the static constructors hold this, so `new GradDropSchedule(...)` from plain JS
// cannot build a schedule around an unchecked rate function.
const BUILD = Symbol('GradDropSchedule.build');

// a·(1 − f) + b·f is exactly a at f = 0 and b at f = 1 (a + (b − a)·f need not be).
function lerp(a: number, b: number, f: number): number {
  return a * (1 - f) + b * f;
}

// Rounding in lerp may step a hair outside [0, 1]; a drop rate must not.
function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

function checkRate(value: unknown, name: string): number {
  return checkNumber(value, name, { min: 0, max: 1 });
}

/**
 * The drop rate p of each layer l (0-based of L; layer 0 the lowest, L − 1 the top)
 * at a step and epoch. Build one with the static constructors.
 * @example
 * const schedule = GradDropSchedule.stochasticUnfreezing({ layers: 12, epochsPerLayer: 1 });
 * for (let l = 0; l < 12; l++) {
 *   const mask = schedule.options(l, { step, epoch: epoch + batch / batchesPerEpoch, seed: 7 });
 *   // graddrop.linearGrad(A, G, mask) — p = 1 skips the GEMM of a frozen layer
 * }
 */
export class GradDropSchedule {
  /** Layer count L where the schedule depends on depth (byDepth, unfreezing), else undefined (any 32-bit layer index). */
  readonly layers: number | undefined;
  /** Granularity {@link options} uses when none is given: 'tensor' for the unfreezing schedules, 'element' for the others. */
  readonly granularity: Granularity;
  readonly #rateOf: RateOf;

  // Private: plain JS calling it directly gets E_CONFIG naming the static constructors.
  private constructor(build: symbol, rateOf: RateOf, layers: number | undefined, granularity: Granularity) {
    if (build !== BUILD) {
      throw new FrugalError('E_CONFIG', 'new GradDropSchedule: build one with GradDropSchedule.constant, .linear, .byDepth, .gradualUnfreezing or .stochasticUnfreezing');
    }
    this.#rateOf = rateOf;
    this.layers = layers;
    this.granularity = granularity;
  }

  /**
   * The same rate p for every layer, step and epoch.
   * @throws FrugalError E_DTYPE (not a number), E_RANGE (outside [0, 1] or NaN).
   * @example const schedule = GradDropSchedule.constant(0.1);
   */
  static constant(p: number): GradDropSchedule {
    const rate = checkRate(p, 'p');
    return new GradDropSchedule(BUILD, () => rate, undefined, 'element');
  }

  /**
   * p goes linearly from `from` at step 0 to `to` at step `steps`, and stays at `to` after.
   * @throws FrugalError E_DTYPE, E_CONFIG (an unknown option), E_RANGE (from or to outside
   *   [0, 1] or NaN, steps not a positive integer).
   * @example const warmup = GradDropSchedule.linear({ from: 0, to: 0.5, steps: 1000 }); // p = 0.25 at step 500
   */
  static linear(options: LinearScheduleOptions): GradDropSchedule {
    const o = checkOptions<LinearScheduleOptions>(options, 'options', LINEAR_KEYS);
    const from = checkRate(o.from, 'options.from');
    const to = checkRate(o.to, 'options.to');
    const steps = checkInt(o.steps, 'options.steps', 1);
    return new GradDropSchedule(BUILD, (_layer, step) => lerp(from, to, Math.min(step, steps) / steps), undefined, 'element');
  }

  /**
   * p interpolated linearly over depth: `bottom` at layer 0, `top` at layer L − 1
   * (L = 1: bottom). Constant in the step and epoch.
   * @throws FrugalError E_DTYPE, E_CONFIG (an unknown option), E_RANGE (bottom or top outside
   *   [0, 1] or NaN, layers not a positive integer).
   * @example const schedule = GradDropSchedule.byDepth({ bottom: 0.9, top: 0.1, layers: 12 }); // drop more of the lower layers
   */
  static byDepth(options: DepthScheduleOptions): GradDropSchedule {
    const o = checkOptions<DepthScheduleOptions>(options, 'options', DEPTH_KEYS);
    const bottom = checkRate(o.bottom, 'options.bottom');
    const top = checkRate(o.top, 'options.top');
    const layers = checkInt(o.layers, 'options.layers', 1);
    const rateOf: RateOf = (layer) => (layers === 1 ? bottom : lerp(bottom, top, layer / (layers - 1)));
    return new GradDropSchedule(BUILD, rateOf, layers, 'element');
  }

  /**
   * ULMFiT's gradual unfreezing: layer l, counted from the top as t = L − 1 − l, is frozen
   * (p = 1) while epoch < t·epochsPerLayer and trains (p = 0) from then on, so the top layer
   * trains from epoch 0 and one more layer joins every epochsPerLayer epochs. Default
   * granularity 'tensor': p = 1 drops the whole gradient.
   * @throws FrugalError E_DTYPE, E_CONFIG (an unknown option), E_RANGE (layers or
   *   epochsPerLayer not a positive integer).
   * @example const schedule = GradDropSchedule.gradualUnfreezing({ layers: 4, epochsPerLayer: 2 }); // layer 0 trains from epoch 6
   */
  static gradualUnfreezing(options: UnfreezingOptions): GradDropSchedule {
    const { layers, epochsPerLayer } = checkUnfreezing(options);
    const rateOf: RateOf = (layer, _step, epoch) => (epoch < (layers - 1 - layer) * epochsPerLayer ? 1 : 0);
    return new GradDropSchedule(BUILD, rateOf, layers, 'tensor');
  }

  /**
   * GradDrop's stochastic unfreezing, the sparse alternative to {@link gradualUnfreezing}:
   * instead of jumping from 1 to 0 at epoch t·epochsPerLayer (t = L − 1 − l), p falls linearly
   * from 1 to 0 over the epochsPerLayer epochs that end there:
   * p = clamp((t·epochsPerLayer − epoch) / epochsPerLayer, 0, 1). The top layer (t = 0) has
   * p = 0 always. The epoch is read as a real number (see {@link RateContext.epoch}). Default
   * granularity 'tensor': a layer's whole gradient is kept or dropped at each step, with
   * probability p of being dropped.
   * @throws FrugalError as {@link gradualUnfreezing}.
   * @example
   * const schedule = GradDropSchedule.stochasticUnfreezing({ layers: 4, epochsPerLayer: 2 });
   * schedule.rate(1, { step: 0, epoch: 3 }); // t = 2: (4 − 3) / 2 = 0.5
   */
  static stochasticUnfreezing(options: UnfreezingOptions): GradDropSchedule {
    const { layers, epochsPerLayer } = checkUnfreezing(options);
    const rateOf: RateOf = (layer, _step, epoch) => ((layers - 1 - layer) * epochsPerLayer - epoch) / epochsPerLayer;
    return new GradDropSchedule(BUILD, rateOf, layers, 'tensor');
  }

  /**
   * The drop rate of `layer` at a step and epoch, in [0, 1].
   * @throws FrugalError E_DTYPE (a value of the wrong type, context not a plain object),
   *   E_CONFIG (an unknown context key), E_RANGE (layer not an integer in [0, layers) — or a
   *   32-bit unsigned one where the schedule has no layer count —, step not a 32-bit unsigned
   *   integer, epoch not a finite number ≥ 0).
   * @example GradDropSchedule.byDepth({ bottom: 0.8, top: 0.2, layers: 4 }).rate(1, { step: 0, epoch: 0 }) // 0.6
   */
  rate(layer: number, context: RateContext): number {
    const c = checkOptions<RateContext>(context, 'context', RATE_KEYS);
    return this.#rate(layer, c);
  }

  /**
   * A {@link MaskOptions} for `layer` at this point of training, ready for
   * `graddrop.linearGrad`: p = {@link rate}, step = context.step, layer = context.layerId ??
   * layer, granularity = context.granularity ?? {@link granularity}, block and rescale as given.
   * @throws FrugalError as {@link rate}, and as {@link checkMaskOptions} for seed, granularity,
   *   block, rescale (named `context.…`); E_RANGE for a layerId that is not 32-bit unsigned.
   * @example
   * const schedule = GradDropSchedule.gradualUnfreezing({ layers: 12, epochsPerLayer: 1 });
   * const mask = schedule.options(3, { step: 120, epoch: 2, seed: 7n }); // { p: 1, granularity: 'tensor', seed: 7n, step: 120, layer: 3 }
   */
  options(layer: number, context: MaskContext): MaskOptions {
    const c = checkOptions<MaskContext>(context, 'context', MASK_CONTEXT_KEYS);
    const p = this.#rate(layer, c);
    const tensorId = c.layerId === undefined ? layer : checkU32(c.layerId, 'context.layerId');
    return checkMaskOptions(
      { p, granularity: c.granularity ?? this.granularity, block: c.block, rescale: c.rescale, seed: c.seed, step: c.step, layer: tensorId },
      'context',
    );
  }

  #rate(layer: number, c: Partial<RateContext>): number {
    const l = this.layers === undefined ? checkU32(layer, 'layer') : checkInt(layer, 'layer', 0, this.layers - 1);
    const step = checkU32(c.step, 'context.step');
    const epoch = checkNumber(c.epoch, 'context.epoch', { min: 0 });
    return clamp01(this.#rateOf(l, step, epoch));
  }
}

function checkUnfreezing(options: unknown): UnfreezingOptions {
  const o = checkOptions<UnfreezingOptions>(options, 'options', UNFREEZING_KEYS);
  return { layers: checkInt(o.layers, 'options.layers', 1), epochsPerLayer: checkInt(o.epochsPerLayer, 'options.epochsPerLayer', 1) };
}
