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
      loaded = require(file);
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
