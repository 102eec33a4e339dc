// What both accountants (rdp.ts, pld.ts) take: DP-SGD phases of (q, σ, steps), δ, and
// the bisection that calibrates σ to a target ε. Checked here once for both.
import { FrugalError, describe } from '../errors';
import { checkInt, checkNumber, checkOptions, optionKeys } from '../validate';

/** One phase of training: `steps` steps at sampling rate `q` and noise multiplier `sigma`. */
export interface Phase {
  /** Poisson sampling rate, in (0, 1]. */
  q: number;
  /** Noise multiplier σ (noise std / clipping norm), > 0. */
  sigma: number;
  /** Number of steps, a non-negative integer. */
  steps: number;
}

/** One phase (`q`, `sigma`, `steps`) or a list of `phases`, as both accountants take them. */
export interface PhaseOptions extends Partial<Phase> {
  /** Phases composed one after the other (instead of `q`, `sigma`, `steps`); at least one. */
  phases?: Phase[];
}

const PHASE_KEYS = optionKeys<Phase>({ q: true, sigma: true, steps: true });

/**
 * A sampling rate in (0, 1].
 * @throws FrugalError E_DTYPE (not a number), E_RANGE (NaN, ≤ 0 or > 1).
 */
export function checkQ(q: unknown, name: string): number {
  if (typeof q !== 'number') throw new FrugalError('E_DTYPE', `${name}: expected a number, got ${describe(q)}`);
  if (!(q > 0 && q <= 1)) throw new FrugalError('E_RANGE', `${name}: expected a finite number in (0, 1], got ${describe(q)}`);
  return q;
}

/** A δ in (0, 1). */
export function checkDelta(delta: unknown, name: string): number {
  return checkNumber(delta, name, { min: 0, max: 1, open: true });
}

function checkPhase(p: unknown, name: string): Phase {
  const o = checkOptions<Phase>(p, name, PHASE_KEYS);
  return {
    q: checkQ(o.q, `${name}.q`),
    sigma: checkNumber(o.sigma, `${name}.sigma`, { min: 0, max: Infinity, open: true }),
    steps: checkInt(o.steps, `${name}.steps`, 0, Number.MAX_SAFE_INTEGER),
  };
}

/** The checked phases of `opts` (`name` is the options' name in messages). */
export function phasesOf(opts: PhaseOptions, name: string): Phase[] {
  if (opts.phases !== undefined) {
    if (opts.q !== undefined || opts.sigma !== undefined || opts.steps !== undefined) {
      throw new FrugalError('E_CONFIG', `${name}: give either phases or q/sigma/steps, not both`);
    }
    if (!Array.isArray(opts.phases) || opts.phases.length === 0) {
      throw new FrugalError('E_CONFIG', `${name}.phases: expected a non-empty array of { q, sigma, steps }, got ${describe(opts.phases)}`);
    }
    return opts.phases.map((p, i) => checkPhase(p, `${name}.phases[${i}]`));
  }
  return [checkPhase({ q: opts.q, sigma: opts.sigma, steps: opts.steps }, name)];
}

/** What both accountants' noiseMultiplier take (each adds its own options). */
export interface CalibrationOptions {
  /** Poisson sampling rate, in (0, 1]. */
  q: number;
  /** Number of steps, a positive integer. */
  steps: number;
  /** The ε to reach, > 0. */
  targetEpsilon: number;
  /** Target δ, in (0, 1). */
  delta: number;
  /** Absolute tolerance on σ of the bisection (each accountant's default); below σ's own spacing the result is exact to the last bit. */
  tol?: number;
}

/** The checked {@link CalibrationOptions} of already-checked options `o`, `tol` defaulting to `defaultTol`. */
export function checkCalibration(o: Partial<CalibrationOptions>, defaultTol: number): Required<CalibrationOptions> {
  return {
    q: checkQ(o.q, 'options.q'),
    steps: checkInt(o.steps, 'options.steps', 1, Number.MAX_SAFE_INTEGER),
    targetEpsilon: checkNumber(o.targetEpsilon, 'options.targetEpsilon', { min: 0, max: Infinity, open: true }),
    delta: checkDelta(o.delta, 'options.delta'),
    tol: o.tol === undefined ? defaultTol : checkNumber(o.tol, 'options.tol', { min: 0, max: 1, open: true }),
  };
}

/** The largest σ {@link smallestSigma} tries. */
export const MAX_SIGMA = 1e4;

/**
 * The smallest σ (within `tol`) with `epsilonAt(σ) ≤ target`, by bisection; ε must fall
 * as σ grows. The bracket grows or shrinks by halves from `start` (a good guess saves
 * the costly evaluations at small σ). Throws E_RANGE naming `what` when no σ ≤
 * {@link MAX_SIGMA} reaches it.
 */
export function smallestSigma(epsilonAt: (sigma: number) => number, target: number, tol: number, what: string, start = 1): number {
  let hi = start;
  while (!(epsilonAt(hi) <= target)) {
    hi *= 2;
    if (hi > MAX_SIGMA) throw new FrugalError('E_RANGE', `options.targetEpsilon: ${target} is not reachable with σ ≤ ${MAX_SIGMA} for ${what}`);
  }
  let lo = hi / 2;
  while (lo > 1e-3 && epsilonAt(lo) <= target) {
    hi = lo;
    lo /= 2;
  }
  // Stops at tol, or once lo and hi are adjacent doubles (a tol below σ's ulp would
  // otherwise loop forever): at most about 60 halvings from an interval within (0, 1e4].
  while (hi - lo > tol) {
    const mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (epsilonAt(mid) <= target) hi = mid;
    else lo = mid;
  }
  return hi;
}
