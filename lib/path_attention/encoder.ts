// LightPath's path encoder (Yang et al., KDD 2023): a learnable CLS token put in
// front of every path, pre-LN transformer blocks over the packed kept tokens (each
// path attends only to itself), and a final LayerNorm, forward and backward. It is
// built from Frugal's GEMM (linear layers, residual adds fused in its epilogue),
// LayerNorm, GELU and the packed path-attention ops. The block, the parameter
// bookkeeping and the small helpers here are shared with the decoder (decoder.ts).
import { FrugalError, describe } from '../errors';
import { gelu, geluBackward } from '../activation';
import { layerNorm, layerNormBackward, type LayerNormResult } from '../layer_norm';
import { matmul } from '../matmul';
import { checkOffsets, type Offsets } from '../packed';
import { StreamTags, random } from '../random';
import { loadSafetensors, saveSafetensors } from '../safetensors';
import { Tensor, checkDims, checkTensor, zeros } from '../tensor';
import { checkBool, checkFloat32, checkInt, checkNumber, checkOptions, checkSeed, isPlainObject, optionKeys, shapeText } from '../validate';
import { pathAttention, type AttentionResult, type PathLayout } from './ops';

/** Options of one transformer block, shared by {@link PathEncoder} and the decoder. */
export interface PathBlockOptions {
  /** Token width (default 128, LightPath's). */
  dim?: number;
  /** Attention heads: must divide `dim`, with dim / heads ≤ 256 (default 8). */
  heads?: number;
  /** The MLP's hidden width is ⌊dim · mlpRatio⌋ (default 4). */
  mlpRatio?: number;
  /** LayerNorm epsilon (default 1e-6, LightPath's). */
  eps?: number;
  /** Seed of the parameter-initialisation streams (tag 6); default 0. */
  seed?: number | bigint;
}

/** Options of {@link PathEncoder}. */
export interface PathEncoderOptions extends PathBlockOptions {
  /** Number of blocks (default 12, LightPath's). */
  depth?: number;
}

/** Options of {@link PathModule.loadStateDict}. */
export interface LoadStateDictOptions {
  /**
   * true (default): the record must hold exactly this module's parameters. false:
   * names it does not know are ignored (a timm checkpoint's `pos_embed`, `head`…);
   * every parameter of the module must still be there.
   */
  strict?: boolean;
}

/** What {@link PathEncoder.forward} returns. */
export interface PathEncoderOutput {
  /** [totalKept + B, dim]: every path's tokens after the final LayerNorm, its CLS first. */
  latent: Tensor;
  /** [B, dim]: the CLS row of every path (a copy of those rows of `latent`). */
  cls: Tensor;
  /** [B + 1]: path b owns rows [latentOffsets[b], latentOffsets[b+1]) of `latent`; latentOffsets[b] = offsets[b] + b. */
  latentOffsets: Int32Array;
}

/** The gradients {@link PathEncoder.backward} takes: either or both. */
export interface PathEncoderGrads {
  /** [totalKept + B, dim]: gradient of the loss with respect to `latent`. */
  dLatent?: Tensor;
  /** [B, dim]: gradient with respect to `cls` (added to that of the CLS rows of `latent`). */
  dCls?: Tensor;
}

/** The checked options of one block. @internal */
export interface BlockConfig {
  dim: number;
  heads: number;
  mlpRatio: number;
  /** ⌊dim · mlpRatio⌋. */
  mlp: number;
  eps: number;
  seed: bigint;
}

/**
 * Checks the options of one block and fills in the defaults.
 * @throws FrugalError E_DTYPE / E_RANGE (a bad value), E_CONFIG (heads not dividing dim, a head dimension over 256, an empty MLP).
 * @internal
 */
export function checkBlockConfig(o: Partial<PathBlockOptions>): BlockConfig {
  const dim = o.dim === undefined ? 128 : checkInt(o.dim, 'options.dim', 1);
  const heads = o.heads === undefined ? 8 : checkInt(o.heads, 'options.heads', 1);
  if (dim % heads !== 0) throw new FrugalError('E_CONFIG', `options.heads: expected a divisor of dim ${dim}, got ${heads}`);
  if (dim / heads > pathAttention.MAX_HEAD_DIM) {
    throw new FrugalError('E_CONFIG', `options.heads: dim / heads must be at most ${pathAttention.MAX_HEAD_DIM} (the attention kernels' head dimension), got ${dim} / ${heads} = ${dim / heads}`);
  }
  const mlpRatio = o.mlpRatio === undefined ? 4 : checkNumber(o.mlpRatio, 'options.mlpRatio', { min: 0, max: 2 ** 20, open: true });
  const mlp = Math.floor(dim * mlpRatio);
  if (mlp < 1) throw new FrugalError('E_CONFIG', `options.mlpRatio: dim · mlpRatio must be at least 1 (the MLP's width), got ${dim} · ${mlpRatio}`);
  const eps = o.eps === undefined ? 1e-6 : checkFloat32(o.eps, 'options.eps', { min: 0, positive: true });
  const seed = checkSeed(o.seed ?? 0, 'options.seed');
  return { dim, heads, mlpRatio, mlp, eps, seed };
}

/** How a parameter starts: normal with std 0.02 (timm's weights and tokens), zeros (biases) or ones (LayerNorm weights). */
export type ParameterInit = 'normal' | 'zeros' | 'ones';

/** One parameter of a {@link PathModule}: its name, shape and initialisation. */
export interface ParameterSpec {
  name: string;
  shape: number[];
  init: ParameterInit;
}

/** The parameters of one block under `prefix` ('blocks.3.'), in timm's order. @internal */
export function blockSpecs(prefix: string, dim: number, mlp: number): ParameterSpec[] {
  const linear = (name: string, out: number, inp: number): ParameterSpec[] => [
    { name: `${prefix}${name}.weight`, shape: [out, inp], init: 'normal' },
    { name: `${prefix}${name}.bias`, shape: [out], init: 'zeros' },
  ];
  return [
    ...layerNormSpecs(`${prefix}norm1`, dim),
    ...linear('attn.qkv', 3 * dim, dim),
    ...linear('attn.proj', dim, dim),
    ...layerNormSpecs(`${prefix}norm2`, dim),
    ...linear('mlp.fc1', mlp, dim),
    ...linear('mlp.fc2', dim, mlp),
  ];
}

/** A LayerNorm's weight (ones) and bias (zeros) under `name`. @internal */
export function layerNormSpecs(name: string, dim: number): ParameterSpec[] {
  return [{ name: `${name}.weight`, shape: [dim], init: 'ones' }, { name: `${name}.bias`, shape: [dim], init: 'zeros' }];
}

const LOAD_KEYS = optionKeys<LoadStateDictOptions>({ strict: true });

/**
 * The parameters and gradients of a LightPath module ({@link PathEncoder} and the
 * decoder), named like timm's: initialisation from the random streams, state
 * dicts and safetensors files. Parameter i (in {@link parameters} order) is drawn
 * from stream (seed, sub = firstSub + i, tag 6), so every parameter has its own stream.
 */
export abstract class PathModule {
  /** Accumulated gradients, one per parameter and named like it (cleared by {@link zeroGrad}). */
  readonly grads: Readonly<Record<string, Tensor>>;
  /** @internal The live parameters (what {@link parameters} returns). */
  protected readonly params: Readonly<Record<string, Tensor>>;

  protected constructor(specs: readonly ParameterSpec[], seed: bigint, firstSub: number) {
    const params: Record<string, Tensor> = {};
    const grads: Record<string, Tensor> = {};
    specs.forEach((s, i) => {
      const t = zeros(s.shape);
      if (s.init === 'ones') t.data.fill(1);
      if (s.init === 'normal') random.normal(t.size, { seed, sub: firstSub + i, tag: StreamTags.parameterInit, scale: 0.02, out: t.data });
      params[s.name] = t;
      grads[s.name] = zeros(s.shape);
    });
    this.params = Object.freeze(params);
    this.grads = Object.freeze(grads);
  }

  /** @internal The format name stored in saved files ('frugal.PathEncoder'). */
  protected abstract get format(): string;
  /** @internal The options to store with the weights. */
  protected abstract get config(): Record<string, number | string>;

  /**
   * The live parameters by name (CPU tensors): an optimiser updates their `data` in place.
   * The record's key order is the initialisation order.
   */
  parameters(): Readonly<Record<string, Tensor>> {
    return this.params;
  }

  /** Sets every gradient in {@link grads} to zero. */
  zeroGrad(): void {
    for (const g of Object.values(this.grads)) g.data.fill(0);
  }

  /** A copy of every parameter, by name (what {@link save} writes). */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(this.params)) out[name] = Tensor.from(t.data.slice(), t.shape.slice());
    return out;
  }

  /**
   * Copies the tensors of `state` into the parameters (the parameter tensors stay the same objects).
   * Everything is checked before anything is copied.
   * @throws FrugalError E_DTYPE (state not a plain record, an entry not a Tensor), E_CONFIG (a parameter missing, or,
   *   when strict, a name this module does not have), E_SHAPE (another shape), E_DEVICE (a CUDA tensor: move it with .to('cpu')).
   */
  loadStateDict(state: Record<string, Tensor>, options?: LoadStateDictOptions): void {
    const o = checkOptions<LoadStateDictOptions>(options, 'options', LOAD_KEYS);
    const strict = o.strict === undefined ? true : checkBool(o.strict, 'options.strict');
    if (!isPlainObject(state)) throw new FrugalError('E_DTYPE', `state: expected a record of Tensors by parameter name, got ${describe(state)}`);
    if (strict) {
      for (const name of Object.keys(state)) {
        if (!Object.hasOwn(this.params, name)) throw new FrugalError('E_CONFIG', `state.${name}: not a parameter of ${this.format} (pass { strict: false } to ignore it)`);
      }
    }
    const sources: Array<[Tensor, Tensor]> = [];
    for (const [name, p] of Object.entries(this.params)) {
      if (!Object.hasOwn(state, name)) throw new FrugalError('E_CONFIG', `state: expected the parameter '${name}' ${shapeText(p.shape)}, it is missing`);
      const t = checkTensor(state[name], `state['${name}']`);
      checkDims(t, `state['${name}']`, p.shape);
      if (t.device !== 'cpu') throw new FrugalError('E_DEVICE', `state['${name}']: expected a CPU tensor, got one on '${t.device}'`);
      sources.push([p, t]);
    }
    for (const [p, t] of sources) p.data.set(t.data);
  }

  /**
   * Writes the parameters to a safetensors file (atomically), with the format name and
   * the options (JSON) in its metadata, so that the class's static `load` rebuilds the module.
   * @throws FrugalError as {@link saveSafetensors}.
   */
  save(file: string): void {
    saveSafetensors(file, this.stateDict(), { format: this.format, options: JSON.stringify(this.config) });
  }

  /**
   * Reads a file written by {@link save} for `format`: its options (as saved) and its tensors.
   * @throws FrugalError as {@link loadSafetensors}; E_CONFIG (another format, bad options metadata).
   * @internal
   */
  protected static readFile(file: string, format: string): { options: Record<string, unknown>; tensors: Record<string, Tensor> } {
    const { tensors, metadata } = loadSafetensors(file);
    if (metadata.format !== format) {
      throw new FrugalError('E_CONFIG', `${file}: expected a ${format} file (metadata format '${format}'), got format ${describe(metadata.format)}`);
    }
    let options: unknown;
    try {
      options = JSON.parse(metadata.options ?? '');
    } catch {
      options = undefined;
    }
    if (!isPlainObject(options)) throw new FrugalError('E_CONFIG', `${file}: expected the metadata 'options' to be a JSON object, got ${describe(metadata.options)}`);
    // The seed is saved as a decimal string (a bigint does not fit JSON).
    if (typeof options.seed === 'string' && /^[0-9]+$/.test(options.seed)) options.seed = BigInt(options.seed);
    return { options, tensors };
  }
}

/** A row of ones for the bias gradients' column sums, grown as needed (never shrunk). */
let onesRow = new Float32Array(0);

/** y = x·Wᵀ + b (+ residual), x [n, in], W [out, in] (PyTorch's Linear). @internal */
export function linear(x: Tensor, weight: Tensor, bias: Tensor, residual?: Tensor): Tensor {
  return matmul(x, weight, { transB: true, bias, residual });
}

/**
 * The backward of {@link linear}: adds dyᵀ·x to dW and the column sums of dy (a
 * ones row times dy: a fixed-order GEMM) to db, and returns dx = dy·W.
 * @internal
 */
export function linearBackward(dy: Tensor, x: Tensor, weight: Tensor, dWeight: Tensor, dBias: Tensor): Tensor {
  const n = dy.shape[0];
  matmul(dy, x, { transA: true, out: dWeight, beta: 1 });
  if (onesRow.length < n) onesRow = new Float32Array(n).fill(1);
  matmul(Tensor.from(onesRow.subarray(0, n), [1, n]), dy, { out: dBias.reshape([1, dBias.size]), beta: 1 });
  return matmul(dy, weight);
}

/** dst += src, elementwise (same size, CPU): the residual and gradient sums no op fuses. Returns dst. @internal */
export function addInto(dst: Tensor, src: Tensor): Tensor {
  const d = dst.data, s = src.data;
  for (let i = 0; i < d.length; i++) d[i] += s[i];
  return dst;
}

/** Checks packed tokens [rows, dim] on the CPU. @internal */
export function checkTokens(value: unknown, name: string, dim: number): Tensor {
  const t = checkTensor(value, name);
  checkDims(t, name, [-1, dim]);
  if (t.device !== 'cpu') throw new FrugalError('E_DEVICE', `${name}: expected a CPU tensor (the module's parameters live on the CPU), got one on '${t.device}'`);
  return t;
}

/** Row offsets [0, 1, …, n]: one row per path. @internal */
export function unitOffsets(n: number): Int32Array {
  return Int32Array.from({ length: n + 1 }, (_, i) => i);
}

/**
 * The layout that puts path b's `counts` rows (packed by `offsets`) at positions
 * 1…k of a path one longer, so that restore / gather move tokens behind a
 * leading row (the CLS) of every path: lengthsOffsets[b] = offsets[b] + b.
 * @internal
 */
export function behindFirstRow(offsets: Int32Array): { lengthsOffsets: Int32Array; keep: Int32Array; offsets: Int32Array } {
  const B = offsets.length - 1;
  const lengthsOffsets = offsets.map((o, b) => o + b);
  const keep = new Int32Array(offsets[B]);
  for (let b = 0; b < B; b++) for (let j = offsets[b]; j < offsets[b + 1]; j++) keep[j] = j - offsets[b] + 1;
  return { lengthsOffsets, keep, offsets };
}

/** The layout of the first row of every path packed by `lengthsOffsets` (gather takes those rows, scatter puts them back). @internal */
export function firstRows(lengthsOffsets: Int32Array): PathLayout {
  const B = lengthsOffsets.length - 1;
  return { lengthsOffsets, keep: new Int32Array(B), offsets: unitOffsets(B) };
}

interface BlockSaved {
  x: Tensor;
  offsets: Int32Array;
  ln1: LayerNormResult;
  qkv: Tensor;
  attn: AttentionResult;
  attnOut: Tensor;
  x1: Tensor;
  ln2: LayerNormResult;
  pre: Tensor;
  act: Tensor;
}

/**
 * One pre-LN ViT block over packed paths: x1 = x + proj(attn(qkv(LN1(x)))),
 * y = x1 + fc2(gelu(fc1(LN2(x1)))), attention within each path. It reads its
 * parameters from, and adds its gradients into, its module's records under `prefix`.
 * @internal
 */
export class PathBlock {
  private saved?: BlockSaved;

  constructor(
    private readonly params: Readonly<Record<string, Tensor>>,
    private readonly grads: Readonly<Record<string, Tensor>>,
    private readonly prefix: string,
    private readonly config: BlockConfig,
  ) {}

  private p(name: string): Tensor {
    return this.params[this.prefix + name];
  }

  private g(name: string): Tensor {
    return this.grads[this.prefix + name];
  }

  /** x [rows, dim] packed by offsets → y [rows, dim]; keeps what the backward needs. */
  forward(x: Tensor, offsets: Int32Array): Tensor {
    const { eps, heads } = this.config;
    const rows = x.shape[0];
    const ln1 = layerNorm(x, this.p('norm1.weight'), this.p('norm1.bias'), { eps });
    const qkv = linear(ln1.y, this.p('attn.qkv.weight'), this.p('attn.qkv.bias'));
    const attn = pathAttention.attention({ qkv, heads, offsets });
    const attnOut = attn.out.reshape([rows, this.config.dim]);
    const x1 = linear(attnOut, this.p('attn.proj.weight'), this.p('attn.proj.bias'), x);
    const ln2 = layerNorm(x1, this.p('norm2.weight'), this.p('norm2.bias'), { eps });
    const pre = linear(ln2.y, this.p('mlp.fc1.weight'), this.p('mlp.fc1.bias'));
    // Not the GEMM's fused GELU: the backward needs the pre-activation.
    const act = gelu(pre);
    this.saved = { x, offsets, ln1, qkv, attn, attnOut, x1, ln2, pre, act };
    return linear(act, this.p('mlp.fc2.weight'), this.p('mlp.fc2.bias'), x1);
  }

  /** dy [rows, dim] → dx, adding the parameter gradients into the module's grads. */
  backward(dy: Tensor): Tensor {
    const s = this.saved;
    if (!s) throw new FrugalError('E_CONFIG', `backward: no forward to go back through (call forward first; each forward allows one backward)`);
    this.saved = undefined;
    const dAct = linearBackward(dy, s.act, this.p('mlp.fc2.weight'), this.g('mlp.fc2.weight'), this.g('mlp.fc2.bias'));
    const dPre = geluBackward(s.pre, dAct, { out: dAct });
    const dLn2 = linearBackward(dPre, s.ln2.y, this.p('mlp.fc1.weight'), this.g('mlp.fc1.weight'), this.g('mlp.fc1.bias'));
    const dx1 = addInto(this.layerNormBack(dLn2, s.x1, 'norm2', s.ln2), dy);
    const dAttn = linearBackward(dx1, s.attnOut, this.p('attn.proj.weight'), this.g('attn.proj.weight'), this.g('attn.proj.bias'));
    const { dqkv } = pathAttention.attentionBackward({
      qkv: s.qkv, heads: this.config.heads, out: s.attn.out, lse: s.attn.lse, dout: dAttn, offsets: s.offsets,
    });
    const dLn1 = linearBackward(dqkv, s.ln1.y, this.p('attn.qkv.weight'), this.g('attn.qkv.weight'), this.g('attn.qkv.bias'));
    return addInto(this.layerNormBack(dLn1, s.x, 'norm1', s.ln1), dx1);
  }

  private layerNormBack(dy: Tensor, x: Tensor, norm: string, saved: LayerNormResult): Tensor {
    return layerNormBackInto(dy, x, this.p(`${norm}.weight`), saved, this.g(`${norm}.weight`), this.g(`${norm}.bias`));
  }
}

/** layerNormBackward writing dx over dy, with dGamma and dBeta added into the given gradients. Returns dx. @internal */
export function layerNormBackInto(dy: Tensor, x: Tensor, gamma: Tensor, saved: LayerNormResult, dGamma: Tensor, dBeta: Tensor): Tensor {
  const r = layerNormBackward(dy, x, gamma, saved, { out: dy });
  addInto(dGamma, r.dGamma);
  addInto(dBeta, r.dBeta);
  return r.dx;
}

const ENCODER_KEYS = optionKeys<PathEncoderOptions>({ dim: true, heads: true, depth: true, mlpRatio: true, eps: true, seed: true });
const BACKWARD_KEYS = optionKeys<PathEncoderGrads>({ dLatent: true, dCls: true });

interface EncoderSaved {
  /** Where the kept tokens sit behind each path's CLS. */
  layout: ReturnType<typeof behindFirstRow>;
  beforeNorm: Tensor;
  norm: LayerNormResult;
}

/**
 * LightPath's encoder: `cls_token` put in front of every path, `depth` pre-LN ViT
 * blocks over the packed kept tokens of all paths (attention within each path only,
 * so the cost is Σ kept tokens, never B × the longest path), and a final LayerNorm.
 * Parameters are named like timm's ViT (`cls_token` [1, 1, dim], `blocks.{i}.norm1.weight`,
 * `blocks.{i}.attn.qkv.weight` [3·dim, dim], …, `norm.weight`) and live on the CPU.
 *
 * Initialisation (deterministic for a seed): weights and `cls_token` normal with
 * std 0.02, biases 0, LayerNorm weights 1; parameter i of {@link parameters}' order
 * draws from stream (seed, sub = i, tag 6), so `cls_token` uses sub 0 and block i's
 * `norm1.weight` sub 1 + 12·i.
 * @example
 * const enc = new PathEncoder({ dim: 128, heads: 8, depth: 12, seed: 1 });
 * const { keep, offsets } = pathAttention.keep(lengths, { ratio: 0.8, seed: step });
 * const kept = pathAttention.gather(edgeEmbeddings, { lengthsOffsets, keep, offsets });
 * const { cls } = enc.forward(kept, offsets);
 * const { dTokens } = enc.backward({ dCls });
 */
export class PathEncoder extends PathModule {
  /** Token width. */
  readonly dim: number;
  /** Attention heads. */
  readonly heads: number;
  /** Number of blocks. */
  readonly depth: number;
  /** MLP width / dim. */
  readonly mlpRatio: number;
  /** LayerNorm epsilon. */
  readonly eps: number;
  /** Seed of the initialisation. */
  readonly seed: bigint;
  private readonly blocks: PathBlock[];
  private saved?: EncoderSaved;

  /**
   * @throws FrugalError E_DTYPE (options not a plain object, a value of the wrong type), E_RANGE (a value out of
   *   range), E_CONFIG (an unknown option, heads not dividing dim, dim / heads over 256, ⌊dim · mlpRatio⌋ = 0).
   */
  constructor(options?: PathEncoderOptions) {
    const o = checkOptions<PathEncoderOptions>(options, 'options', ENCODER_KEYS);
    const c = checkBlockConfig(o);
    const depth = o.depth === undefined ? 12 : checkInt(o.depth, 'options.depth', 0, 4096);
    const specs: ParameterSpec[] = [{ name: 'cls_token', shape: [1, 1, c.dim], init: 'normal' }];
    for (let i = 0; i < depth; i++) specs.push(...blockSpecs(`blocks.${i}.`, c.dim, c.mlp));
    specs.push(...layerNormSpecs('norm', c.dim));
    super(specs, c.seed, 0);
    [this.dim, this.heads, this.depth, this.mlpRatio, this.eps, this.seed] = [c.dim, c.heads, depth, c.mlpRatio, c.eps, c.seed];
    this.blocks = Array.from({ length: depth }, (_, i) => new PathBlock(this.params, this.grads, `blocks.${i}.`, c));
  }

  /** @internal */
  protected get format(): string {
    return 'frugal.PathEncoder';
  }

  /** @internal */
  protected get config(): Record<string, number | string> {
    return { dim: this.dim, heads: this.heads, depth: this.depth, mlpRatio: this.mlpRatio, eps: this.eps, seed: this.seed.toString() };
  }

  /**
   * Encodes B paths: `tokens` [totalKept, dim] packed by `offsets` (path b owns rows
   * [offsets[b], offsets[b+1]); an empty path is allowed and gets its CLS alone).
   * Keeps what {@link backward} needs (one backward per forward).
   * @throws FrugalError E_DTYPE (tokens not a Tensor, offsets not an Int32Array or number[]), E_SHAPE (tokens not
   *   [rows, dim]; offsets not starting at 0, decreasing or not ending at the rows), E_DEVICE (a CUDA tensor).
   */
  forward(tokens: Tensor, offsets: Offsets): PathEncoderOutput {
    const x = checkTokens(tokens, 'tokens', this.dim);
    const o = checkOffsets(offsets, 'offsets', x.shape[0], false);
    const layout = behindFirstRow(o);
    let h = pathAttention.restore(x, { ...layout, maskToken: this.params.cls_token.reshape([this.dim]) });
    for (const block of this.blocks) h = block.forward(h, layout.lengthsOffsets);
    const norm = layerNorm(h, this.params['norm.weight'], this.params['norm.bias'], { eps: this.eps });
    this.saved = { layout, beforeNorm: h, norm };
    const cls = pathAttention.gather(norm.y, firstRows(layout.lengthsOffsets));
    return { latent: norm.y, cls, latentOffsets: layout.lengthsOffsets };
  }

  /**
   * Back through the last {@link forward}: adds every parameter's gradient into
   * {@link grads} and returns the gradient of `tokens` (to chain into an embedding table).
   * @throws FrugalError E_CONFIG (no forward before, neither gradient given, an unknown key), E_DTYPE, E_SHAPE
   *   (dLatent not [totalKept + B, dim], dCls not [B, dim]), E_DEVICE.
   */
  backward(grads: PathEncoderGrads): { dTokens: Tensor } {
    const g = checkOptions<PathEncoderGrads>(grads, 'grads', BACKWARD_KEYS);
    const s = this.saved;
    if (!s) throw new FrugalError('E_CONFIG', 'backward: no forward to go back through (call forward first; each forward allows one backward)');
    const B = s.layout.offsets.length - 1;
    const dLatent = g.dLatent === undefined ? undefined : checkTokens(g.dLatent, 'grads.dLatent', this.dim);
    if (dLatent) checkDims(dLatent, 'grads.dLatent', [s.beforeNorm.shape[0], this.dim]);
    const dCls = g.dCls === undefined ? undefined : checkTokens(g.dCls, 'grads.dCls', this.dim);
    if (dCls) checkDims(dCls, 'grads.dCls', [B, this.dim]);
    if (!dLatent && !dCls) throw new FrugalError('E_CONFIG', 'grads: expected dLatent, dCls or both, got neither');
    this.saved = undefined;
    // The CLS rows' gradient in the latent's layout; a copy, since the backward writes over it.
    let d = dCls ? pathAttention.scatter(dCls, firstRows(s.layout.lengthsOffsets)) : Tensor.from(dLatent!.data.slice(), dLatent!.shape.slice());
    if (dCls && dLatent) d = addInto(d, dLatent);
    d = layerNormBackInto(d, s.beforeNorm, this.params['norm.weight'], s.norm, this.grads['norm.weight'], this.grads['norm.bias']);
    for (let i = this.blocks.length - 1; i >= 0; i--) d = this.blocks[i].backward(d);
    const { dKept, dMaskToken } = pathAttention.restoreBackward(d, s.layout);
    addInto(this.grads.cls_token, dMaskToken);
    return { dTokens: dKept };
  }

  /**
   * Reads an encoder written by {@link PathModule.save}: the options from the metadata, then the weights.
   * @throws FrugalError as {@link loadSafetensors}; E_CONFIG (not a PathEncoder file, bad options, missing or extra
   *   tensors), E_SHAPE (a tensor of another shape), and the constructor's errors for the saved options.
   */
  static load(file: string): PathEncoder {
    const { options, tensors } = PathModule.readFile(file, 'frugal.PathEncoder');
    const encoder = new PathEncoder(options as PathEncoderOptions);
    encoder.loadStateDict(tensors);
    return encoder;
  }
}
