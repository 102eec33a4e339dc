// Loads the native addon once, on first use, and explains what to do when it cannot.
import * as path from 'node:path';
import { FrugalError } from './errors';

const ROOT = path.resolve(__dirname, '..', '..');

/** Where the addon is looked for, in order: $FRUGAL_ADDON, the cmake-js build, the node-gyp build. */
export function addonCandidates(): string[] {
  const list = [path.join(ROOT, 'build-cmake', 'Release', 'frugal.node'), path.join(ROOT, 'build', 'Release', 'frugal.node')];
  return process.env.FRUGAL_ADDON ? [path.resolve(process.env.FRUGAL_ADDON)] : list;
}

let loaded: unknown;
let loadError: FrugalError | undefined;

type NativeFn = ((...args: unknown[]) => unknown) & { argumentKeys?: () => string[] | undefined };

// `(args) => fn(tag, args[k0], args[k1], …)` for the keys in the order the op reads them.
function packer(fn: NativeFn, tag: unknown, keys: string[]): (args: Record<string, unknown>) => unknown {
  const reads = keys.map((k) => `a[${JSON.stringify(k)}]`).join(', ');
  try {
    return new Function('fn', 'tag', `return (a) => fn(tag, ${reads});`)(fn, tag) as (args: Record<string, unknown>) => unknown;
  } catch {
    // Code generation disabled (--disallow-code-generation-from-strings): the same call through an array.
    return (a) => fn(tag, ...keys.map((k) => a[k]));
  }
}

// Reading an arguments object key by key through the JS engine costs the addon
// more than the rest of a small call's glue, so an op goes by name (checking its
// keys, see native/addon/common.h) only until one call passes; after that the
// addon knows the order it reads the keys in, and this sends the values in that
// order. Anything but one plain object goes to the addon as it came, to be refused.
function positional(fn: NativeFn, tag: unknown): NativeFn {
  let call = (args: Record<string, unknown>): unknown => {
    const result = fn(args);
    const keys = fn.argumentKeys?.();
    if (keys) call = packer(fn, tag, keys);
    return result;
  };
  return function (this: unknown, args?: unknown): unknown {
    if (arguments.length !== 1 || typeof args !== 'object' || args === null || Array.isArray(args)) {
      return fn(...(arguments as unknown as unknown[]));
    }
    return call(args as Record<string, unknown>);
  };
}

function wrap(addon: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(addon)) {
    if (name === 'positionalTag') continue;
    const fn = value as NativeFn;
    out[name] = typeof fn === 'function' && typeof fn.argumentKeys === 'function' ? positional(fn, addon.positionalTag) : value;
  }
  return out;
}

/**
 * The native addon, typed by the caller as the slice of functions its module
 * uses (each op module declares its own interface). Throws E_NATIVE with the
 * reason and the command to run when the addon is missing or broken.
 * @throws FrugalError E_NATIVE (the addon cannot be loaded).
 */
export function native<T>(): T {
  if (loaded) return loaded as T;
  if (loadError) throw loadError;
  const reasons: string[] = [];
  for (const file of addonCandidates()) {
    try {
      loaded = wrap(require(file) as Record<string, unknown>);
      return loaded as T;
    } catch (err) {
      reasons.push(`${file}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  loadError = new FrugalError(
    'E_NATIVE',
    `the Frugal native addon could not be loaded (${reasons.join('; ')}). ` +
      'Build it with `npm run build:native` (or `npm install`), or point FRUGAL_ADDON at a frugal.node.',
  );
  throw loadError;
}
