// PrivacyEngine: DP-SGD orchestration over the dp kernels. Per step: Poisson-sampled
// batch → per-sample norms of every parameter group → clip factors from the total norm →
// clipped sums (one weighted GEMM per linear layer) → Gaussian noise N(0, (σC)²) → divided
// by the expected batch size qN; ε is tracked by the PLD (default) or RDP accountant and a
// step that would exceed the budget is refused before anything is computed.
import { randomBytes, randomFillSync } from 'node:crypto';
import { FrugalError, describe } from '../errors';
import { StreamTags, random } from '../random';
import { Tensor, checkTensor, zeros } from '../tensor';
import { checkBool, checkEnum, checkFloat32, checkInt, checkNumber, checkOptions, checkSeed, optionKeys } from '../validate';
import { addNoise, checkRule, chooseNormMethod, clipFactors, clippedLinearGrad, linearGradNorms, sampleNorms, type ClipRule } from './index';
import { checkDelta, checkQ } from './phases';
import { stepAccountant, type AccountantName, type StepAccountant } from './step_accountant';

/** Options of {@link PrivacyEngine}. */
export interface PrivacyEngineOptions {
  /** Number of examples N in the private dataset, at most 2³¹ − 1 (batches index it with Int32Array). */
  datasetSize: number;
  /** Poisson sampling rate q in (0, 1]: each example joins a step's batch with probability q. */
  sampleRate: number;
  /** Noise multiplier σ (noise std = σ·maxGradNorm): at least 0.01, or 0 for no privacy (ε = ∞), for debugging only. */
  noiseMultiplier: number;
  /** Clipping norm C ≥ 0 over all of a sample's parameters. */
  maxGradNorm: number;
  /** δ of the (ε, δ) guarantee, in (0, 1); well below 1/N (1e-5 is common). */
  delta: number;
  /** Refuse any step after which ε would exceed this (default: no budget). */
  epsilonBudget?: number;
  /**
   * The accountant that tracks ε (default 'pld': about 8% lower ε than 'rdp' in the usual
   * band, far lower at small q; each new step count costs one FFT composition, tens of ms,
   * paid when ε is read, and a budget costs about 2·log₂(steps) of them once, at the first step).
   */
  accountant?: AccountantName;
  /**
   * Seed of the Poisson sampling and of the noise (default: from the OS CSPRNG, kept in a
   * JS-private field, never exposed). Anyone who knows a seed you pass can reproduce every
   * batch and noise draw; `secure: true` uses no seed at all.
   */
  seed?: number | bigint;
  /** Draw the batches from the OS CSPRNG and the noise with a fresh CSPRNG seed per call, each value the sum of four normals halved. */
  secure?: boolean;
  /** Clip factor rule (default 'abadi'). */
  rule?: ClipRule;
  /**
   * Bytes a step may spend keeping per-sample gradients (default 256 MiB; 0: never). A linear
   * group whose norms are cheaper by materializing (long sequences, see `dp.chooseNormMethod`)
   * keeps them while they fit, and its clipped sum becomes their weighted sum instead of a
   * second GEMM over all tokens: at B = 32, T = 512, 768×768 the step costs about the
   * non-private gradient instead of twice it.
   */
  keepPerSampleBytes?: number;
}


/** The smallest σ > 0 an engine takes: below it ε is astronomical (σ = 0.001: ε ≈ 5e8 at q = 0.01, 1000 steps) or infinite. */
const MIN_NOISE_MULTIPLIER = 0.01;

const ENGINE_KEYS = optionKeys<PrivacyEngineOptions>({
  datasetSize: true, sampleRate: true, noiseMultiplier: true, maxGradNorm: true, delta: true, epsilonBudget: true,
  accountant: true, seed: true, secure: true, rule: true, keepPerSampleBytes: true,
});
/**
 * One parameter group's per-sample inputs for a step: a linear layer (inputs A [B, T, din]
 * or [B, din], output gradients G [B, T, dout] or [B, dout], with or without bias), or
 * per-sample gradient vectors `rows` [B, p] (e.g. SLaSh's per-sample ∂z).
 */
export type StepGroup = { A: Tensor; G: Tensor; bias?: boolean } | { rows: Tensor };

/** The private gradient of one group: linear layers give weight (and bias), rows give `sum` [p]. */
export interface PrivateGrad {
  weight?: Tensor;
  bias?: Tensor;
  sum?: Tensor;
}

/** What {@link PrivacyEngine.step} returns. */
export interface StepResult {
  /** Noisy clipped gradients divided by qN, one per group, in the order given. */
  grads: PrivateGrad[];
  /** ε after this step (PLD: computed when first read, then cached). */
  epsilon: number;
  /** Steps taken so far (this one included). */
  steps: number;
  /** Clip factors of the batch's samples. */
  factors: Float32Array;
}

// The largest dataset a batch can index: batch members are Int32Array entries.
const MAX_DATASET_SIZE = 2 ** 31 - 1;
// Uniforms drawn per stream call while sampling (two words each).
const SAMPLE_CHUNK = 4096;

/**
 * Indices of a Poisson batch over [0, n) with rate q in (0, 1], drawn in O(batch): each gap
 * before the next member is geometric, ⌊ln uₖ / ln(1 − q)⌋, with uniform k in (0, 1] made
 * from words 2k and 2k + 1 of `words(count, offset)` (see toUniform). q = 1 takes everyone.
 */
function poissonBatch(n: number, q: number, words: (count: number, offset: number) => Uint32Array): Int32Array {
  if (q >= 1) return Int32Array.from({ length: n }, (_, i) => i);
  const logKeep = Math.log1p(-q);
  let out = new Int32Array(Math.min(n, Math.max(16, Math.ceil(n * q * 1.1) + 16)));
  let size = 0;
  let next = -1;
  for (let offset = 0; ; offset += 2 * SAMPLE_CHUNK) {
    const w = words(2 * SAMPLE_CHUNK, offset);
    for (let k = 0; k < SAMPLE_CHUNK; k++) {
      next += Math.floor(Math.log(toUniform(w[2 * k], w[2 * k + 1])) / logKeep) + 1;
      if (next >= n) return out.slice(0, size);
      if (size === out.length) {
        const grown = new Int32Array(Math.min(n, 2 * out.length));
        grown.set(out);
        out = grown;
      }
      out[size++] = next;
    }
  }
}

// A uniform in (0, 1] with 53 random bits from two words: (hi·2²¹ + lo>>>11 + 1)·2⁻⁵³.
function toUniform(hi: number, lo: number): number {
  return ((hi >>> 0) * 2 ** 21 + (lo >>> 11) + 1) * 2 ** -53;
}

/**
 * DP-SGD with Poisson sampling, per-sample clipping without per-sample gradients, noise
 * and a privacy accountant (PLD by default, or RDP). Typical loop:
 * @example
 * const engine = new PrivacyEngine({ datasetSize: 60000, sampleRate: 256 / 60000, noiseMultiplier: 1.1, maxGradNorm: 1, delta: 1e-5, epsilonBudget: 3 });
 * const batch = engine.sampleBatch();            // indices of this step's examples (may be empty)
 * // forward/backward on `batch`, keeping each linear layer's A and G
 * const { grads, epsilon } = engine.step([{ A: a1, G: g1, bias: true }, { A: a2, G: g2 }]);
 */
export class PrivacyEngine {
  /** The options, checked. */
  readonly datasetSize: number;
  readonly sampleRate: number;
  readonly noiseMultiplier: number;
  readonly maxGradNorm: number;
  readonly delta: number;
  readonly epsilonBudget: number;
  private readonly secure: boolean;
  private readonly rule: ClipRule;
  private readonly keepPerSampleBytes: number;
  // The kept per-sample gradients of each group, reused while its shape stays.
  private perSampleBuffers: Array<Tensor | undefined> = [];
  // JS-private: never listed, printed or serialised; in secure mode it seeds nothing.
  readonly #seed: bigint;
  /** The accountant tracking ε. */
  readonly accountant: AccountantName;
  private readonly tracker: StepAccountant;
  private stepCount = 0;

  constructor(options: PrivacyEngineOptions) {
    const o = checkOptions<PrivacyEngineOptions>(options, 'options', ENGINE_KEYS);
    this.datasetSize = checkInt(o.datasetSize, 'options.datasetSize', 1, MAX_DATASET_SIZE);
    this.sampleRate = checkQ(o.sampleRate, 'options.sampleRate');
    this.noiseMultiplier = checkNumber(o.noiseMultiplier, 'options.noiseMultiplier', { min: 0 });
    if (this.noiseMultiplier > 0 && this.noiseMultiplier < MIN_NOISE_MULTIPLIER) {
      throw new FrugalError(
        'E_RANGE',
        `options.noiseMultiplier: expected 0 (no privacy, for debugging) or at least ${MIN_NOISE_MULTIPLIER}, got ${this.noiseMultiplier} (ε would be astronomical or infinite)`,
      );
    }
    this.maxGradNorm = checkFloat32(o.maxGradNorm, 'options.maxGradNorm', { min: 0 });
    this.delta = checkDelta(o.delta, 'options.delta');
    this.epsilonBudget =
      o.epsilonBudget === undefined ? Infinity : checkNumber(o.epsilonBudget, 'options.epsilonBudget', { min: 0, max: Infinity, open: true });
    this.secure = o.secure === undefined ? false : checkBool(o.secure, 'options.secure');
    this.rule = checkRule(o.rule);
    this.keepPerSampleBytes =
      o.keepPerSampleBytes === undefined ? 256 * 2 ** 20 : checkInt(o.keepPerSampleBytes, 'options.keepPerSampleBytes', 0, Number.MAX_SAFE_INTEGER);
    this.#seed = o.seed === undefined ? randomBytes(8).readBigUInt64LE(0) : checkSeed(o.seed, 'options.seed');
    this.accountant = o.accountant === undefined ? 'pld' : checkEnum(o.accountant, 'options.accountant', ['rdp', 'pld'] as const);
    this.tracker = stepAccountant(this.accountant, this.sampleRate, this.noiseMultiplier, this.delta);
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.stepCount;
  }

  /** ε spent so far (0 before the first step). */
  get epsilon(): number {
    return this.tracker.epsilonAfter(this.stepCount);
  }

  /**
   * The indices of the examples in the next step's Poisson batch: each example joins with
   * probability q, independently; ascending. An empty batch is a valid step. The cost is
   * O(batch), not O(datasetSize): the gaps between members are geometric.
   *
   * Seeded (the default), the batch is reproducible from the seed and the step number: its
   * 32-bit words are stream (seed, sub = step, tag {@link StreamTags}.batchSampling = 7) from
   * element 0, two words per gap (see DESIGN.md, random streams). A seed you pass makes every
   * batch and every noise draw reproducible by anyone who knows it: keep it secret, or use
   * `secure: true`, where the words come from the OS CSPRNG and no seed is involved.
   */
  sampleBatch(): Int32Array {
    const step = this.stepCount;
    const words = this.secure
      ? (count: number) => randomFillSync(new Uint32Array(count))
      : (count: number, offset: number) =>
          random.words(count, { seed: this.#seed, sub: step, tag: StreamTags.batchSampling, offset });
    return poissonBatch(this.datasetSize, this.sampleRate, words);
  }

  /**
   * Where group k keeps its per-sample gradients this step, or undefined: only when its norms
   * are cheaper by materializing and they fit the bytes left. The buffer is reused while the
   * group's shape stays (a fresh one costs page faults on every step).
   */
  private perSampleBuffer(k: number, A: Tensor, G: Tensor, B: number, bytesLeft: number): Tensor | undefined {
    // Shapes that do not pair up are left to linearGradNorms to report.
    if (A.shape.length !== G.shape.length || (A.shape.length !== 2 && A.shape.length !== 3)) return undefined;
    const [T, din, dout] = A.shape.length === 3 ? [A.shape[1], A.shape[2], G.shape[2]] : [1, A.shape[1], G.shape[1]];
    if (B === 0 || 4 * B * din * dout > bytesLeft || chooseNormMethod(T, din, dout) !== 'materialize') return undefined;
    const old = this.perSampleBuffers[k];
    const shape = [B, dout, din];
    if (old && old.device === A.device && shape.every((d, i) => old.shape[i] === d)) return old;
    const fresh = zeros(shape, A.device);
    this.perSampleBuffers[k] = fresh;
    return fresh;
  }

  /**
   * One private step over the groups of the sampled batch (all with the same B). Refuses
   * (E_RANGE, nothing computed) when ε after the step would exceed the budget.
   */
  step(groups: StepGroup[]): StepResult {
    if (!Array.isArray(groups)) throw new FrugalError('E_DTYPE', `groups: expected an array of { A, G, bias? } or { rows }, got ${describe(groups)}`);
    if (!this.tracker.within(this.stepCount + 1, this.epsilonBudget)) {
      const next = this.tracker.epsilonAfter(this.stepCount + 1);
      throw new FrugalError(
        'E_RANGE',
        `privacy budget exhausted: step ${this.stepCount + 1} would bring ε to ${next.toFixed(4)} > budget ${this.epsilonBudget} ` +
          `(δ = ${this.delta}, ${this.accountant} accountant, ε now ${this.epsilon.toFixed(4)})`,
      );
    }
    // Linear layers as they are; per-sample rows [B, p] as a layer with G = 1 (dout = 1):
    // ‖1·rowᵢ‖ = ‖rowᵢ‖ and Σᵢ cᵢ·1ᵀ·rowᵢ = Σᵢ cᵢ rowᵢ, the same kernels.
    let B = -1;
    const layers = groups.map((g, k) => {
      const name = `groups[${k}]`;
      if (g === null || typeof g !== 'object') throw new FrugalError('E_DTYPE', `${name}: expected { A, G, bias? } or { rows }, got ${describe(g)}`);
      let A: Tensor, G: Tensor, bias: boolean, rows: boolean;
      if ('rows' in g) {
        A = checkTensor(g.rows, `${name}.rows`);
        if (A.shape.length !== 2) throw new FrugalError('E_SHAPE', `${name}.rows: expected shape [B, p], got [${A.shape.join(', ')}]`);
        const ones = Tensor.from(new Float32Array(A.shape[0]).fill(1), [A.shape[0], 1]);
        G = A.device === 'cpu' ? ones : ones.to(A.device);
        bias = false;
        rows = true;
      } else {
        A = checkTensor(g.A, `${name}.A`);
        G = checkTensor(g.G, `${name}.G`);
        bias = g.bias === undefined ? false : checkBool(g.bias, `${name}.bias`);
        rows = false;
      }
      const b = A.shape[0];
      if (B >= 0 && b !== B) throw new FrugalError('E_SHAPE', `${name}: expected batch size ${B} like groups[0], got ${b}`);
      B = b;
      return { A, G, bias, rows };
    });
    if (B < 0) throw new FrugalError('E_CONFIG', 'groups: expected at least one parameter group');
    const squared: Float32Array[] = [];
    let budget = this.keepPerSampleBytes;
    const kept = layers.map((l, k) => {
      const keep = l.rows ? undefined : this.perSampleBuffer(k, l.A, l.G, B, budget);
      if (keep) budget -= 4 * keep.size;
      const n = linearGradNorms(l.A, l.G, { bias: l.bias, keepPerSample: keep ?? false });
      squared.push(n.weight);
      if (n.bias) squared.push(n.bias);
      return n.perSample;
    });
    const factors = clipFactors(sampleNorms(...squared), this.maxGradNorm, { rule: this.rule });
    // Dividing by qN is folded into the factors and the noise std (no extra pass).
    const scale = 1 / (this.sampleRate * this.datasetSize);
    const scaled = factors.map((c) => c * scale);
    const std = this.noiseMultiplier * this.maxGradNorm * scale;
    let offset = 0;
    const noisy = (t: Tensor): Tensor => {
      if (this.secure) return addNoise(t, { std, secure: true });
      // One stream per step (sub = step); tensors take consecutive ranges of it.
      addNoise(t, { std, seed: this.#seed, step: this.stepCount, offset });
      offset += t.size;
      return t;
    };
    const grads = layers.map((l, k): PrivateGrad => {
      const g = clippedLinearGrad(l.A, l.G, scaled, { bias: l.bias, perSample: kept[k] });
      if (l.rows) return { sum: noisy(g.weight.reshape([l.A.shape[1]])) };
      return g.bias ? { weight: noisy(g.weight), bias: noisy(g.bias) } : { weight: noisy(g.weight) };
    });
    this.stepCount += 1;
    const steps = this.stepCount;
    const tracker = this.tracker;
    const result = { grads, steps, factors } as StepResult;
    // A getter: a training loop that never reads ε pays no PLD composition per step.
    Object.defineProperty(result, 'epsilon', { enumerable: true, get: () => tracker.epsilonAfter(steps) });
    return result;
  }
}
