// Helpers shared by the ava tests: deterministic inputs, tolerance checks, fixtures.
import type { ExecutionContext } from 'ava';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isaLevels, setIsa } from '../lib';

/** n deterministic floats in [-scale, scale) from a 32-bit seed (a splitmix-style hash). */
export function seededFloats(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = scale * (((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1);
  }
  return out;
}

/** '' when |got − want| ≤ atol + rtol·|want| everywhere (and lengths match), else the first offending element. */
export function mismatch(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number): string {
  if (got.length !== want.length) return `length ${got.length} != ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= atol + rtol * Math.abs(want[i]))) return `element ${i}: got ${got[i]}, want ${want[i]}`;
  }
  return '';
}

/** Asserts {@link mismatch} finds nothing, naming `what` and the first offending element. */
export function assertClose(t: ExecutionContext, got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  const m = mismatch(got, want, atol, rtol);
  t.is(m, '', `${what}: ${m}`);
}

/** A JSON fixture from test/fixtures (the compiled tests run from dist/test). */
export function fixture<T>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'test', 'fixtures', name), 'utf8')) as T;
}

/** Writes `job` to dir/job.json and runs `frugal run` on it in a child process. */
export function runJobFile(dir: string, job: object): SpawnSyncReturns<string> {
  const file = path.join(dir, 'job.json');
  fs.writeFileSync(file, JSON.stringify(job));
  return spawnSync(process.execPath, [path.resolve(__dirname, '..', '..', 'bin', 'frugal.js'), 'run', file], { encoding: 'utf8' });
}

/** Runs fn at every ISA level the machine has (lowest first), then restores the highest. */
export function eachIsa(fn: (level: string) => void): void {
  const levels = isaLevels();
  try {
    for (const level of levels) {
      setIsa(level);
      fn(level);
    }
  } finally {
    setIsa(levels[levels.length - 1]);
  }
}
