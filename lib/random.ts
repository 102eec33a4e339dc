// Counter-based random streams (Philox4x32-10, streams v1 of DESIGN.md): the
// same values on the CPU (AVX2 / AVX-512 / scalar) and on CUDA, for any
// thread count, and any slice of a stream can be generated on its own.
import { native } from './binding';
import { callNative, defineOp, type Prepared } from './call';
import { FrugalError, describe } from './errors';
import { allocate } from './tensor';
import { checkFloat32, checkOptions, checkSeed, checkU32, optionKeys } from './validate';

// The addon's argument lists (native/addon/random.cc reads these keys and refuses
// any other); a fill writes all of `out`.
interface RandomNative {
  philox(args: { counter: Uint32Array; key: Uint32Array }): Uint32Array;
  randomWords(args: Stream & { out: Uint32Array; async: boolean }): unknown;
  randomUniform(args: Stream & { out: Float32Array; async: boolean }): unknown;
  randomNormal(args: Stream & { scale: number; out: Float32Array; async: boolean }): unknown;
  randomRademacher(args: Stream & { scale: number; out: Float32Array; async: boolean }): unknown;
}

/** Uses of a stream: the `tag` word of the counter (DESIGN.md). */
export const StreamTags = Object.freeze({
  projection: 1,
  gradientMask: 2,
  dpNoise: 3,
  pathKeep: 4,
  kmeansInit: 5,
  parameterInit: 6,
  batchSampling: 7,
} as const);

/** Names one stream and where in it to start. */
export interface StreamOptions {
  /** A non-negative safe integer or a bigint below 2^64. Required. */
  seed: number | bigint;
  /** 32-bit sub-stream (a layer index, a step). Default 0. */
  sub?: number;
  /** 32-bit use tag (see {@link StreamTags}). Default 0. */
  tag?: number;
  /** Index of the first element: a non-negative safe integer or a bigint; offset + n must stay ≤ 2^64. Default 0. */
  offset?: number | bigint;
}

/** {@link StreamOptions} for the float fills, with an optional output buffer. */
export interface FloatStreamOptions extends StreamOptions {
  /** Where to write the n values instead of a new array (its length must be n). */
  out?: Float32Array;
}

/** {@link FloatStreamOptions} for normals and Rademacher signs. */
export interface ScaledStreamOptions extends FloatStreamOptions {
  /** Multiplies every value (normals N(0, scale²), signs ±scale); finite as a float32. Default 1. */
  scale?: number;
}

/** {@link StreamOptions} for raw words, with an optional output buffer. */
export interface WordStreamOptions extends StreamOptions {
  /** Where to write the n words instead of a new array (its length must be n). */
  out?: Uint32Array;
}

const TWO_64 = 1n << 64n;

const STREAM = { seed: true, sub: true, tag: true, offset: true } as const;
const WORD_KEYS = optionKeys<WordStreamOptions>({ ...STREAM, out: true });
const FLOAT_KEYS = optionKeys<FloatStreamOptions>({ ...STREAM, out: true });
const SCALED_KEYS = optionKeys<ScaledStreamOptions>({ ...STREAM, out: true, scale: true });
/** The most values one call makes (2^31 − 1). */
const MAX_N = 2 ** 31 - 1;

interface Stream {
  seed: bigint;
  sub: number;
  tag: number;
  offset: bigint;
}

function checkCount(n: unknown): number {
  if (typeof n !== 'number') throw new FrugalError('E_DTYPE', `n: expected a non-negative integer, got ${describe(n)}`);
  if (!Number.isInteger(n) || n < 0 || n > MAX_N) {
    throw new FrugalError('E_RANGE', `n: expected an integer in [0, ${MAX_N}], got ${describe(n)}`);
  }
  return n;
}

function checkOffset(value: unknown, n: number): bigint {
  if (value === undefined) return 0n;
  let offset: bigint;
  if (typeof value === 'bigint') offset = value;
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new FrugalError('E_RANGE', `options.offset: expected a non-negative safe integer or a bigint, got ${describe(value)}`);
    }
    offset = BigInt(value);
  } else {
    throw new FrugalError('E_DTYPE', `options.offset: expected a non-negative safe integer or a bigint, got ${describe(value)}`);
  }
  if (offset < 0n || offset + BigInt(n) > TWO_64) {
    throw new FrugalError('E_RANGE', `options.offset: expected 0 <= offset and offset + n <= 2^64 (n = ${n}), got ${describe(value)}`);
  }
  return offset;
}

function checkStream(options: unknown, n: number, keys: readonly string[]): { stream: Stream; opts: Partial<ScaledStreamOptions & WordStreamOptions> } {
  if (options === undefined) throw new FrugalError('E_DTYPE', 'options: expected { seed, sub?, tag?, offset? }, got undefined');
  const opts = checkOptions<ScaledStreamOptions & WordStreamOptions>(options, 'options', keys);
  const stream: Stream = {
    seed: checkSeed(opts.seed, 'options.seed'),
    sub: opts.sub === undefined ? 0 : checkU32(opts.sub, 'options.sub'),
    tag: opts.tag === undefined ? 0 : checkU32(opts.tag, 'options.tag'),
    offset: checkOffset(opts.offset, n),
  };
  return { stream, opts };
}

function checkScale(value: unknown): number {
  if (value === undefined) return 1;
  return checkFloat32(value, 'options.scale');
}

function outputArray<T extends Float32Array | Uint32Array>(out: unknown, n: number, type: 'Float32Array' | 'Uint32Array',
  make: (n: number) => T): T {
  if (out === undefined) return allocate(n, 'n', () => make(n));
  const ok = type === 'Float32Array' ? out instanceof Float32Array : out instanceof Uint32Array;
  if (!ok) throw new FrugalError('E_DTYPE', `options.out: expected a ${type}, got ${describe(out)}`);
  if ((out as T).length !== n) {
    throw new FrugalError('E_SHAPE', `options.out: expected a ${type} of length ${n}, got length ${(out as T).length}`);
  }
  return out as T;
}

type Kind = 'words' | 'uniform' | 'normal' | 'rademacher';

function prepare(kind: 'words', n: unknown, options: unknown): Prepared<Uint32Array>;
function prepare(kind: Exclude<Kind, 'words'>, n: unknown, options: unknown): Prepared<Float32Array>;
function prepare(kind: Kind, n: unknown, options: unknown): Prepared<Float32Array | Uint32Array> {
  const count = checkCount(n);
  const { stream: s, opts } = checkStream(options, count, kind === 'words' ? WORD_KEYS : kind === 'uniform' ? FLOAT_KEYS : SCALED_KEYS);
  const nat = native<RandomNative>();
  if (kind === 'words') {
    const out = outputArray(opts.out, count, 'Uint32Array', (m) => new Uint32Array(m));
    return { run: (async) => nat.randomWords({ seed: s.seed, sub: s.sub, tag: s.tag, offset: s.offset, out, async }), result: () => out };
  }
  const out = outputArray(opts.out, count, 'Float32Array', (m) => new Float32Array(m));
  if (kind === 'uniform') {
    return { run: (async) => nat.randomUniform({ seed: s.seed, sub: s.sub, tag: s.tag, offset: s.offset, out, async }), result: () => out };
  }
  const scale = checkScale(opts.scale);
  const fill = kind === 'normal' ? nat.randomNormal : nat.randomRademacher;
  return { run: (async) => fill({ seed: s.seed, sub: s.sub, tag: s.tag, offset: s.offset, scale, out, async }), result: () => out };
}

function checkWords(value: unknown, name: string, length: number): Uint32Array {
  let words: ArrayLike<unknown>;
  if (value instanceof Uint32Array) words = value;
  else if (Array.isArray(value)) words = value;
  else throw new FrugalError('E_DTYPE', `${name}: expected ${length} 32-bit words (number[] or Uint32Array), got ${describe(value)}`);
  if (words.length !== length) {
    throw new FrugalError('E_SHAPE', `${name}: expected ${length} words, got ${words.length}`);
  }
  if (value instanceof Uint32Array) return value;
  return Uint32Array.from(words, (w, i) => checkU32(w, `${name}[${i}]`));
}

const wordsOp = defineOp('words', (n: number, options: WordStreamOptions) => prepare('words', n, options));
const uniformOp = defineOp('uniform', (n: number, options: FloatStreamOptions) => prepare('uniform', n, options));
const normalOp = defineOp('normal', (n: number, options: ScaledStreamOptions) => prepare('normal', n, options));
const rademacherOp = defineOp('rademacher', (n: number, options: ScaledStreamOptions) => prepare('rademacher', n, options));

/**
 * One Philox4x32-10 block (Random123): the four output words for a 4-word
 * counter and a 2-word key.
 * @throws FrugalError E_DTYPE (not an array), E_SHAPE (wrong length), E_RANGE (a word outside [0, 2^32 − 1]).
 * @example random.philox([0, 0, 0, 0], [0, 0]) // Uint32Array [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
 */
function philox(counter: number[] | Uint32Array, key: number[] | Uint32Array): Uint32Array {
  const c = checkWords(counter, 'counter', 4);
  const k = checkWords(key, 'key', 2);
  return callNative(() => native<RandomNative>().philox({ counter: c, key: k }));
}

/**
 * Elements [offset, offset + n) of stream (seed, sub, tag) as raw 32-bit words:
 * element e is word e mod 4 of Philox block (⌊e/4⌋ as 64 bits, sub, tag) with
 * key (seed mod 2^32, ⌊seed/2^32⌋).
 * @throws FrugalError E_DTYPE, E_RANGE (n, seed, sub, tag, offset out of range), E_SHAPE (out of the wrong length).
 * @example const w = random.words(8, { seed: 42n, sub: 3, tag: random.tags.gradientMask });
 */
const words = wordsOp.sync;

/**
 * {@link words} on a worker thread; the output stays referenced until it settles.
 * @throws FrugalError as {@link words} (the promise rejects).
 */
const wordsAsync = wordsOp.async;

/**
 * Uniform values in [0, 1): u = (w >> 8)·2^-24 for each word w of the stream
 * (bit-identical on every backend).
 * @throws FrugalError as {@link words}.
 * @example const u = random.uniform(1000, { seed: 7 });
 */
const uniform = uniformOp.sync;

/**
 * {@link uniform} on a worker thread; the output stays referenced until it settles.
 * @throws FrugalError as {@link uniform} (the promise rejects).
 */
const uniformAsync = uniformOp.async;

/**
 * Standard normal values (times `scale`, default 1) by Box–Muller on word
 * pairs of each block: elements 2m, 2m+1 are r·cos(2πu2), r·sin(2πu2) with
 * r = √(−2 ln u1). Within 4 ulp of the exact value on every CPU level (the
 * vector paths), and reproducible for a given ISA level and any thread count.
 * @throws FrugalError as {@link words}; E_RANGE for a non-finite scale.
 * @example const w = random.normal(d * H, { seed, sub: layer, tag: random.tags.projection, scale: 1 / Math.sqrt(d) });
 */
const normal = normalOp.sync;

/**
 * {@link normal} on a worker thread; the output stays referenced until it settles.
 * @throws FrugalError as {@link normal} (the promise rejects).
 */
const normalAsync = normalOp.async;

/**
 * Random signs: +scale where the stream word is below 2^31, else −scale
 * (bit-identical on every backend).
 * @throws FrugalError as {@link normal}.
 * @example const s = random.rademacher(256, { seed: 1n, tag: random.tags.projection });
 */
const rademacher = rademacherOp.sync;

/**
 * {@link rademacher} on a worker thread; the output stays referenced until it settles.
 * @throws FrugalError as {@link rademacher} (the promise rejects).
 */
const rademacherAsync = rademacherOp.async;

/**
 * Counter-based random streams v1 (Philox4x32-10). A stream is named by
 * (seed, sub, tag); any slice [offset, offset + n) can be made on its own and
 * equals the same slice of a longer call.
 */
export const random = Object.freeze({
  philox,
  words,
  wordsAsync,
  uniform,
  uniformAsync,
  normal,
  normalAsync,
  rademacher,
  rademacherAsync,
  /** The standard `tag` values ({@link StreamTags}). */
  tags: StreamTags,
});
