// Per-sample clipping for DP-SGD: the `dp` namespace. Kernels (norms by Gram or
// materialized, clip factors, the clipped sum as one weighted GEMM, clipRows, noise)
// run natively on the CPU or CUDA; the RDP accountant is plain TypeScript (rdp.ts), the
// PLD accountant composes natively by FFT (pld.ts).
import { randomBytes } from 'node:crypto';
import { native } from '../binding';
import { defineOp, type Prepared } from '../call';
import { FrugalError, describe } from '../errors';
import { Tensor, checkTensor, commonDevice, hostFloats, hostZeros, type Memory } from '../tensor';
import { checkBool, checkEnum, checkFloat32, checkInt, checkOptions, checkSeed, checkU32, optionKeys, shapeText } from '../validate';
import * as pld from './pld';
import { DEFAULT_ORDERS, epsilon, noiseMultiplier, rdp } from './rdp';

// The addon's argument lists (native/addon/dp.cc reads these keys and refuses any other).
interface LinearArgs {
  A: Memory;
  G: Memory;
  B: number;
  T: number;
  din: number;
  dout: number;
}
interface DpNative {
  dpChooseNormMethod(args: { T: number; din: number; dout: number }): 'gram' | 'materialize';
  dpLinearGradNorms(args: LinearArgs & { method: NormMethod; weight: Memory; bias: Memory | null; perSample: Memory | null; async: boolean }): unknown;
  dpClipFactors(args: { norms: Memory; B: number; C: number; rule: ClipRule; factors: Memory; async: boolean }): unknown;
  dpClippedLinearGrad(args: LinearArgs & { factors: Memory; weight: Memory; bias: Memory | null; perSample: Memory | null; async: boolean }): unknown;
  dpClipRows(args: { rows: Memory; B: number; p: number; C: number; rule: ClipRule; sum: Memory; factors: Memory; async: boolean }): unknown;
  dpAddNoise(args: { t: Memory; n: number; std: number; seed: bigint; step: number; offset: number; secure: boolean; async: boolean }): unknown;
}

const nat = () => native<DpNative>();

/** How per-sample weight-gradient norms are computed. */
export type NormMethod = 'auto' | 'gram' | 'materialize';
/** Clip factor rule: 'abadi' min(1, C/(n + 1e-6)) or 'automatic' C/(n + 0.01) (Bu et al. 2022). */
export type ClipRule = 'abadi' | 'automatic';

const METHODS = ['auto', 'gram', 'materialize'] as const;
const RULES = ['abadi', 'automatic'] as const;

/** Options of {@link linearGradNorms}. */
export interface LinearGradNormsOptions {
  /** Also return the bias gradients' squared norms (default false). */
  bias?: boolean;
  /** 'gram' (⟨AAᵀ, GGᵀ⟩ per sample), 'materialize', or 'auto' (default: the cheaper by T²(din+dout) vs T·din·dout). */
  method?: NormMethod;
  /**
   * Keep the materialized per-sample gradients GᵢᵀAᵢ ([B, dout, din], B·dout·din floats) in
   * the result, for {@link clippedLinearGrad}'s `perSample` (default false): `true` in a new
   * tensor, or in the Tensor given (reused across steps, it saves faulting in fresh pages).
   * Materializes (with 'auto' too); 'gram' forms no per-sample gradients and is refused.
   */
  keepPerSample?: boolean | Tensor;
}

/** Squared per-sample gradient norms of a linear layer. */
export interface LinearGradNorms {
  /** ‖GᵢᵀAᵢ‖²_F per sample, length B. */
  weight: Float32Array;
  /** ‖Σ_t g_it‖² per sample, when asked. */
  bias?: Float32Array;
  /** The per-sample gradients GᵢᵀAᵢ [B, dout, din], with `keepPerSample`. */
  perSample?: Tensor;
}

/** Options of {@link clippedLinearGrad}. */
export interface ClippedLinearGradOptions {
  /** Also return the clipped bias gradient sum (default false). */
  bias?: boolean;
  /**
   * The per-sample gradients kept by {@link linearGradNorms} (`keepPerSample`) for these A
   * and G: the weight is then their weighted sum, a pass over memory instead of a GEMM.
   */
  perSample?: Tensor;
}

/** Options of {@link clipFactors} and {@link clipRows}. */
export interface ClipOptions {
  /** Default 'abadi'. */
  rule?: ClipRule;
}

/** Options of {@link addNoise}: seeded (`seed`, `step`) or `secure`. */
export interface NoiseOptions {
  /** Standard deviation of the noise, σ·C for DP-SGD; finite and ≥ 0. */
  std: number;
  /** Stream seed (0 ≤ seed < 2⁶⁴); required unless `secure`. */
  seed?: number | bigint;
  /** Sub-stream (the training step), 0 ≤ step < 2³² (default 0). */
  step?: number;
  /** First draw of the stream to use (default 0): tensors of one step take disjoint ranges. */
  offset?: number;
  /** Seed from the OS CSPRNG (never exposed) and draw each value as the sum of four normals halved. */
  secure?: boolean;
}

// ---- checks --------------------------------------------------------------------

interface LinearShape {
  B: number;
  T: number;
  din: number;
  dout: number;
}

const NORMS_KEYS = optionKeys<LinearGradNormsOptions>({ bias: true, method: true, keepPerSample: true });
const CLIPPED_KEYS = optionKeys<ClippedLinearGradOptions>({ bias: true, perSample: true });
const CLIP_KEYS = optionKeys<ClipOptions>({ rule: true });
const NOISE_KEYS = optionKeys<NoiseOptions>({ std: true, seed: true, step: true, offset: true, secure: true });

/** A [B,T,din] or [B,din] and G [B,T,dout] or [B,dout], same rank, same B and T. */
function linearShape(A: Tensor, G: Tensor): LinearShape {
  const rank = A.shape.length;
  if (rank !== 2 && rank !== 3) throw new FrugalError('E_SHAPE', `A: expected shape [B, T, din] or [B, din], got ${shapeText(A.shape)}`);
  if (G.shape.length !== rank) {
    throw new FrugalError('E_SHAPE', `G: expected ${rank} dimensions like A ${shapeText(A.shape)}, got ${shapeText(G.shape)}`);
  }
  const B = A.shape[0];
  const T = rank === 3 ? A.shape[1] : 1;
  if (G.shape[0] !== B) throw new FrugalError('E_SHAPE', `G: expected batch size ${B} like A, got ${shapeText(G.shape)}`);
  if (rank === 3 && G.shape[1] !== T) throw new FrugalError('E_SHAPE', `G: expected ${T} tokens like A, got ${shapeText(G.shape)}`);
  return { B, T, din: A.shape[rank - 1], dout: G.shape[rank - 1] };
}

/**
 * options.rule: 'abadi' when absent (undefined); null or anything else is not a rule.
 * @throws FrugalError E_RANGE (not 'abadi' or 'automatic').
 * @internal
 */
export function checkRule(value: unknown): ClipRule {
  return value === undefined ? 'abadi' : checkEnum(value, 'options.rule', RULES);
}

function checkC(C: unknown): number {
  return checkFloat32(C, 'C', { min: 0 });
}

/** A Float32Array or number[] of length B, or a CPU/CUDA Tensor of shape [B]. */
function factorsTensor(factors: unknown, B: number, device: 'cpu' | 'cuda'): Tensor {
  let t: Tensor;
  if (factors instanceof Tensor) t = factors;
  else if (factors instanceof Float32Array || Array.isArray(factors)) t = vector(factors, 'factors');
  else throw new FrugalError('E_DTYPE', `factors: expected a Float32Array, number[] or Tensor, got ${describe(factors)}`);
  if (t.shape.length !== 1 || t.shape[0] !== B) {
    throw new FrugalError('E_SHAPE', `factors: expected shape [${B}] (one per sample), got ${shapeText(t.shape)}`);
  }
  return t.device === device ? t : t.to(device);
}

// A [length] host tensor of `data`, whose number[] elements are named `${name}[i]` in errors.
function vector(data: Float32Array | number[], name: string): Tensor {
  const host = hostFloats(data, name);
  return Tensor.from(host, [host.length]);
}

// Norms are ≥ 0: a negative or NaN one (from a bug upstream) would give a factor below 0 or NaN.
function checkNonNegative(values: Float32Array, name: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!(values[i] >= 0)) throw new FrugalError('E_RANGE', `${name}[${i}]: expected a norm >= 0, got ${values[i]}`);
  }
}

function alloc(n: number, device: 'cpu' | 'cuda', shape: number[]): Tensor {
  const host = Tensor.from(hostZeros(n, `a [${shape.join(', ')}] result`), shape);
  return device === 'cpu' ? host : host.to(device);
}

const hostData = (t: Tensor): Float32Array => (t.device === 'cpu' ? t.data : t.to('cpu').data);

/** Per-sample gradients of a linear layer: [B, dout, din] on the layer's device. */
function checkPerSample(t: Tensor, s: { B: number; din: number; dout: number }, device: 'cpu' | 'cuda', name: string): void {
  const want = [s.B, s.dout, s.din];
  if (t.shape.length !== 3 || t.shape.some((d, i) => d !== want[i])) {
    throw new FrugalError('E_SHAPE', `${name}: expected shape ${shapeText(want)} (the per-sample gradients of these A and G), got ${shapeText(t.shape)}`);
  }
  if (t.device !== device) throw new FrugalError('E_DEVICE', `${name}: expected a ${device} tensor like A and G, got ${t.device}`);
}

function prepareNorms(A: Tensor, G: Tensor, options?: LinearGradNormsOptions): Prepared<LinearGradNorms> {
  checkTensor(A, 'A');
  checkTensor(G, 'G');
  const o = checkOptions<LinearGradNormsOptions>(options, 'options', NORMS_KEYS);
  const withBias = o.bias === undefined ? false : checkBool(o.bias, 'options.bias');
  const into = o.keepPerSample instanceof Tensor ? checkTensor(o.keepPerSample, 'options.keepPerSample') : undefined;
  const keep = into !== undefined || (o.keepPerSample === undefined ? false : checkBool(o.keepPerSample, 'options.keepPerSample'));
  let method = o.method === undefined ? 'auto' : checkEnum(o.method, 'options.method', METHODS);
  if (keep && method === 'gram') {
    throw new FrugalError('E_CONFIG', "options.keepPerSample: needs method 'materialize' or 'auto' (gram forms no per-sample gradients), got method 'gram'");
  }
  if (keep) method = 'materialize';
  const device = commonDevice([[A, 'A'], [G, 'G']]);
  const s = linearShape(A, G);
  const weight = alloc(s.B, device, [s.B]);
  const bias = withBias ? alloc(s.B, device, [s.B]) : undefined;
  if (into) checkPerSample(into, s, device, 'options.keepPerSample');
  const perSample = into ?? (keep ? alloc(s.B * s.dout * s.din, device, [s.B, s.dout, s.din]) : undefined);
  return {
    run: (async) =>
      nat().dpLinearGradNorms({ A: A.memory, G: G.memory, B: s.B, T: s.T, din: s.din, dout: s.dout, method, weight: weight.memory, bias: bias?.memory ?? null, perSample: perSample?.memory ?? null, async }),
    result: () => ({
      weight: hostData(weight),
      ...(bias ? { bias: hostData(bias) } : {}),
      ...(perSample ? { perSample } : {}),
    }),
  };
}

function prepareFactors(norms: Float32Array | number[] | Tensor, C: number, options?: ClipOptions): Prepared<Float32Array> {
  const c = checkC(C);
  const rule = checkRule(checkOptions<ClipOptions>(options, 'options', CLIP_KEYS).rule);
  let t: Tensor;
  if (norms instanceof Tensor) t = norms;
  else if (norms instanceof Float32Array || Array.isArray(norms)) t = vector(norms, 'norms');
  else throw new FrugalError('E_DTYPE', `norms: expected a Float32Array, number[] or Tensor, got ${describe(norms)}`);
  if (t.shape.length !== 1) throw new FrugalError('E_SHAPE', `norms: expected shape [B], got ${shapeText(t.shape)}`);
  if (t.device === 'cpu') checkNonNegative(t.data, 'norms');
  const B = t.shape[0];
  const out = alloc(B, t.device, [B]);
  return {
    run: (async) => nat().dpClipFactors({ norms: t.memory, B, C: c, rule, factors: out.memory, async }),
    result: () => hostData(out),
  };
}

function prepareClipped(
  A: Tensor,
  G: Tensor,
  factors: Float32Array | number[] | Tensor,
  options?: ClippedLinearGradOptions,
): Prepared<{ weight: Tensor; bias?: Tensor }> {
  checkTensor(A, 'A');
  checkTensor(G, 'G');
  const o = checkOptions<ClippedLinearGradOptions>(options, 'options', CLIPPED_KEYS);
  const withBias = o.bias === undefined ? false : checkBool(o.bias, 'options.bias');
  const device = commonDevice([[A, 'A'], [G, 'G']]);
  const s = linearShape(A, G);
  const f = factorsTensor(factors, s.B, device);
  const perSample = o.perSample === undefined ? undefined : checkTensor(o.perSample, 'options.perSample');
  if (perSample) checkPerSample(perSample, s, device, 'options.perSample');
  const weight = alloc(s.dout * s.din, device, [s.dout, s.din]);
  const bias = withBias ? alloc(s.dout, device, [s.dout]) : undefined;
  return {
    // An empty batch is a valid step on every device (the core's empty-size rule): the sum is zeros.
    run: (async) =>
      nat().dpClippedLinearGrad({ A: A.memory, G: G.memory, B: s.B, T: s.T, din: s.din, dout: s.dout, factors: f.memory, weight: weight.memory, bias: bias?.memory ?? null, perSample: perSample?.memory ?? null, async }),
    result: () => (bias ? { weight, bias } : { weight }),
  };
}

function prepareRows(rows: Tensor, C: number, options?: ClipOptions): Prepared<{ sum: Tensor; factors: Float32Array }> {
  checkTensor(rows, 'rows');
  const c = checkC(C);
  const rule = checkRule(checkOptions<ClipOptions>(options, 'options', CLIP_KEYS).rule);
  if (rows.shape.length !== 2) throw new FrugalError('E_SHAPE', `rows: expected shape [B, p], got ${shapeText(rows.shape)}`);
  const [B, p] = rows.shape;
  const sum = alloc(p, rows.device, [p]);
  const factors = alloc(B, rows.device, [B]);
  return {
    run: (async) => nat().dpClipRows({ rows: rows.memory, B, p, C: c, rule, sum: sum.memory, factors: factors.memory, async }),
    result: () => ({ sum, factors: hostData(factors) }),
  };
}

function prepareNoise(t: Tensor, options: NoiseOptions): Prepared<Tensor> {
  checkTensor(t, 't');
  const o = checkOptions<NoiseOptions>(options, 'options', NOISE_KEYS);
  if (options === undefined) throw new FrugalError('E_CONFIG', 'options: expected { std, seed, step } or { std, secure: true }, got undefined');
  const std = checkFloat32(o.std, 'options.std', { min: 0 });
  const step = o.step === undefined ? 0 : checkU32(o.step, 'options.step');
  const offset = o.offset === undefined ? 0 : checkInt(o.offset, 'options.offset', 0, Number.MAX_SAFE_INTEGER);
  const secure = o.secure === undefined ? false : checkBool(o.secure, 'options.secure');
  if (secure && o.seed !== undefined) {
    throw new FrugalError('E_CONFIG', 'options.seed: a secure draw takes its seed from the OS CSPRNG; give secure: true or a seed, not both');
  }
  if (!secure && o.seed === undefined) throw new FrugalError('E_CONFIG', 'options.seed: expected a seed (or secure: true), got undefined');
  // The secure seed lives only in this closure and the native call; it is never returned.
  const seed = secure ? randomBytes(8).readBigUInt64LE(0) : checkSeed(o.seed, 'options.seed');
  return {
    run: (async) => nat().dpAddNoise({ t: t.memory, n: t.size, std, seed, step, offset, secure, async }),
    result: () => t,
  };
}

// ---- public API -------------------------------------------------------------------

/**
 * The norm method 'auto' resolves to for samples of T tokens through a din → dout layer:
 * 'gram' when T²(din + dout) ≤ T·din·dout, else 'materialize'.
 * @throws FrugalError E_DTYPE (not a number), E_RANGE (not an integer in [0, 2^40]).
 * @example dp.chooseNormMethod(512, 768, 768) // 'materialize'
 */
export function chooseNormMethod(T: number, din: number, dout: number): 'gram' | 'materialize' {
  const t = checkInt(T, 'T', 0, 2 ** 40);
  const i = checkInt(din, 'din', 0, 2 ** 40);
  const o = checkInt(dout, 'dout', 0, 2 ** 40);
  return nat().dpChooseNormMethod({ T: t, din: i, dout: o });
}

const linearGradNormsOp = defineOp('linearGradNorms', prepareNorms);

/**
 * Per-sample squared gradient norms of a linear layer y = A·Wᵀ + b from its inputs A
 * [B, T, din] (or [B, din]) and output gradients G [B, T, dout] (or [B, dout]), without
 * forming per-sample gradients unless `method: 'materialize'` (or 'auto' finds it cheaper).
 * @throws FrugalError E_DTYPE (not a Tensor, bad option type), E_SHAPE (A and G not matching
 *   [B, T, din] / [B, T, dout], keepPerSample not [B, dout, din]), E_RANGE (unknown method),
 *   E_CONFIG (keepPerSample with method 'gram'), E_DEVICE (tensors on different devices).
 * @example const { weight, bias } = dp.linearGradNorms(A, G, { bias: true });
 */
export const linearGradNorms = linearGradNormsOp.sync;
/**
 * {@link linearGradNorms} on a worker thread.
 * @throws FrugalError as {@link linearGradNorms} (the promise rejects).
 */
export const linearGradNormsAsync = linearGradNormsOp.async;

const clipFactorsOp = defineOp('clipFactors', prepareFactors);

/**
 * Clip factors from per-sample L2 norms (summed over all of a sample's parameters,
 * see {@link sampleNorms}): 'abadi' min(1, C/(n + 1e-6)) or 'automatic' C/(n + 0.01).
 * @throws FrugalError E_DTYPE (norms not a Float32Array, number[] or Tensor), E_SHAPE (norms not [B]),
 *   E_RANGE (C, unknown or null rule, a negative or NaN norm in host memory, a number[] entry not finite as a float32).
 */
export const clipFactors = clipFactorsOp.sync;
/**
 * {@link clipFactors} on a worker thread.
 * @throws FrugalError as {@link clipFactors} (the promise rejects).
 */
export const clipFactorsAsync = clipFactorsOp.async;

/**
 * Per-sample L2 norms over several parameter groups: √(Σ_groups squared[i]).
 * @throws FrugalError E_CONFIG (no arguments), E_DTYPE (not a Float32Array), E_SHAPE (lengths differ), E_RANGE (a negative or NaN squared norm).
 * @example dp.sampleNorms(n1.weight, n1.bias!, n2.weight)
 */
export function sampleNorms(...squared: Float32Array[]): Float32Array {
  if (squared.length === 0) throw new FrugalError('E_CONFIG', 'squared: expected at least one Float32Array of squared norms');
  const B = squared[0]?.length;
  squared.forEach((s, g) => {
    if (!(s instanceof Float32Array)) throw new FrugalError('E_DTYPE', `squared[${g}]: expected a Float32Array, got ${describe(s)}`);
    if (s.length !== B) throw new FrugalError('E_SHAPE', `squared[${g}]: expected length ${B} like squared[0], got ${s.length}`);
    checkNonNegative(s, `squared[${g}]`);
  });
  const out = new Float32Array(B);
  for (let i = 0; i < B; i++) {
    let sum = 0;
    for (const s of squared) sum += s[i];
    out[i] = Math.sqrt(sum);
  }
  return out;
}

const clippedLinearGradOp = defineOp('clippedLinearGrad', prepareClipped);

/**
 * The clipped sum Σᵢ cᵢ GᵢᵀAᵢ ([dout, din]) and, with `bias`, Σᵢ cᵢ Σ_t g_it ([dout]), as one
 * weighted GEMM over all B·T rows (never one gradient per sample). Outputs are on A's device.
 * @throws FrugalError E_DTYPE (not a Tensor, bad option type), E_SHAPE (A and G not matching, factors
 *   not [B], perSample not [B, dout, din]), E_DEVICE (tensors on different devices).
 */
export const clippedLinearGrad = clippedLinearGradOp.sync;
/**
 * {@link clippedLinearGrad} on a worker thread.
 * @throws FrugalError as {@link clippedLinearGrad} (the promise rejects).
 */
export const clippedLinearGradAsync = clippedLinearGradOp.async;

const clipRowsOp = defineOp('clipRows', prepareRows);

/**
 * Clips per-sample vectors rows [B, p] (e.g. SLaSh's per-sample ∂z) to norm C and sums
 * them: sum [p] = Σᵢ cᵢ rowᵢ, with the factors.
 * @throws FrugalError E_DTYPE (not a Tensor), E_SHAPE (rows not [B, p]), E_RANGE (C, unknown rule).
 */
export const clipRows = clipRowsOp.sync;
/**
 * {@link clipRows} on a worker thread.
 * @throws FrugalError as {@link clipRows} (the promise rejects).
 */
export const clipRowsAsync = clipRowsOp.async;

const addNoiseOp = defineOp('addNoise', prepareNoise);

/**
 * Adds N(0, std²) noise to `t` in place and returns it. Seeded: t[e] takes element
 * offset + e of stream (seed, sub = step, tag 3). Secure: a fresh seed from the OS CSPRNG (never exposed),
 * and each value is (z₄ₑ + z₄ₑ₊₁ + z₄ₑ₊₂ + z₄ₑ₊₃)/2 from four consecutive elements of the
 * stream, still N(0, 1), so no single Box–Muller output can be read back.
 * @throws FrugalError E_DTYPE (not a Tensor, bad option type), E_RANGE (std, step, offset, seed out of
 *   range), E_CONFIG (no options, neither or both of seed and secure).
 * @example dp.addNoise(grad, { std: sigma * C, seed: 42, step })
 */
export const addNoise = addNoiseOp.sync;
/**
 * {@link addNoise} on a worker thread.
 * @throws FrugalError as {@link addNoise} (the promise rejects).
 */
export const addNoiseAsync = addNoiseOp.async;

/** Differential privacy: per-sample clipping kernels, noise, and the RDP and PLD accountants. */
export const dp = {
  chooseNormMethod,
  linearGradNorms,
  linearGradNormsAsync,
  clipFactors,
  clipFactorsAsync,
  sampleNorms,
  clippedLinearGrad,
  clippedLinearGradAsync,
  clipRows,
  clipRowsAsync,
  addNoise,
  addNoiseAsync,
  /** RDP accountant of the sampled Gaussian mechanism (double precision). */
  rdp: { epsilon, noiseMultiplier, rdp, DEFAULT_ORDERS },
  /** PLD accountant of the sampled Gaussian mechanism (tighter; FFT composition in the native core). */
  pld: { epsilon: pld.epsilon, delta: pld.delta, noiseMultiplier: pld.noiseMultiplier, DEFAULT_DISCRETIZATION: pld.DEFAULT_DISCRETIZATION },
};
