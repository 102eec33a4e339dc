// Calling into the addon: every op is one preparation function (all checks, then
// a prepared native call) turned by defineOp into its sync and async forms.
// Native errors become FrugalErrors whose stack starts at the caller's line.
import { native } from './binding';
import { FrugalError, describe, fromNative } from './errors';
import { checkOptions, optionKeys } from './validate';

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

/** The last, optional argument of every async form (after all the op's own arguments). */
export interface AsyncOptions {
  /**
   * Aborting it stops a CPU call between its pool tasks (a call not yet started
   * does not start) and rejects the promise with E_ABORTED; the outputs may then
   * be partly written. A CUDA kernel already launched runs to its end.
   */
  signal?: AbortSignal;
}

/** The two forms {@link defineOp} makes of one preparation function. */
export interface Op<A extends unknown[], R> {
  /** Checks, then runs the native call on the calling thread. */
  sync: (...args: A) => R;
  /**
   * Checks, then runs the native call on a worker thread (inputs stay referenced
   * until it settles); rejects on any error. A last argument after all of the
   * op's own (`undefined` for the ones skipped) gives {@link AsyncOptions}.
   */
  async: (...args: [...A, AsyncOptions?]) => Promise<R>;
}

interface CancelNative {
  cancelToken(): unknown;
  cancel(token: unknown): void;
  armCancel(token: unknown): void;
}

const ASYNC_KEYS = optionKeys<AsyncOptions>({ signal: true });

function checkSignal(options: unknown, name: string): AbortSignal | undefined {
  const { signal } = checkOptions<AsyncOptions>(options, name, ASYNC_KEYS);
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new FrugalError('E_DTYPE', `${name}.signal: expected an AbortSignal, got ${describe(signal)}`);
  }
  return signal;
}

function aborted(name: string): FrugalError {
  return new FrugalError('E_ABORTED', `${name}: aborted by its AbortSignal before it started`);
}

// p.run(true) with the native calls it starts holding one cancel flag, set when the signal aborts.
function runCancellable(run: () => unknown, signal: AbortSignal): Promise<unknown> {
  const nat = native<CancelNative>();
  const token = nat.cancelToken();
  nat.armCancel(token);
  let running: unknown;
  try {
    running = run();
  } finally {
    nat.armCancel(null);
  }
  const onAbort = () => nat.cancel(token);
  signal.addEventListener('abort', onAbort, { once: true });
  const done = () => signal.removeEventListener('abort', onAbort);
  return Promise.resolve(running).finally(done);
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
  const arity = prepare.length;
  const async = (...all: [...A, AsyncOptions?]): Promise<R> => {
    // Captured now, while the caller's frames are on the stack (they are gone when the worker settles).
    const caller: { stack?: string } = {};
    if (Error.captureStackTrace) Error.captureStackTrace(caller, async);
    else caller.stack = new Error().stack;
    let p: Prepared<R>;
    let running: unknown;
    let signal: AbortSignal | undefined;
    try {
      signal = all.length > arity ? checkSignal(all[arity], `${name}Async: argument ${arity + 1} (async options)`) : undefined;
      p = prepare(...((all.length > arity ? all.slice(0, arity) : all) as A));
      if (signal?.aborted) throw aborted(`${name}Async`);
    } catch (err) {
      return Promise.reject(err);
    }
    try {
      running = signal ? runCancellable(() => p.run(true), signal) : p.run(true);
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
