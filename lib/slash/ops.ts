// SLaSh and JR-WARP kernels (Gupta, Galstyan, Ver Steeg, ACL Findings 2023): the
// projection z·W_l with W_l regenerated from random streams v1 (tag 1, sub = l)
// inside the kernel, its batch and per-sample backward, the fused output block
// LN(a·Woᵀ + c + h + shift) forward and backward, the inference fold, and the
// prompt-token ops of JR-WARP on packed batches. CPU (AVX2 / AVX-512) or CUDA.
import { native } from '../binding';
import { defineOp, type Prepared } from '../call';
import { FrugalError } from '../errors';
import { checkOffsets, type Offsets } from '../packed';
import { Tensor, checkDims, checkTensor, commonDevice, outputTensor, zeros, type DeviceName, type Memory } from '../tensor';
import { checkBool, checkEnum, checkInt, checkFloat32, checkOptions, checkSeed, optionKeys, shapeText } from '../validate';

// The addon's argument lists (native/addon/slash.cc reads these keys and refuses any other).
interface ProjectionArgs {
  seed: bigint;
  layers: number;
  dim: number;
  hidden: number;
  dist: ProjectionDist;
  async: boolean;
}
interface BlockArgs {
  a: Memory;
  Wo: Memory;
  c: Memory;
  h: Memory;
  shift: Memory | null;
  gamma: Memory;
  beta: Memory;
  rows: number;
  inner: number;
  hidden: number;
  eps: number;
  async: boolean;
}
/** A packed batch: offsets [B + 1] into rows of `hidden` floats. */
interface PackedArgs {
  offsets: Int32Array;
  hidden: number;
  async: boolean;
}
interface SlashNative {
  slashProject(args: ProjectionArgs & { z: Memory; shifts: Memory }): unknown;
  slashProjectBackward(args: ProjectionArgs & { g: Memory; dz: Memory; batch: number }): unknown;
  slashOutputBlock(args: BlockArgs & { y: Memory; mean: Memory; rstd: Memory }): unknown;
  slashOutputBlockBackward(args: BlockArgs & {
    dy: Memory; y: Memory | null; mean: Memory; rstd: Memory; dh: Memory; dc: Memory | null; dShift: Memory | null;
    dGamma: Memory | null; dBeta: Memory | null; dShiftPerSample: Memory | null; tokensPerSample: number; dA: Memory | null; dWo: Memory | null;
  }): unknown;
  slashFoldShift(args: { c: Memory; shift: Memory; out: Memory; n: number; async: boolean }): unknown;
  slashPromptInsert(args: PackedArgs & { x: Memory; prompt: Memory; out: Memory }): unknown;
  slashPromptInsertBackward(args: PackedArgs & { dout: Memory; dx: Memory; dPrompt: Memory | null }): unknown;
  slashPromptAdd(args: PackedArgs & { x: Memory; prompt: Memory }): unknown;
  slashPromptAddBackward(args: PackedArgs & { x: Memory; dPrompt: Memory }): unknown;
}

const nat = () => native<SlashNative>();

/** Distribution of the fixed projection matrices W_l: N(0, 1/d) or ±1/√d. */
export type ProjectionDist = 'normal' | 'rademacher';
const DISTS = ['normal', 'rademacher'] as const;

/** Options of {@link project}. */
export interface ProjectOptions {
  /** The trainable vector, shape [d] (d ≥ 1). */
  z: Tensor;
  /** Number of layers L (one W_l each, sub-stream l). */
  layers: number;
  /** Hidden size H of the backbone. */
  hidden: number;
  /** Seed of the projection streams (0 ≤ seed < 2⁶⁴): with dist, it names every W_l. */
  seed: number | bigint;
  /** Default 'normal'. */
  dist?: ProjectionDist;
  /** Where to write the shifts ([L, H], on z's device) instead of a new tensor. */
  out?: Tensor;
}

/** Options of {@link projectBackward}. */
export interface ProjectBackwardOptions {
  /** Gradients of the shifts: [L, H] for ∂z, or [B, L, H] for per-sample ∂z. */
  g: Tensor;
  /** d, the length of z. */
  dim: number;
  /** The seed the forward used. */
  seed: number | bigint;
  /** The dist the forward used (default 'normal'). */
  dist?: ProjectionDist;
  /** Where to write ∂z ([d] or [B, d]) instead of a new tensor. */
  out?: Tensor;
}

const MAX_LAYERS = 2 ** 31 - 1;

const PROJECT_KEYS = optionKeys<ProjectOptions>({ z: true, layers: true, hidden: true, seed: true, dist: true, out: true });
const PROJECT_BACKWARD_KEYS = optionKeys<ProjectBackwardOptions>({ g: true, dim: true, seed: true, dist: true, out: true });

function checkDist(value: unknown, name: string): ProjectionDist {
  return value === undefined ? 'normal' : checkEnum(value, name, DISTS);
}

function prepareProject(options: ProjectOptions): Prepared<Tensor> {
  const o = checkOptions<ProjectOptions>(options, 'options', PROJECT_KEYS);
  const z = checkTensor(o.z, 'options.z');
  if (z.shape.length !== 1 || z.size < 1) throw new FrugalError('E_SHAPE', `options.z: expected shape [d] with d >= 1, got ${shapeText(z.shape)}`);
  const layers = checkInt(o.layers, 'options.layers', 0, MAX_LAYERS);
  const hidden = checkInt(o.hidden, 'options.hidden', 0);
  const seed = checkSeed(o.seed, 'options.seed');
  const dist = checkDist(o.dist, 'options.dist');
  const out = outputTensor(o.out, 'options.out', [layers, hidden], z.device, [[z, 'options.z', 'apart']]);
  return {
    run: (async) => nat().slashProject({ z: z.memory, shifts: out.memory, seed, layers, dim: z.size, hidden, dist, async }),
    result: () => out,
  };
}

function prepareProjectBackward(options: ProjectBackwardOptions): Prepared<Tensor> {
  const o = checkOptions<ProjectBackwardOptions>(options, 'options', PROJECT_BACKWARD_KEYS);
  const g = checkTensor(o.g, 'options.g');
  const rank = g.shape.length;
  if (rank !== 2 && rank !== 3) {
    throw new FrugalError('E_SHAPE', `options.g: expected shape [L, H] or [B, L, H], got ${shapeText(g.shape)}`);
  }
  const dim = checkInt(o.dim, 'options.dim', 1);
  const seed = checkSeed(o.seed, 'options.seed');
  const dist = checkDist(o.dist, 'options.dist');
  const batch = rank === 3 ? g.shape[0] : 1;
  const [layers, hidden] = g.shape.slice(-2);
  const out = outputTensor(o.out, 'options.out', rank === 3 ? [batch, dim] : [dim], g.device, [[g, 'options.g', 'apart']]);
  return {
    run: (async) => nat().slashProjectBackward({ g: g.memory, dz: out.memory, batch, seed, layers, dim, hidden, dist, async }),
    result: () => out,
  };
}

const projectOp = defineOp('project', prepareProject);

/**
 * The shifts of every layer in one call: shifts[l] = z·W_l, W_l [d, H] with
 * entries N(0, 1/d) (or ±1/√d) from random streams v1 (seed, sub = l, tag 1).
 * W_l is generated tile by tile inside the kernel and never stored.
 * @returns Tensor [L, H] on z's device.
 * @throws FrugalError E_DTYPE, E_SHAPE (z not [d]), E_RANGE (layers, hidden, seed, dist).
 * @example const shifts = slash.project({ z, layers: 24, hidden: 1024, seed: 7 });
 */
export const project = projectOp.sync;

/**
 * {@link project} on a worker thread.
 * @throws FrugalError as {@link project} (the promise rejects).
 */
export const projectAsync = projectOp.async;

const projectBackwardOp = defineOp('projectBackward', prepareProjectBackward);

/**
 * ∂z = Σ_l g_l·W_lᵀ for g [L, H]; for g [B, L, H] the per-sample ∂z [B, d] (what
 * DP-SGD clips), each W_l tile generated once for all B samples.
 * @throws FrugalError E_SHAPE (g not [L, H] or [B, L, H]), E_RANGE (dim, seed, dist).
 * @example const dz = slash.projectBackward({ g, dim: 1024, seed: 7 });
 */
export const projectBackward = projectBackwardOp.sync;

/**
 * {@link projectBackward} on a worker thread.
 * @throws FrugalError as {@link projectBackward} (the promise rejects).
 */
export const projectBackwardAsync = projectBackwardOp.async;

// ---- fused output block ----------------------------------------------------------

/** Inputs of the fused output block LN(a·Woᵀ + c + h + shift). */
export interface OutputBlockInputs {
  /** FFN activations [..., F] (e.g. [N, F] or [B, T, F]). */
  a: Tensor;
  /** Output weight [H, F] (a Linear's [out, in] layout). */
  Wo: Tensor;
  /** Output bias [H]. */
  c: Tensor;
  /** Residual [..., H] with a's leading dimensions. */
  h: Tensor;
  /** This layer's shift z·W_l [H]; omit for a plain post-LN block. */
  shift?: Tensor;
  /** LayerNorm scale [H]. */
  gamma: Tensor;
  /** LayerNorm offset [H]. */
  beta: Tensor;
  /** LayerNorm epsilon, finite and > 0 (default 1e-5). */
  eps?: number;
}

/** What {@link outputBlock} returns. */
export interface OutputBlockResult {
  /** The block's output, shaped like h. */
  y: Tensor;
  /** Row means of pre (a's leading dimensions), saved for the backward. */
  mean: Tensor;
  /** Row 1/√(var + eps) of pre. */
  rstd: Tensor;
}

/** Inputs of {@link outputBlockBackward}: the forward's inputs plus these. */
export interface OutputBlockBackwardInputs extends OutputBlockInputs {
  /** Gradient of y, shaped like h. */
  dy: Tensor;
  /** The forward's y: lets the backward recover x̂ = (y − β)/γ instead of recomputing pre by a GEMM (used when no γ is 0). */
  y?: Tensor;
  mean: Tensor;
  rstd: Tensor;
  /** Tokens per sample (rows are samples' tokens in order): also return dShiftPerSample [rows / T, H]. */
  tokensPerSample?: number;
  /** Compute dA = ∂pre·Wo (default true; false skips a GEMM when a's producer is frozen). */
  needA?: boolean;
  /** Compute dWo = ∂preᵀ·a (default false: the backbone is frozen). */
  needWo?: boolean;
}

/** What {@link outputBlockBackward} returns. */
export interface OutputBlockGrads {
  /** ∂pre, which is ∂h (shaped like h). */
  dH: Tensor;
  /** Σ_rows ∂pre [H]. */
  dC: Tensor;
  /** The shift's gradient g_l = Σ_rows ∂pre [H] (equal to dC; feeds projectBackward). */
  dShift: Tensor;
  dGamma: Tensor;
  dBeta: Tensor;
  /** Per-sample g_{l,i} [rows / tokensPerSample, H], when tokensPerSample is given. */
  dShiftPerSample?: Tensor;
  /** ∂pre·Wo, shaped like a (unless needA is false). */
  dA?: Tensor;
  /** ∂preᵀ·a [H, F] (when needWo). */
  dWo?: Tensor;
}

interface BlockShape {
  rows: number;
  inner: number;
  hidden: number;
  lead: number[];
  device: DeviceName;
  eps: number;
  shift?: Tensor;
}

function checkBlock(o: Partial<OutputBlockInputs>): BlockShape {
  const a = checkTensor(o.a, 'options.a');
  const Wo = checkTensor(o.Wo, 'options.Wo');
  const c = checkTensor(o.c, 'options.c');
  const h = checkTensor(o.h, 'options.h');
  const shift = o.shift === undefined ? undefined : checkTensor(o.shift, 'options.shift');
  const gamma = checkTensor(o.gamma, 'options.gamma');
  const beta = checkTensor(o.beta, 'options.beta');
  if (a.shape.length < 2) throw new FrugalError('E_SHAPE', `options.a: expected shape [..., F] with a leading token axis, got ${shapeText(a.shape)}`);
  const inner = a.shape[a.shape.length - 1];
  const lead = a.shape.slice(0, -1);
  if (Wo.shape.length !== 2 || Wo.shape[1] !== inner || Wo.shape[0] < 1) {
    throw new FrugalError('E_SHAPE', `options.Wo: expected shape [H, ${inner}] with H >= 1, got ${shapeText(Wo.shape)}`);
  }
  const hidden = Wo.shape[0];
  checkDims(h, 'options.h', [...lead, hidden]);
  checkDims(c, 'options.c', [hidden]);
  if (shift) checkDims(shift, 'options.shift', [hidden]);
  checkDims(gamma, 'options.gamma', [hidden]);
  checkDims(beta, 'options.beta', [hidden]);
  const eps = o.eps === undefined ? 1e-5 : checkFloat32(o.eps, 'options.eps', { min: 0, positive: true });
  const device = commonDevice([[a, 'options.a'], [Wo, 'options.Wo'], [c, 'options.c'], [h, 'options.h'], [shift, 'options.shift'],
    [gamma, 'options.gamma'], [beta, 'options.beta']]);
  return { rows: lead.reduce((x, y) => x * y, 1), inner, hidden, lead, device, eps, shift };
}

// The block inputs checkBlock checked, as the addon takes them.
function blockArgs(o: Partial<OutputBlockInputs>, s: ReturnType<typeof checkBlock>, async: boolean): BlockArgs {
  return {
    a: o.a!.memory, Wo: o.Wo!.memory, c: o.c!.memory, h: o.h!.memory, shift: s.shift?.memory ?? null,
    gamma: o.gamma!.memory, beta: o.beta!.memory, rows: s.rows, inner: s.inner, hidden: s.hidden, eps: s.eps, async,
  };
}

const BLOCK = { a: true, Wo: true, c: true, h: true, shift: true, gamma: true, beta: true, eps: true } as const;
const BLOCK_KEYS = optionKeys<OutputBlockInputs>(BLOCK);
const BLOCK_BACKWARD_KEYS = optionKeys<OutputBlockBackwardInputs>({
  ...BLOCK, dy: true, y: true, mean: true, rstd: true, tokensPerSample: true, needA: true, needWo: true,
});

function prepareOutputBlock(options: OutputBlockInputs): Prepared<OutputBlockResult> {
  const o = checkOptions<OutputBlockInputs>(options, 'options', BLOCK_KEYS);
  const s = checkBlock(o);
  const y = zeros([...s.lead, s.hidden], s.device);
  const mean = zeros(s.lead, s.device);
  const rstd = zeros(s.lead, s.device);
  return {
    run: (async) => nat().slashOutputBlock({ ...blockArgs(o, s, async), y: y.memory, mean: mean.memory, rstd: rstd.memory }),
    result: () => ({ y, mean, rstd }),
  };
}

function prepareOutputBlockBackward(options: OutputBlockBackwardInputs): Prepared<OutputBlockGrads> {
  const o = checkOptions<OutputBlockBackwardInputs>(options, 'options', BLOCK_BACKWARD_KEYS);
  const s = checkBlock(o);
  const rowShape = [...s.lead, s.hidden];
  const dy = checkTensor(o.dy, 'options.dy');
  checkDims(dy, 'options.dy', rowShape);
  const y = o.y === undefined ? undefined : checkTensor(o.y, 'options.y');
  if (y) checkDims(y, 'options.y', rowShape);
  const mean = checkTensor(o.mean, 'options.mean');
  const rstd = checkTensor(o.rstd, 'options.rstd');
  checkDims(mean, 'options.mean', s.lead);
  checkDims(rstd, 'options.rstd', s.lead);
  commonDevice([[o.a, 'options.a'], [dy, 'options.dy'], [y, 'options.y'], [mean, 'options.mean'], [rstd, 'options.rstd']]);
  let tokens = 0;
  if (o.tokensPerSample !== undefined) {
    tokens = checkInt(o.tokensPerSample, 'options.tokensPerSample', 1);
    if (s.rows % tokens !== 0) {
      throw new FrugalError('E_SHAPE', `options.tokensPerSample: expected a divisor of the ${s.rows} rows, got ${tokens}`);
    }
  }
  const needA = o.needA === undefined ? true : checkBool(o.needA, 'options.needA');
  const needWo = o.needWo === undefined ? false : checkBool(o.needWo, 'options.needWo');
  const H = s.hidden;
  const grads: OutputBlockGrads = {
    dH: zeros(rowShape, s.device),
    dC: zeros([H], s.device),
    dShift: zeros([H], s.device),
    dGamma: zeros([H], s.device),
    dBeta: zeros([H], s.device),
  };
  if (tokens) grads.dShiftPerSample = zeros([s.rows / tokens, H], s.device);
  if (needA) grads.dA = zeros(o.a!.shape.slice(), s.device);
  if (needWo) grads.dWo = zeros([H, s.inner], s.device);
  return {
    run: (async) => nat().slashOutputBlockBackward({
      ...blockArgs(o, s, async), dy: dy.memory, y: y?.memory ?? null, mean: mean.memory, rstd: rstd.memory,
      dh: grads.dH.memory, dc: grads.dC.memory, dShift: grads.dShift.memory, dGamma: grads.dGamma.memory, dBeta: grads.dBeta.memory,
      dShiftPerSample: grads.dShiftPerSample?.memory ?? null, tokensPerSample: tokens, dA: grads.dA?.memory ?? null, dWo: grads.dWo?.memory ?? null,
    }),
    result: () => grads,
  };
}

const outputBlockOp = defineOp('outputBlock', prepareOutputBlock);

/**
 * The fused output block of a SLaSh layer: pre = a·Woᵀ + c + h + shift, then
 * LayerNorm over H: one GEMM whose epilogue adds bias and residual, then one pass
 * over its output. Costs about what the GEMM alone costs.
 * @throws FrugalError E_DTYPE, E_SHAPE (Wo not [H, F], h not a's rows × H, vectors not [H]), E_RANGE (eps), E_DEVICE.
 * @example const { y, mean, rstd } = slash.outputBlock({ a, Wo, c, h, shift: shifts_l, gamma, beta });
 */
export const outputBlock = outputBlockOp.sync;

/**
 * {@link outputBlock} on a worker thread.
 * @throws FrugalError as {@link outputBlock} (the promise rejects).
 */
export const outputBlockAsync = outputBlockOp.async;

const outputBlockBackwardOp = defineOp('outputBlockBackward', prepareOutputBlockBackward);

/**
 * Backward of {@link outputBlock}. Pass the forward's inputs, dy, and its saved
 * mean and rstd; pass its y as well to skip recomputing pre. Column sums run in a
 * fixed order (the same bits at any thread count).
 * @throws FrugalError E_SHAPE (dy/y/mean/rstd shapes, tokensPerSample not dividing the rows), E_DEVICE, E_DTYPE.
 * @example
 * const fwd = slash.outputBlock(block);
 * const g = slash.outputBlockBackward({ ...block, ...fwd, dy, tokensPerSample: T });
 */
export const outputBlockBackward = outputBlockBackwardOp.sync;

/**
 * {@link outputBlockBackward} on a worker thread.
 * @throws FrugalError as {@link outputBlockBackward} (the promise rejects).
 */
export const outputBlockBackwardAsync = outputBlockBackwardOp.async;

function prepareFold(c: Tensor, shift: Tensor): Prepared<Tensor> {
  const tc = checkTensor(c, 'c');
  const ts = checkTensor(shift, 'shift');
  checkDims(ts, 'shift', tc.shape);
  const out = zeros(tc.shape.slice(), commonDevice([[tc, 'c'], [ts, 'shift']]));
  return { run: (async) => nat().slashFoldShift({ c: tc.memory, shift: ts.memory, out: out.memory, n: tc.size, async }), result: () => out };
}

const foldShiftOp = defineOp('foldShift', prepareFold);

/**
 * Inference: c + shift, so the layer's output block is a plain linear layer with
 * the folded bias (and the shift costs nothing at serving time). Works on [H] or
 * on all layers at once ([L, H] biases and shifts).
 * @throws FrugalError E_DTYPE (not a Tensor), E_SHAPE (shift not shaped like c), E_DEVICE.
 * @example const folded = slash.foldShift(c, shifts_l);
 */
export const foldShift = foldShiftOp.sync;

/**
 * {@link foldShift} on a worker thread.
 * @throws FrugalError as {@link foldShift} (the promise rejects).
 */
export const foldShiftAsync = foldShiftOp.async;

// ---- JR-WARP prompt ops on packed batches ------------------------------------------

function packed(x: unknown, name: string): { t: Tensor; total: number; hidden: number } {
  const t = checkTensor(x, name);
  if (t.shape.length !== 2) throw new FrugalError('E_SHAPE', `${name}: expected a packed [total, H] tensor, got ${shapeText(t.shape)}`);
  return { t, total: t.shape[0], hidden: t.shape[1] };
}

/** What {@link promptInsert} returns. */
export interface PromptInsertResult {
  /** [total + B, H]: each sample's rows preceded by the prompt row. */
  out: Tensor;
  /** Offsets of `out`: offsets[b] + b. */
  offsets: Int32Array;
}

function preparePromptInsert(x: Tensor, prompt: Tensor, offsets: Offsets): Prepared<PromptInsertResult> {
  const { t, total, hidden } = packed(x, 'x');
  const p = checkTensor(prompt, 'prompt');
  checkDims(p, 'prompt', [hidden]);
  const off = checkOffsets(offsets, 'offsets', total, false);
  const B = off.length - 1;
  const out = zeros([total + B, hidden], commonDevice([[t, 'x'], [p, 'prompt']]));
  const shifted = off.map((o, b) => o + b);
  return { run: (async) => nat().slashPromptInsert({ offsets: off, hidden, x: t.memory, prompt: p.memory, out: out.memory, async }), result: () => ({ out, offsets: shifted }) };
}

const promptInsertOp = defineOp('promptInsert', preparePromptInsert);

/**
 * JR-WARP's first step: prepend the prompt token (z·W_1, i.e. shifts[0]) to every
 * sample of a packed batch x [total, H] with offsets [B + 1].
 * @throws FrugalError E_DTYPE (not a Tensor, offsets not an Int32Array or number[]), E_SHAPE (x not
 *   [total, H], prompt not [H], offsets not from 0 to total, decreasing), E_DEVICE.
 * @example const { out, offsets: withPrompt } = slash.promptInsert(x, shifts0, offsets);
 */
export const promptInsert = promptInsertOp.sync;

/**
 * {@link promptInsert} on a worker thread.
 * @throws FrugalError as {@link promptInsert} (the promise rejects).
 */
export const promptInsertAsync = promptInsertOp.async;

function preparePromptInsertBackward(dout: Tensor, offsets: Offsets): Prepared<{ dx: Tensor; dPrompt: Tensor }> {
  const { t, total, hidden } = packed(dout, 'dout');
  const samples = offsets instanceof Int32Array || Array.isArray(offsets) ? offsets.length - 1 : 0;
  const off = checkOffsets(offsets, 'offsets', total - samples, false);
  const dx = zeros([off[off.length - 1], hidden], t.device);
  const dPrompt = zeros([hidden], t.device);
  return { run: (async) => nat().slashPromptInsertBackward({ offsets: off, hidden, dout: t.memory, dx: dx.memory, dPrompt: dPrompt.memory, async }), result: () => ({ dx, dPrompt }) };
}

const promptInsertBackwardOp = defineOp('promptInsertBackward', preparePromptInsertBackward);

/**
 * Backward of {@link promptInsert}: given dout [total + B, H] and the original
 * offsets, dx [total, H] without the prompt rows and dPrompt = Σ_b prompt-row gradients.
 * @throws FrugalError E_DTYPE, E_SHAPE (dout not [total + B, H], offsets not from 0 to total).
 */
export const promptInsertBackward = promptInsertBackwardOp.sync;

/**
 * {@link promptInsertBackward} on a worker thread.
 * @throws FrugalError as {@link promptInsertBackward} (the promise rejects).
 */
export const promptInsertBackwardAsync = promptInsertBackwardOp.async;

function preparePromptAdd(x: Tensor, prompt: Tensor, offsets: Offsets): Prepared<Tensor> {
  const { t, total, hidden } = packed(x, 'x');
  const p = checkTensor(prompt, 'prompt');
  checkDims(p, 'prompt', [hidden]);
  commonDevice([[t, 'x'], [p, 'prompt']]);
  const off = checkOffsets(offsets, 'offsets', total, true);
  return { run: (async) => nat().slashPromptAdd({ offsets: off, hidden, x: t.memory, prompt: p.memory, async }), result: () => t };
}

const promptAddOp = defineOp('promptAdd', preparePromptAdd);

/**
 * JR-WARP at layer l ≥ 2: x[offsets[b]] += prompt (z·W_l) for every sample, in
 * place on the packed batch x (offsets of the batch with its prompt rows). Returns x.
 * Its backward is {@link promptAddBackward} (the rest of dx passes through).
 * @throws FrugalError E_DTYPE, E_SHAPE (x not [total, H], prompt not [H], offsets not increasing from 0
 *   to total), E_DEVICE.
 */
export const promptAdd = promptAddOp.sync;

/**
 * {@link promptAdd} on a worker thread.
 * @throws FrugalError as {@link promptAdd} (the promise rejects).
 */
export const promptAddAsync = promptAddOp.async;

function preparePromptAddBackward(dx: Tensor, offsets: Offsets): Prepared<Tensor> {
  const { t, total, hidden } = packed(dx, 'dx');
  const off = checkOffsets(offsets, 'offsets', total, true);
  const dPrompt = zeros([hidden], t.device);
  return { run: (async) => nat().slashPromptAddBackward({ offsets: off, hidden, x: t.memory, dPrompt: dPrompt.memory, async }), result: () => dPrompt };
}

const promptAddBackwardOp = defineOp('promptAddBackward', preparePromptAddBackward);

/**
 * Gradient of {@link promptAdd}'s prompt: Σ_b dx[offsets[b]] [H].
 * @throws FrugalError E_DTYPE, E_SHAPE (dx not [total, H], offsets not increasing from 0 to total).
 */
export const promptAddBackward = promptAddBackwardOp.sync;

/**
 * {@link promptAddBackward} on a worker thread.
 * @throws FrugalError as {@link promptAddBackward} (the promise rejects).
 */
export const promptAddBackwardAsync = promptAddBackwardOp.async;
