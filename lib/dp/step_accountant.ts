// ε after n equal DP-SGD steps, for PrivacyEngine, by either accountant. RDP composes by
// multiplying one step's RDP (microseconds); PLD composes n steps by FFT (tens of ms),
// so its values are cached per step count and the budget is turned once into the
// largest step count it allows.
import { FrugalError } from '../errors';
import { epsilon as pldEpsilon } from './pld';
import { DEFAULT_ORDERS, rdp, rdpToEpsilon } from './rdp';

/** Which accountant tracks ε: 'rdp' (Rényi DP, Balle et al. 2020 conversion) or 'pld' (privacy loss distribution, tighter). */
export type AccountantName = 'rdp' | 'pld';

/** ε of n steps of one (q, σ, δ). */
export interface StepAccountant {
  epsilonAfter(steps: number): number;
  /** Whether ε after `steps` steps is at most `budget`. */
  within(steps: number, budget: number): boolean;
}

function rdpAccountant(q: number, sigma: number, delta: number): StepAccountant {
  // Every step is the same mechanism: its RDP per order, once; composition multiplies.
  const perStep = rdp({ q, sigma, steps: 1, orders: [...DEFAULT_ORDERS] });
  const epsilonAfter = (steps: number) =>
    steps === 0 ? 0 : rdpToEpsilon(perStep.map((r) => steps * r), DEFAULT_ORDERS, delta).epsilon;
  // A NaN ε (σ so small that the accountant's terms overflow) is refused like an exhausted budget.
  return { epsilonAfter, within: (steps, budget) => epsilonAfter(steps) <= budget };
}

function pldAccountant(q: number, sigma: number, delta: number): StepAccountant {
  const cache = new Map<number, number>();
  const epsilonAfter = (steps: number): number => {
    let eps = cache.get(steps);
    if (eps === undefined) {
      try {
        eps = pldEpsilon({ q, sigma, steps, delta }).epsilon;
      } catch (err) {
        // So many steps that the composed loss outgrows the grid: ε is beyond any budget.
        if (!(err instanceof FrugalError && err.code === 'E_RANGE')) throw err;
        eps = Infinity;
      }
      cache.set(steps, eps);
    }
    return eps;
  };
  const allowed = new Map<number, number>(); // budget → the most steps it allows
  const maxSteps = (budget: number): number => {
    let n = allowed.get(budget);
    if (n !== undefined) return n;
    // ε grows with the step count: gallop to a bracket, then bisect (about 2·log₂ n compositions, once).
    let lo = 0;
    let hi = 1;
    while (epsilonAfter(hi) <= budget && hi < Number.MAX_SAFE_INTEGER / 2) {
      lo = hi;
      hi *= 2;
    }
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (epsilonAfter(mid) <= budget) lo = mid;
      else hi = mid;
    }
    n = lo;
    allowed.set(budget, n);
    return n;
  };
  return { epsilonAfter, within: (steps, budget) => budget === Infinity || steps <= maxSteps(budget) };
}

/** The accountant `name` for steps of rate q, noise σ (0: no privacy, ε = ∞) and δ. */
export function stepAccountant(name: AccountantName, q: number, sigma: number, delta: number): StepAccountant {
  if (sigma === 0) return { epsilonAfter: (steps) => (steps === 0 ? 0 : Infinity), within: (steps, budget) => steps === 0 || budget === Infinity };
  return name === 'rdp' ? rdpAccountant(q, sigma, delta) : pldAccountant(q, sigma, delta);
}
