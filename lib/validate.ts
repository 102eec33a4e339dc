// Argument checks shared by every module. Each throws a FrugalError naming the
// argument, what was expected and what came; all are O(1) in the data size.
import { FrugalError, describe } from './errors';

/**
 * An integer in [min, max] (defaults: 0 and 2^31 - 1).
 * @throws FrugalError E_DTYPE (not a number), E_RANGE (not an integer in range).
 */
export function checkInt(value: unknown, name: string, min = 0, max = 2 ** 31 - 1): number {
  if (typeof value !== 'number') throw new FrugalError('E_DTYPE', `${name}: expected an integer, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FrugalError('E_RANGE', `${name}: expected an integer in [${min}, ${max}], got ${describe(value)}`);
  }
  return value;
}

/**
 * A finite number, optionally bounded; `open` makes the bounds exclusive.
 * @throws FrugalError E_DTYPE (not a number), E_RANGE (not finite or out of bounds).
 */
export function checkNumber(
  value: unknown,
  name: string,
  opts: { min?: number; max?: number; open?: boolean } = {},
): number {
  if (typeof value !== 'number') throw new FrugalError('E_DTYPE', `${name}: expected a number, got ${describe(value)}`);
  const { min = -Infinity, max = Infinity, open = false } = opts;
  const inRange = open ? value > min && value < max : value >= min && value <= max;
  if (!Number.isFinite(value) || !inRange) {
    const lo = open ? '(' : '[';
    const hi = open ? ')' : ']';
    throw new FrugalError('E_RANGE', `${name}: expected a finite number in ${lo}${min}, ${max}${hi}, got ${describe(value)}`);
  }
  return value;
}

/** Largest finite float32: a larger number becomes ±Infinity when a kernel rounds it. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * A number a kernel takes as a float32: finite and within ±{@link FLOAT32_MAX}
 * (alpha = 1e300 would become Infinity), at least `min` when given, and with
 * `positive` also > 0 after rounding (eps = 1e-50 would become 0).
 * @throws FrugalError E_DTYPE (not a number), E_RANGE (out of range as a float32).
 */
export function checkFloat32(value: unknown, name: string, opts: { min?: number; positive?: boolean } = {}): number {
  const { min = -FLOAT32_MAX, positive = false } = opts;
  const v = checkNumber(value, name, { min, max: FLOAT32_MAX });
  if (positive && !(Math.fround(v) > 0)) {
    throw new FrugalError('E_RANGE', `${name}: expected a value > 0 that stays nonzero as a float32, got ${describe(v)}`);
  }
  return v;
}

/**
 * A boolean.
 * @throws FrugalError E_DTYPE (not a boolean).
 */
export function checkBool(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new FrugalError('E_DTYPE', `${name}: expected a boolean, got ${describe(value)}`);
  return value;
}

/**
 * One of a fixed set of strings.
 * @throws FrugalError E_RANGE (not one of them).
 */
export function checkEnum<T extends string>(value: unknown, name: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new FrugalError('E_RANGE', `${name}: expected one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

/**
 * The complete key list of an options type, checked by the compiler: a key
 * missing from the object or foreign to T does not compile, so the list cannot
 * drift from the interface.
 * @example const KEYS = optionKeys<LayerNormOptions>({ eps: true, out: true });
 */
export function optionKeys<T extends object>(keys: { [K in keyof Required<T>]: true }): readonly string[] {
  return Object.freeze(Object.keys(keys));
}

// Edit distance (insertions, deletions, substitutions), for "did you mean".
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = row;
  }
  return prev[b.length];
}

/**
 * The known key nearest to `key` (case-insensitive) if it is close enough to be
 * a typo (at most 2 edits, or 40% of the longer name), or one name contains the
 * other ('distribution' → 'dist').
 */
function nearestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const kl = k.toLowerCase();
    const d = lower.includes(kl) || kl.includes(lower) ? 0 : editDistance(lower, kl);
    const limit = Math.max(2, Math.floor(0.4 * Math.max(key.length, k.length)));
    if (d <= limit && d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/**
 * True for `{ ... }` literals and Object.create(null): not arrays, typed arrays,
 * Maps, Tensors, Dates or other class instances, whose entries are not options.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A plain options object (or undefined, which gives {}) whose keys are all in
 * `keys`: a misspelled option is an error, never a silent default.
 * @throws FrugalError E_DTYPE (null, an array, or not a plain object: a Map, a
 *   typed array, a Tensor, a class instance), E_CONFIG (a key not in `keys`, naming
 *   the nearest known one).
 */
export function checkOptions<T extends object>(value: unknown, name: string, keys: readonly string[]): Partial<T> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) {
    throw new FrugalError('E_DTYPE', `${name}: expected a plain options object ({ ... }), got ${describe(value)}`);
  }
  for (const key of Object.keys(value as object)) {
    if (keys.includes(key)) continue;
    const near = nearestKey(key, keys);
    throw new FrugalError(
      'E_CONFIG',
      `${name}.${key}: unknown option${near ? ` (did you mean '${near}'?)` : ''}; known: ${keys.join(', ') || '(none)'}`,
    );
  }
  return value as Partial<T>;
}

const TWO_64 = 1n << 64n;

/**
 * A random seed: a non-negative safe integer or a bigint below 2^64.
 * @throws FrugalError E_DTYPE (neither a number nor a bigint), E_RANGE (negative, unsafe or ≥ 2^64).
 */
export function checkSeed(value: unknown, name = 'seed'): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value >= TWO_64) throw new FrugalError('E_RANGE', `${name}: expected 0 <= seed < 2^64, got ${describe(value)}`);
    return value;
  }
  if (typeof value !== 'number') throw new FrugalError('E_DTYPE', `${name}: expected a safe integer or a bigint, got ${describe(value)}`);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new FrugalError('E_RANGE', `${name}: expected a non-negative safe integer or a bigint below 2^64, got ${describe(value)}`);
  }
  return BigInt(value);
}

/**
 * A 32-bit unsigned integer (stream sub-ids, tags, Philox words).
 * @throws FrugalError as {@link checkInt}.
 */
export function checkU32(value: unknown, name: string): number {
  return checkInt(value, name, 0, 0xffffffff);
}

/** Shape as text, for messages: [2, 3]. */
export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
