// Ghpa and Gab: the modules as objects that own their parameters (views of one
// flat buffer, so each call passes them without a copy), accumulate gradients,
// load PyTorch state dicts and cache GHPA's inference maps.
import { FrugalError } from '../errors';
import { random, StreamTags } from '../random';
import { Tensor, checkTensor } from '../tensor';
import { checkBool, checkOptions, checkSeed, optionKeys, shapeText } from '../validate';
import { gab, gabBackward, gabBackwardUnscanned, gabUnscanned, type GabSaved } from './gab';
import { ghpa, ghpaBackward, ghpaBackwardUnscanned, ghpaMaps, ghpaUnscanned, type GhpaMaps, type GhpaSaved } from './ghpa';
import { gabLayout, ghpaLayout, viewsOf, type ModuleLayout, type ModuleParams } from './layout';

/** Options of {@link HadamardModule.loadStateDict}. */
export interface LoadOptions {
  /** Prepended to every key looked up (`'encoder4.0.'` for a block of a whole network). Default ''. */
  prefix?: string;
}

const LOAD_KEYS = optionKeys<LoadOptions>({ prefix: true });

/**
 * PyTorch's default initialisation, drawn from the random streams: parameter maps
 * and LayerNorm weights 1, LayerNorm biases 0, conv weights and biases uniform in
 * ±1/√fan_in. Entry i uses stream (seed, sub = i, tag 6).
 */
function initialise(layout: ModuleLayout, params: ModuleParams, seed: bigint): void {
  const byKey = new Map(layout.entries.map((e) => [e.key, e]));
  layout.entries.forEach((e, i) => {
    const t = params[e.key];
    const weight = e.key.endsWith('.bias') ? byKey.get(`${e.key.slice(0, -5)}.weight`) : e;
    if (e.key.startsWith('params_')) {
      t.data.fill(1);
    } else if (weight && weight.shape.length === 1) {
      t.data.fill(e.key.endsWith('.bias') ? 0 : 1);
    } else {
      const fanIn = weight ? weight.shape.slice(1).reduce((a, b) => a * b, 1) : 1;
      const bound = 1 / Math.sqrt(fanIn);
      random.uniform(t.size, { seed, sub: i, tag: StreamTags.parameterInit, out: t.data });
      for (let j = 0; j < t.size; j++) t.data[j] = (2 * t.data[j] - 1) * bound;
    }
  });
}

/** What the two modules share: parameters, gradients, state dicts. */
export abstract class HadamardModule {
  /** The live parameters by state_dict key (views of one buffer: edit them in place). */
  readonly params: Readonly<ModuleParams>;
  /** Accumulated gradients by the same keys (cleared by {@link zeroGrad}). */
  readonly grads: Readonly<ModuleParams>;
  /** @internal */
  protected readonly layout: ModuleLayout;
  /** @internal Inputs are the owner's own intermediates (a network's): not scanned for NaN and Inf. */
  protected trusted = false;

  protected constructor(layout: ModuleLayout, seed: unknown) {
    this.layout = layout;
    this.params = Object.freeze(viewsOf(layout));
    this.grads = Object.freeze(viewsOf(layout));
    initialise(layout, this.params, checkSeed(seed === undefined ? 0 : seed, 'options.seed'));
  }

  /** The parameters by state_dict key (the live tensors). */
  parameters(): Readonly<ModuleParams> {
    return this.params;
  }

  /** @internal Marks the inputs as its owner's own intermediates (see {@link trusted}). */
  trustInputs(): void {
    this.trusted = true;
  }

  /** Sets every gradient to zero. */
  zeroGrad(): void {
    for (const g of Object.values(this.grads)) g.data.fill(0);
  }

  /**
   * Copies a PyTorch state dict's tensors into the parameters: every key of the
   * module (after `prefix`) must be there with its shape; other keys are ignored
   * (a whole network's dict holds many modules).
   * @throws FrugalError E_CONFIG (a missing key), E_SHAPE (another shape), E_DTYPE (not Tensors).
   */
  loadStateDict(dict: Record<string, Tensor>, options: LoadOptions = {}): void {
    const { prefix = '' } = checkOptions<LoadOptions>(options, 'options', LOAD_KEYS);
    if (typeof prefix !== 'string') throw new FrugalError('E_DTYPE', `options.prefix: expected a string, got ${typeof prefix}`);
    const sources = this.layout.entries.map((e) => {
      const key = prefix + e.key;
      if (!(key in dict)) throw new FrugalError('E_CONFIG', `dict: missing '${key}' (shape ${shapeText(e.shape)})`);
      const t = checkTensor(dict[key], `dict['${key}']`);
      if (t.shape.join() !== e.shape.join()) throw new FrugalError('E_SHAPE', `dict['${key}']: expected shape ${shapeText(e.shape)}, got ${shapeText(t.shape)}`);
      return t;
    });
    this.layout.entries.forEach((e, i) => this.params[e.key].data.set(sources[i].to('cpu').data));
    this.invalidate();
  }

  /** @internal Drops what was computed from the old parameters. */
  protected invalidate(): void {}

  /** @internal grads += d. */
  protected accumulate(d: ModuleParams): void {
    for (const e of this.layout.entries) {
      const g = this.grads[e.key].data, s = d[e.key].data;
      for (let i = 0; i < g.length; i++) g[i] += s[i];
    }
  }
}

/** Options of {@link Ghpa}. */
export interface GhpaOptions {
  /** Input channels, a multiple of 4. */
  dimIn: number;
  /** Output channels. */
  dimOut: number;
  /** Seed of the initialisation streams (tag 6). Default 0. */
  seed?: number | bigint;
}

/** Options of the modules' forward. */
export interface ForwardOptions {
  /** Keep what {@link Ghpa.backward} needs (default true). false: inference, with the maps of {@link Ghpa.precompute} when their size matches. */
  train?: boolean;
}

const GHPA_KEYS = optionKeys<GhpaOptions>({ dimIn: true, dimOut: true, seed: true });
const FORWARD_KEYS = optionKeys<ForwardOptions>({ train: true });

function trainOption(options: ForwardOptions): boolean {
  const { train = true } = checkOptions<ForwardOptions>(options, 'options', FORWARD_KEYS);
  return checkBool(train, 'options.train');
}

/** EGE-UNet's GHPA(dimIn → dimOut) as a module (see {@link ghpa}); CPU tensors. */
export class Ghpa extends HadamardModule {
  readonly dimIn: number;
  readonly dimOut: number;
  private saved: { x: Tensor; saved: GhpaSaved } | null = null;
  private maps: { H: number; W: number; maps: GhpaMaps } | null = null;

  /** @throws FrugalError E_SHAPE / E_RANGE (channel counts), E_CONFIG (unknown option). */
  constructor(options: GhpaOptions) {
    const o = checkOptions<GhpaOptions>(options, 'options', GHPA_KEYS);
    const layout = ghpaLayout(o.dimIn as number, o.dimOut as number);
    super(layout, o.seed);
    this.dimIn = o.dimIn as number;
    this.dimOut = o.dimOut as number;
  }

  /** The attention maps for H × W, computed once and used by inference forwards of that size. */
  precompute(H: number, W: number): GhpaMaps {
    this.maps = { H, W, maps: ghpaMaps({ params: this.params, H, W }) };
    return this.maps.maps;
  }

  /** y [B, dimOut, H, W] of x [B, dimIn, H, W]; a training forward keeps what the backward needs. */
  forward(x: Tensor, options: ForwardOptions = {}): Tensor {
    const train = trainOption(options);
    if (!train) {
      this.saved = null;
      const size = x instanceof Tensor ? x.shape : [];
      const maps = this.maps && this.maps.H === size[2] && this.maps.W === size[3] ? this.maps.maps : undefined;
      return (this.trusted ? ghpaUnscanned : ghpa)({ x, params: this.params, maps, train: false }).y;
    }
    // The last forward's buffer is reused: a training loop allocates it once.
    const reuse = this.saved && this.saved.x.shape.join() === x.shape.join() ? this.saved.saved : undefined;
    const r = (this.trusted ? ghpaUnscanned : ghpa)({ x, params: this.params, reuse });
    this.saved = { x, saved: r.saved! };
    return r.y;
  }

  /** ∂x of the last training forward; adds the parameters' gradients to {@link grads}. @throws FrugalError E_CONFIG (no training forward before). */
  backward(dy: Tensor): Tensor {
    if (!this.saved) throw new FrugalError('E_CONFIG', 'ghpa.backward: no training forward to go back through');
    const g = (this.trusted ? ghpaBackwardUnscanned : ghpaBackward)({ x: this.saved.x, params: this.params, saved: this.saved.saved, dy });
    this.accumulate(g.dParams);
    return g.dx;
  }

  protected invalidate(): void {
    this.maps = null;
  }
}

/** Options of {@link Gab}. */
export interface GabOptions {
  /** Channels of the high-level feature xh. */
  dimXh: number;
  /** Channels of the low-level feature xl and of the output, a multiple of 4. */
  dimXl: number;
  seed?: number | bigint;
}

const GAB_KEYS = optionKeys<GabOptions>({ dimXh: true, dimXl: true, seed: true });

/** EGE-UNet's GAB(dimXh, dimXl) as a module (see {@link gab}); CPU tensors. */
export class Gab extends HadamardModule {
  readonly dimXh: number;
  readonly dimXl: number;
  private saved: { xh: Tensor; xl: Tensor; mask: Tensor; saved: GabSaved } | null = null;

  /** @throws FrugalError E_SHAPE / E_RANGE (channel counts), E_CONFIG (unknown option). */
  constructor(options: GabOptions) {
    const o = checkOptions<GabOptions>(options, 'options', GAB_KEYS);
    const layout = gabLayout(o.dimXh as number, o.dimXl as number);
    super(layout, o.seed);
    this.dimXh = o.dimXh as number;
    this.dimXl = o.dimXl as number;
  }

  /** GAB has no parameter-only maps; kept so both modules answer the same calls. */
  precompute(): void {}

  /** y [B, dimXl, H, W] from xh [B, dimXh, h, w], xl [B, dimXl, H, W] and mask [B, 1, H, W]. */
  forward(xh: Tensor, xl: Tensor, mask: Tensor, options: ForwardOptions = {}): Tensor {
    const train = trainOption(options);
    const last = this.saved;
    const reuse = train && last && last.xh.shape.join() === xh.shape.join() && last.xl.shape.join() === xl.shape.join() ? last.saved : undefined;
    const r = (this.trusted ? gabUnscanned : gab)({ xh, xl, mask, params: this.params, train, reuse });
    this.saved = train ? { xh, xl, mask, saved: r.saved! } : null;
    return r.y;
  }

  /** ∂xh, ∂xl, ∂mask of the last training forward; adds the parameters' gradients to {@link grads}. */
  backward(dy: Tensor): { dxh: Tensor; dxl: Tensor; dmask: Tensor } {
    if (!this.saved) throw new FrugalError('E_CONFIG', 'gab.backward: no training forward to go back through');
    const { xh, xl, mask, saved } = this.saved;
    const g = (this.trusted ? gabBackwardUnscanned : gabBackward)({ xh, xl, mask, params: this.params, saved, dy });
    this.accumulate(g.dParams);
    return { dxh: g.dxh, dxl: g.dxl, dmask: g.dmask };
  }
}
