// LightPath's random edge removal over packed paths and the moves between all
// tokens and the kept ones: keep, gather, scatter (gather's backward), restore
// (the decoder's unshuffle) and its backward.
import { native } from '../binding';
import { defineOp, type Prepared } from '../call';
import { FrugalError, describe } from '../errors';
import { checkOffsets, type Offsets } from '../packed';
import { Tensor, checkDims, checkTensor, commonDevice, zeros, type Memory } from '../tensor';
import { checkNumber, checkOptions, checkSeed, optionKeys, shapeText } from '../validate';

// The addon's argument lists (native/addon/path_attention.cc reads these keys and refuses any other).
interface LayoutArgs { lengthsOffsets: Int32Array; offsets: Int32Array; keep: Int32Array; dim: number; async: boolean }
interface LayoutNative {
  pathKeepCounts(args: { lengths: Int32Array; ratio: number; offsets: Int32Array; async: boolean }): unknown;
  pathKeep(args: { lengths: Int32Array; ratio: number; offsets: Int32Array; seed: bigint; keep: Int32Array; async: boolean }): unknown;
  pathGather(args: LayoutArgs & { x: Memory; kept: Memory }): unknown;
  pathRestore(args: LayoutArgs & { kept: Memory; fill: Memory | null; full: Memory }): unknown;
  pathRemovedSum(args: LayoutArgs & { dFull: Memory; dFill: Memory }): unknown;
}

/** Options of {@link keep}. */
export interface KeepOptions {
  /** Fraction of each path's edges removed, in [0, 1) (LightPath uses 0.7 and 0.8). */
  ratio: number;
  /** Seed of the random stream (tag 4, sub = path index). Default 0. */
  seed?: number | bigint;
}

/** What {@link keep} returns: the kept positions of every path, packed. */
export interface KeptPaths {
  /** keep[offsets[b] + j] is the position, within path b, of its j-th kept token. */
  keep: Int32Array;
  /** [B + 1]: path b's kept tokens are rows [offsets[b], offsets[b+1]) of a packed kept tensor. */
  offsets: Int32Array;
}

/**
 * Where the kept tokens sit among all tokens: the packing of all tokens
 * (`lengthsOffsets`, prefix sums of the path lengths) and a {@link KeptPaths}.
 */
export interface PathLayout {
  lengthsOffsets: Offsets;
  keep: Int32Array | number[];
  offsets: Offsets;
}

/** Options of {@link restore}: the layout and the token put at removed positions. */
export interface RestoreOptions extends PathLayout {
  /** [dim]: what every removed position gets (LightPath's mask token). */
  maskToken: Tensor;
}

/** What {@link restoreBackward} returns. */
export interface RestoreGrads {
  /** [totalKept, dim]: the gradient at each kept token. */
  dKept: Tensor;
  /** [dim]: the gradient of the mask token, summed over every removed position (in ascending row order). */
  dMaskToken: Tensor;
}

const KEEP_KEYS = optionKeys<KeepOptions>({ ratio: true, seed: true });
const LAYOUT_KEYS = optionKeys<PathLayout>({ lengthsOffsets: true, keep: true, offsets: true });
const RESTORE_KEYS = optionKeys<RestoreOptions>({ lengthsOffsets: true, keep: true, offsets: true, maskToken: true });

const nat = () => native<LayoutNative>();

function checkLengths(value: unknown): Int32Array {
  if (!(value instanceof Int32Array) && !Array.isArray(value)) {
    throw new FrugalError('E_DTYPE', `lengths: expected an Int32Array or number[] of path lengths, got ${describe(value)}`);
  }
  const v = value as ArrayLike<unknown>;
  let total = 0;
  for (let b = 0; b < v.length; b++) {
    const L = v[b];
    if (typeof L !== 'number' || !Number.isInteger(L) || L < 0) {
      throw new FrugalError('E_SHAPE', `lengths[${b}]: expected an integer >= 0, got ${describe(L)}`);
    }
    total += L;
  }
  if (total > 2 ** 31 - 1) throw new FrugalError('E_SHAPE', `lengths: expected at most 2^31 - 1 tokens in all, got ${total}`);
  return value instanceof Int32Array ? value : Int32Array.from(v as number[]);
}

function prepareKeep(lengths: Int32Array | number[], options: KeepOptions): Prepared<KeptPaths> {
  const L = checkLengths(lengths);
  const opts = checkOptions<KeepOptions>(options, 'options', KEEP_KEYS);
  if (opts.ratio === undefined) throw new FrugalError('E_CONFIG', 'options.ratio: expected a number in [0, 1), got undefined');
  const ratio = checkNumber(opts.ratio, 'options.ratio', { min: 0, max: 1 });
  if (ratio === 1) throw new FrugalError('E_RANGE', 'options.ratio: expected a number in [0, 1) (at least one token stays), got 1');
  const seed = opts.seed === undefined ? 0n : checkSeed(opts.seed, 'options.seed');
  const offsets = new Int32Array(L.length + 1);
  // The counts first (cheap, same thread), so keep can be sized.
  nat().pathKeepCounts({ lengths: L, ratio, offsets, async: false });
  const keep = new Int32Array(offsets[L.length]);
  return { run: (async) => nat().pathKeep({ lengths: L, ratio, offsets, seed, keep, async }), result: () => ({ keep, offsets }) };
}

/** A checked {@link PathLayout}, its arrays as Int32Arrays. @internal */
export interface Layout { lengthsOffsets: Int32Array; offsets: Int32Array; keep: Int32Array }

/**
 * Checks a layout object (`keys` its allowed keys) for tensors of `allRows` and
 * `keptRows` rows (undefined: not checked): both offset arrays, as many paths in
 * each, every keep position inside its path and none twice.
 * @throws FrugalError E_DTYPE, E_SHAPE, E_RANGE, E_CONFIG, naming `name`'s fields.
 * @internal
 */
export function checkPathLayout(value: unknown, name: string, keys: readonly string[], allRows: number | undefined, keptRows: number | undefined): Layout {
  const o = checkOptions<PathLayout>(value, name, keys);
  const keepValue = o.keep;
  if (!(keepValue instanceof Int32Array) && !Array.isArray(keepValue)) {
    throw new FrugalError('E_DTYPE', `${name}.keep: expected an Int32Array or number[] of kept positions, got ${describe(keepValue)}`);
  }
  if (Array.isArray(keepValue)) {
    const bad = keepValue.findIndex((x) => !Number.isInteger(x));
    if (bad >= 0) throw new FrugalError('E_RANGE', `${name}.keep[${bad}]: expected an integer position, got ${describe(keepValue[bad])}`);
  }
  const keep = keepValue instanceof Int32Array ? keepValue : Int32Array.from(keepValue as number[]);
  if (keptRows !== undefined && keep.length !== keptRows) {
    throw new FrugalError('E_SHAPE', `${name}.keep: expected ${keptRows} positions (the kept tensor's rows), got ${keep.length}`);
  }
  const offsets = checkOffsets(o.offsets, `${name}.offsets`, keep.length, false);
  const lengthsOffsets = checkOffsets(o.lengthsOffsets, `${name}.lengthsOffsets`, allRows ?? lastOf(o.lengthsOffsets), false);
  if (lengthsOffsets.length !== offsets.length) {
    throw new FrugalError('E_SHAPE', `${name}.offsets: expected ${lengthsOffsets.length} entries (as many paths as lengthsOffsets), got ${offsets.length}`);
  }
  // Every kept position inside its path, none twice.
  const seen = new Uint8Array(lengthsOffsets[lengthsOffsets.length - 1]);
  for (let b = 0; b + 1 < offsets.length; b++) {
    const first = lengthsOffsets[b], length = lengthsOffsets[b + 1] - first;
    for (let j = offsets[b]; j < offsets[b + 1]; j++) {
      const pos = keep[j];
      if (!(pos >= 0 && pos < length) || seen[first + pos]) {
        throw new FrugalError('E_RANGE', `${name}.keep[${j}]: expected a position of path ${b} in [0, ${length}) not kept before, got ${pos}`);
      }
      seen[first + pos] = 1;
    }
  }
  return { lengthsOffsets, offsets, keep };
}

// The last offset (how many rows all the paths hold), for a layout checked without a tensor of all rows.
function lastOf(value: unknown): number {
  const v = value as ArrayLike<number> | undefined;
  return v && typeof v.length === 'number' && v.length > 0 ? v[v.length - 1] : 0;
}

function rows(t: Tensor, name: string): { rows: number; dim: number } {
  if (t.shape.length !== 2) throw new FrugalError('E_SHAPE', `${name}: expected a packed [rows, dim] tensor, got ${shapeText(t.shape)}`);
  return { rows: t.shape[0], dim: t.shape[1] };
}

const args = (l: Layout, dim: number, async: boolean): LayoutArgs => ({ lengthsOffsets: l.lengthsOffsets, offsets: l.offsets, keep: l.keep, dim, async });

function prepareGather(x: Tensor, layout: PathLayout): Prepared<Tensor> {
  const t = checkTensor(x, 'x');
  const { rows: n, dim } = rows(t, 'x');
  const l = checkPathLayout(layout, 'layout', LAYOUT_KEYS, n, undefined);
  const kept = zeros([l.keep.length, dim], t.device);
  return { run: (async) => nat().pathGather({ ...args(l, dim, async), x: t.memory, kept: kept.memory }), result: () => kept };
}

function prepareRestore(kept: Tensor, fill: Tensor | null, l: Layout, dim: number): Prepared<Tensor> {
  const full = zeros([l.lengthsOffsets[l.lengthsOffsets.length - 1], dim], commonDevice([[kept, 'kept'], [fill ?? undefined, 'maskToken']]));
  return {
    run: (async) => nat().pathRestore({ ...args(l, dim, async), kept: kept.memory, fill: fill ? fill.memory : null, full: full.memory }),
    result: () => full,
  };
}

function prepareScatter(dKept: Tensor, layout: PathLayout): Prepared<Tensor> {
  const t = checkTensor(dKept, 'dKept');
  const { rows: n, dim } = rows(t, 'dKept');
  return prepareRestore(t, null, checkPathLayout(layout, 'layout', LAYOUT_KEYS, undefined, n), dim);
}

function prepareRestoreOp(kept: Tensor, options: RestoreOptions): Prepared<Tensor> {
  const t = checkTensor(kept, 'kept');
  const { rows: n, dim } = rows(t, 'kept');
  const l = checkPathLayout(options, 'options', RESTORE_KEYS, undefined, n);
  const mask = checkTensor(options.maskToken, 'options.maskToken');
  checkDims(mask, 'options.maskToken', [dim]);
  return prepareRestore(t, mask, l, dim);
}

function prepareRestoreBackward(dFull: Tensor, layout: PathLayout): Prepared<RestoreGrads> {
  const t = checkTensor(dFull, 'dFull');
  const { rows: n, dim } = rows(t, 'dFull');
  const l = checkPathLayout(layout, 'layout', LAYOUT_KEYS, n, undefined);
  const result: RestoreGrads = { dKept: zeros([l.keep.length, dim], t.device), dMaskToken: zeros([dim], t.device) };
  return {
    run: (async) => {
      const gather = nat().pathGather({ ...args(l, dim, async), x: t.memory, kept: result.dKept.memory });
      const sum = nat().pathRemovedSum({ ...args(l, dim, async), dFull: t.memory, dFill: result.dMaskToken.memory });
      return async ? Promise.all([gather, sum]) : undefined;
    },
    result: () => result,
  };
}

const keepOp = defineOp('pathAttention.keep', prepareKeep);
const gatherOp = defineOp('pathAttention.gather', prepareGather);
const scatterOp = defineOp('pathAttention.scatter', prepareScatter);
const restoreOp = defineOp('pathAttention.restore', prepareRestoreOp);
const restoreBackwardOp = defineOp('pathAttention.restoreBackward', prepareRestoreBackward);

/**
 * LightPath's random edge removal: path b of length L keeps k = max(1, ⌊L·(1 − ratio)⌋)
 * positions (none when L = 0; ⌊·⌋ of the float64 product, as LightPath's
 * `int(L * (1 - r))`, so 50 edges at 0.8 keep 9): the k smallest of elements 0…L−1 of
 * the uniform stream (seed, sub = b, tag 4), in ascending order of that value (ties:
 * the lower position first). The same for a seed on every machine and backend.
 * @throws FrugalError E_DTYPE (lengths not an Int32Array or number[], seed not a number
 *   or bigint), E_SHAPE (a length not an integer >= 0, over 2^31 − 1 tokens), E_RANGE
 *   (ratio outside [0, 1), a bad seed), E_CONFIG (ratio missing, unknown option).
 * @example const { keep, offsets } = pathAttention.keep([50, 50, 12], { ratio: 0.8, seed: 7 });
 */
export const keep = keepOp.sync;
/** {@link keep} on a worker thread. @throws FrugalError as {@link keep} (the promise rejects). */
export const keepAsync = keepOp.async;

/**
 * The kept rows of packed tokens: x [totalTokens, dim] (packed by
 * `lengthsOffsets`) → [totalKept, dim], row offsets[b] + j being x's row
 * lengthsOffsets[b] + keep[offsets[b] + j].
 * @throws FrugalError E_DTYPE, E_SHAPE (x not [rows, dim], offsets not starting at 0,
 *   decreasing or not ending at the rows they pack, path counts differing), E_RANGE (a
 *   keep position outside its path or kept twice), E_CONFIG (unknown layout key).
 */
export const gather = gatherOp.sync;
/** {@link gather} on a worker thread. @throws FrugalError as {@link gather}. */
export const gatherAsync = gatherOp.async;

/**
 * The backward of {@link gather}: dKept [totalKept, dim] back at the kept
 * positions of a [totalTokens, dim] tensor, zeros at the removed ones.
 * @throws FrugalError as {@link gather}.
 */
export const scatter = scatterOp.sync;
/** {@link scatter} on a worker thread. @throws FrugalError as {@link gather}. */
export const scatterAsync = scatterOp.async;

/**
 * The decoder's unshuffle: kept [totalKept, dim] back at their positions of a
 * [totalTokens, dim] tensor, `maskToken` [dim] at every removed position.
 * @throws FrugalError as {@link gather}, and E_SHAPE (maskToken not [dim]), E_DEVICE.
 */
export const restore = restoreOp.sync;
/** {@link restore} on a worker thread. @throws FrugalError as {@link restore}. */
export const restoreAsync = restoreOp.async;

/**
 * The backward of {@link restore}: ∂kept (∂full at the kept positions) and
 * ∂maskToken (∂full summed over the removed positions, rows in ascending order:
 * the same bits at any thread count).
 * @throws FrugalError as {@link gather}.
 */
export const restoreBackward = restoreBackwardOp.sync;
/** {@link restoreBackward} on a worker thread. @throws FrugalError as {@link gather}. */
export const restoreBackwardAsync = restoreBackwardOp.async;
