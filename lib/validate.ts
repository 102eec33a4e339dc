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
 * A plain options object (or undefined, which gives {}).
 * @throws FrugalError E_DTYPE (null, an array or not an object).
 */
export function checkOptions<T extends object>(value: unknown, name: string): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new FrugalError('E_DTYPE', `${name}: expected an options object, got ${describe(value)}`);
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
