/**
 * Stable error codes carried by every {@link FrugalError}. E_ABORTED: an async
 * call stopped through its AbortSignal (its outputs may be partly written).
 */
export type ErrorCode = 'E_SHAPE' | 'E_DTYPE' | 'E_RANGE' | 'E_DEVICE' | 'E_CONFIG' | 'E_NATIVE' | 'E_ABORTED';

const CODES: ReadonlySet<string> = new Set(['E_SHAPE', 'E_DTYPE', 'E_RANGE', 'E_DEVICE', 'E_CONFIG', 'E_NATIVE', 'E_ABORTED']);

/**
 * The one error type Frugal throws. `code` is stable across versions; the message
 * names the argument, what was expected and what was received.
 */
export class FrugalError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'FrugalError';
    this.code = code;
    // Keep the caller's frame on top rather than Frugal's internals.
    Error.captureStackTrace?.(this, FrugalError);
  }
}

/** Turns an error thrown by the native addon (a plain Error with `.code`) into a FrugalError. */
export function fromNative(err: unknown): FrugalError {
  if (err instanceof FrugalError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' && CODES.has(e.code) ? (e.code as ErrorCode) : 'E_NATIVE';
  return new FrugalError(code, String(e?.message ?? err));
}

/** Describes a received value briefly for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as unknown as ArrayLike<number>).length}`;
  if (typeof value === 'function') return 'a function';
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}
