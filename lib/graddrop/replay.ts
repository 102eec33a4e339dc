// ReplaySampler: batches that mix new-domain examples with a fixed share of replayed
// original-domain ones (experience replay against forgetting), each set drawn without
// replacement per epoch from the batch-sampling random streams, so a seed reproduces
// every batch on any machine.
import { FrugalError } from '../errors';
import { StreamTags, random } from '../random';
import { checkInt, checkNumber, checkOptions, checkSeed, optionKeys } from '../validate';

/** Options of {@link ReplaySampler}. */
export interface ReplaySamplerOptions {
  /** Examples in the new-domain set, in [1, 2^31 − 1]; an epoch uses each once. */
  newSize: number;
  /** Examples in the replay (original-domain) set, in [0, 2^31 − 1]; at least 1 when batches replay any. */
  replaySize: number;
  /** Examples per full batch, new and replay together, in [1, 2^31 − 1]. */
  batchSize: number;
  /** Share of replay examples in a full batch, in [0, 1): r = round(batchSize·replayFraction). */
  replayFraction: number;
  /** Stream seed: a non-negative safe integer or a bigint below 2^64. */
  seed: number | bigint;
}

/** One batch of {@link ReplaySampler.batches}. */
export interface ReplayBatch {
  /** Global batch number: epoch·batchesPerEpoch + the batch's index in its epoch. */
  step: number;
  /** Indices into the new-domain set. */
  newIndices: Int32Array;
  /** Indices into the replay set. */
  replayIndices: Int32Array;
}

const SAMPLER_KEYS = optionKeys<ReplaySamplerOptions>({ newSize: true, replaySize: true, batchSize: true, replayFraction: true, seed: true });
// Set sizes are Int32Array indices; random.words makes at most this many words per call.
const MAX_SIZE = 2 ** 31 - 1;
// Words fetched beyond a shuffle's one-per-swap, so that rejected draws rarely need a second call.
const SPARE_WORDS = 64;
const TWO_32 = 2 ** 32;

// The words of stream (seed, sub, tag 7) in order from element 0, fetched in as few
// random.words calls as a shuffle allows. Chunking never changes which word comes next.
class StreamReader {
  #words: Uint32Array = new Uint32Array(0);
  #next = 0;
  #fetched = 0;

  constructor(
    private readonly seed: bigint,
    private readonly sub: number,
  ) {}

  // Makes at least `count` unread words available, with one call when some are missing.
  reserve(count: number): void {
    const left = this.#words.length - this.#next;
    if (left >= count) return;
    const fresh = random.words(Math.min(count - left + SPARE_WORDS, MAX_SIZE), {
      seed: this.seed, sub: this.sub, tag: StreamTags.batchSampling, offset: this.#fetched,
    });
    this.#fetched += fresh.length;
    const words = left === 0 ? fresh : new Uint32Array(left + fresh.length);
    if (left > 0) {
      words.set(this.#words.subarray(this.#next));
      words.set(fresh, left);
    }
    this.#words = words;
    this.#next = 0;
  }

  next(): number {
    if (this.#next === this.#words.length) this.reserve(1);
    return this.#words[this.#next++];
  }
}

// A uniform integer in [0, s), 1 ≤ s ≤ 2^31, exact and unbiased (Lemire 2019): the high
// word of w·s for the next word w, drawing again while the low word is < 2^32 mod s.
function boundedDraw(s: number, reader: StreamReader): number {
  for (;;) {
    const w = reader.next();
    const low = Math.imul(w, s) >>> 0; // the exact low 32 bits of w·s
    if (low < s && low < TWO_32 % s) continue;
    // w·s < 2^63 is off by at most 2^10 in doubles, while candidates for the high word lie
    // 2^32 apart: rounding recovers it exactly.
    return Math.round((w * s - low) / TWO_32);
  }
}

// Fisher–Yates: for i = size − 1 down to 1, swap entries i and boundedDraw(i + 1).
function permutation(size: number, reader: StreamReader): Int32Array {
  const order = new Int32Array(size);
  for (let i = 0; i < size; i++) order[i] = i;
  reader.reserve(size - 1);
  for (let i = size - 1; i > 0; i--) {
    const j = boundedDraw(i + 1, reader);
    const swapped = order[i];
    order[i] = order[j];
    order[j] = swapped;
  }
  return order;
}

// Replay indices of one epoch: successive permutations of [0, size), each used up before
// the next starts, all from one stream.
function replayTaker(size: number, reader: StreamReader): (count: number) => Int32Array {
  let pass: Int32Array = new Int32Array(0);
  let used = 0;
  return (count) => {
    const out = new Int32Array(count);
    for (let filled = 0; filled < count; ) {
      if (used === pass.length) [pass, used] = [permutation(size, reader), 0];
      const n = Math.min(count - filled, pass.length - used);
      out.set(pass.subarray(used, used + n), filled);
      filled += n;
      used += n;
    }
    return out;
  };
}

/**
 * Batches of new-domain examples mixed with replayed original-domain ones. A full batch has
 * r = round(batchSize·replayFraction) replay examples (Math.round: halves round up) and
 * n = batchSize − r new ones; an epoch has ⌈newSize / n⌉ batches and uses every new-domain
 * example exactly once. Its last batch is kept even when short: with m < n new examples it
 * gets round(m·r / n) replay ones (halves up, in exact integers), the full batches' mix.
 *
 * Streams (DESIGN.md random streams v1, tag 7 = {@link StreamTags}.batchSampling): epoch e
 * shuffles the new-domain set with the words of stream (seed, sub = 2e, tag 7) and the replay
 * set with those of stream (seed, sub = 2e + 1, tag 7), each read in order from element 0. A
 * shuffle of s items is Fisher–Yates, for i = s − 1 down to 1 swapping entries i and j, where
 * j = ⌊w·(i + 1) / 2^32⌋ for the next word w, unless (w·(i + 1)) mod 2^32 < 2^32 mod (i + 1),
 * when w is skipped and the next word is tried (Lemire's multiply-shift with rejection: exact
 * and unbiased). Batches take the permutation in order: batch k's new examples are entries
 * [k·n, k·n + n). When an epoch needs more replay examples than the set holds, the next replay
 * permutation continues the same stream where the previous shuffle stopped, so replay examples
 * repeat within an epoch only after all have been used (a batch straddling two passes may
 * hold one twice if replaySize < r). PrivacyEngine uses the same tag with sub = step: give
 * each its own seed.
 * @example
 * const sampler = new ReplaySampler({ newSize: 10_000, replaySize: 50_000, batchSize: 32, replayFraction: 0.25, seed: 7 });
 * for (const { step, newIndices, replayIndices } of sampler.batches(epoch)) {
 *   // 24 new-domain and 8 original-domain examples (fewer in the last batch)
 * }
 */
export class ReplaySampler {
  readonly newSize: number;
  readonly replaySize: number;
  readonly batchSize: number;
  readonly replayFraction: number;
  /** Replay examples in each full batch: round(batchSize·replayFraction). */
  readonly replayPerBatch: number;
  /** Batches in each epoch: ⌈newSize / (batchSize − replayPerBatch)⌉. */
  readonly batchesPerEpoch: number;
  readonly #seed: bigint;
  // New and replay examples of an epoch's last batch (those of a full one if it is full).
  readonly #lastNew: number;
  readonly #lastReplay: number;
  // Epochs stop where sub = 2e + 1 or the last step would leave 32 bits (MaskOptions.step).
  readonly #maxEpoch: number;

  /**
   * @throws FrugalError E_DTYPE (options not a plain object, a value of the wrong type),
   *   E_CONFIG (an unknown option), E_RANGE (newSize or batchSize not an integer in
   *   [1, 2^31 − 1], replaySize not one in [0, 2^31 − 1], replayFraction outside [0, 1) or NaN
   *   or leaving no new example in a batch, replaySize 0 while batches replay, seed out of range).
   */
  constructor(options: ReplaySamplerOptions) {
    const o = checkOptions<ReplaySamplerOptions>(options, 'options', SAMPLER_KEYS);
    this.newSize = checkInt(o.newSize, 'options.newSize', 1, MAX_SIZE);
    this.replaySize = checkInt(o.replaySize, 'options.replaySize', 0, MAX_SIZE);
    this.batchSize = checkInt(o.batchSize, 'options.batchSize', 1, MAX_SIZE);
    this.replayFraction = checkNumber(o.replayFraction, 'options.replayFraction', { min: 0, max: 1 });
    if (this.replayFraction === 1) {
      throw new FrugalError('E_RANGE', 'options.replayFraction: expected a number in [0, 1) (a batch needs new-domain examples), got 1');
    }
    this.#seed = checkSeed(o.seed, 'options.seed');
    this.replayPerBatch = Math.round(this.batchSize * this.replayFraction);
    const newPerBatch = this.batchSize - this.replayPerBatch;
    if (newPerBatch === 0) {
      throw new FrugalError(
        'E_RANGE',
        `options.replayFraction: expected a fraction leaving at least one new-domain example in a batch of ${this.batchSize}, ` +
          `got ${this.replayFraction} (round(${this.batchSize}·${this.replayFraction}) = ${this.replayPerBatch} replay examples)`,
      );
    }
    if (this.replayPerBatch > 0 && this.replaySize === 0) {
      throw new FrugalError('E_RANGE', `options.replaySize: expected at least 1 with ${this.replayPerBatch} replay examples per batch, got 0`);
    }
    this.batchesPerEpoch = Math.ceil(this.newSize / newPerBatch);
    this.#lastNew = this.newSize - (this.batchesPerEpoch - 1) * newPerBatch;
    // round(m·r / n), halves up, in bigints: m·r can pass 2^53.
    const [m, r, n] = [BigInt(this.#lastNew), BigInt(this.replayPerBatch), BigInt(newPerBatch)];
    this.#lastReplay = Number((2n * m * r + n) / (2n * n));
    this.#maxEpoch = Math.min(2 ** 31 - 1, Math.floor(TWO_32 / this.batchesPerEpoch) - 1);
  }

  /**
   * The batches of `epoch`, in order (see the class for how they are drawn). The same seed and
   * epoch always give the same batches; epochs may be asked for in any order.
   * @throws FrugalError E_DTYPE (not a number), E_RANGE (not an integer in [0, 2^31 − 1], or one
   *   whose steps would pass 2^32 − 1).
   * @example for (const batch of sampler.batches(0)) train(batch.step, batch.newIndices, batch.replayIndices);
   */
  batches(epoch: number): Generator<ReplayBatch, void, undefined> {
    // Checked here, not in the generator, whose body only runs at the first next().
    const e = checkInt(epoch, 'epoch', 0, this.#maxEpoch);
    return this.#epochBatches(e);
  }

  *#epochBatches(epoch: number): Generator<ReplayBatch, void, undefined> {
    const order = permutation(this.newSize, new StreamReader(this.#seed, 2 * epoch));
    const takeReplay = replayTaker(this.replaySize, new StreamReader(this.#seed, 2 * epoch + 1));
    const newPerBatch = this.batchSize - this.replayPerBatch;
    for (let k = 0; k < this.batchesPerEpoch; k++) {
      const last = k === this.batchesPerEpoch - 1;
      const start = k * newPerBatch;
      yield {
        step: epoch * this.batchesPerEpoch + k,
        newIndices: order.slice(start, last ? this.newSize : start + newPerBatch),
        replayIndices: takeReplay(last ? this.#lastReplay : this.replayPerBatch),
      };
    }
  }
}
