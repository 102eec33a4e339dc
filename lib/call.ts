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
