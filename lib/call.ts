// Calling into the addon: every op is one preparation function (all checks, then
// a prepared native call) turned by defineOp into its sync and async forms.
// Native errors become FrugalErrors whose stack starts at the caller's line.
import { fromNative, type FrugalError } from './errors';

/** Runs a synchronous native call, rethrowing its error as a FrugalError. */
export function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fromNative(err);
  }
}

/**
 * A native call prepared by an op after all its checks: `run(async)` starts it
 * (returning a promise when async), `result()` builds the answer once it is done.
 * Ops build one per call so the sync and async forms share every check.
 */
export interface Prepared<R> {
  run(async: boolean): unknown;
  result(): R;
}

/** The two forms {@link defineOp} makes of one preparation function. */
export interface Op<A extends unknown[], R> {
  /** Checks, then runs the native call on the calling thread. */
  sync: (...args: A) => R;
  /** Checks, then runs the native call on a worker thread (inputs stay referenced until it settles); rejects on any error. */
  async: (...args: A) => Promise<R>;
}

// The captured caller's frames under the error's own message line.
function withCallerStack(err: FrugalError, caller: { stack?: string }): FrugalError {
  const frames = caller.stack ?? '';
  const at = frames.indexOf('\n');
  err.stack = `${err.name}: ${err.message}${at < 0 ? '' : frames.slice(at)}`;
  return err;
}

/**
 * Makes an op's sync form `name` and async form `nameAsync` from one preparation
 * function. A native failure is a FrugalError whose stack starts at the line that
 * called the op, in both forms (the async form captures it before the call).
 */
export function defineOp<A extends unknown[], R>(name: string, prepare: (...args: A) => Prepared<R>): Op<A, R> {
  const sync = (...args: A): R => {
    const p = prepare(...args);
    try {
      p.run(false);
    } catch (err) {
      const e = fromNative(err);
      Error.captureStackTrace?.(e, sync);
      throw e;
    }
    return p.result();
  };
  const async = (...args: A): Promise<R> => {
    // Captured now, while the caller's frames are on the stack (they are gone when the worker settles).
    const caller: { stack?: string } = {};
    if (Error.captureStackTrace) Error.captureStackTrace(caller, async);
    else caller.stack = new Error().stack;
    let p: Prepared<R>;
    let running: unknown;
    try {
      p = prepare(...args);
    } catch (err) {
      return Promise.reject(err);
    }
    try {
      running = p.run(true);
    } catch (err) {
      return Promise.reject(withCallerStack(fromNative(err), caller));
    }
    return Promise.resolve(running).then(
      () => p.result(),
      (err: unknown) => {
        throw withCallerStack(fromNative(err), caller);
      },
    );
  };
  Object.defineProperty(sync, 'name', { value: name });
  Object.defineProperty(async, 'name', { value: `${name}Async` });
  return { sync, async };
}
