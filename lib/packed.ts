// Packed batches of variable-length sequences (the TypeScript side of
// native/src/core/packed.h): sample b owns rows [offsets[b], offsets[b+1]) of a
// [total, ...] tensor, like FlashAttention's cu_seqlens. Shared by every family
// that takes them (SLaSh's prompt ops, path attention).
import { FrugalError, describe } from './errors';

/** Sample b owns rows [offsets[b], offsets[b+1]) of a packed [total, H] tensor (like cu_seqlens). */
export type Offsets = Int32Array | number[];

/**
 * Checks B + 1 offsets: integers, starting at 0, non-decreasing (increasing when
 * `nonEmpty`), ending at `total`. Returns them as an Int32Array (the argument
 * itself when it already is one).
 * @throws FrugalError E_DTYPE (not an Int32Array or number[]), E_SHAPE (otherwise).
 */
export function checkOffsets(value: unknown, name: string, total: number, nonEmpty: boolean): Int32Array {
  if (!(value instanceof Int32Array) && !Array.isArray(value)) {
    throw new FrugalError('E_DTYPE', `${name}: expected an Int32Array or number[] of B + 1 offsets, got ${describe(value)}`);
  }
  const v = value as ArrayLike<number>;
  if (v.length < 1 || v[0] !== 0) throw new FrugalError('E_SHAPE', `${name}: expected B + 1 offsets starting at 0, got ${describe(value)}`);
  for (let b = 1; b < v.length; b++) {
    const x = v[b];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < v[b - 1] || (nonEmpty && x === v[b - 1])) {
      throw new FrugalError('E_SHAPE', `${name}[${b}]: expected an integer ${nonEmpty ? '>' : '>='} ${v[b - 1]} (offsets must ${nonEmpty ? 'increase: every sample holds its prompt' : 'not decrease'}), got ${describe(x)}`);
    }
  }
  if (v[v.length - 1] !== total) {
    throw new FrugalError('E_SHAPE', `${name}: expected the last offset to be the ${total} rows of the packed tensor, got ${v[v.length - 1]}`);
  }
  return value instanceof Int32Array ? value : Int32Array.from(v);
}

