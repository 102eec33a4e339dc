// Calling into the addon: native errors become FrugalErrors with the caller's stack.
import { fromNative } from './errors';

/** Runs a synchronous native call, rethrowing its error as a FrugalError. */
export function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fromNative(err);
  }
}

/** Awaits an async native call (whose promise keeps its inputs alive), mapping errors. */
export async function callNativeAsync<T>(fn: () => Promise<T>): Promise<T> {
  let promise: Promise<T>;
  try {
    promise = fn();
  } catch (err) {
    throw fromNative(err);
  }
  try {
    return await promise;
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

/** Runs a prepared call on the calling thread. */
export function runSync<R>(p: Prepared<R>): R {
  callNative(() => p.run(false));
  return p.result();
}

/** Runs a prepared call on a worker thread; its inputs stay referenced until it settles. */
export async function runAsync<R>(p: Prepared<R>): Promise<R> {
  await callNativeAsync(() => p.run(true) as Promise<unknown>);
  return p.result();
}
