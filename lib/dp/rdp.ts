// RDP accountant for the Poisson-subsampled Gaussian mechanism (DP-SGD), in double
// precision. RDP of one step at order α (Mironov, Talwar and Zhang 2019, "Rényi
// Differential Privacy of the Sampled Gaussian Mechanism"):
//   integer α:    A_α = Σ_{k=0..α} C(α,k) (1−q)^{α−k} q^k exp((k²−k)/(2σ²))
//   fractional α: A_α = E_{x~N(0,σ²)} [(1 − q + q e^{(2x−1)/(2σ²)})^α], by the trapezoid
//     rule (below); where its grid would be too fine (σ ≲ 0.04) by Mironov et al.'s two
//     series over i ≥ 0 with z₀ = σ² ln(1/q − 1) + ½,
//     A₀ = Σ C(α,i) q^i (1−q)^{α−i} e^{(i²−i)/(2σ²)} · ½ erfc((i − z₀)/(√2 σ))
//     A₁ = Σ C(α,i) q^{α−i} (1−q)^i e^{((α−i)²−(α−i))/(2σ²)} · ½ erfc((z₀ − (α−i))/(√2 σ))
//     (the series' terms fall only like i^{−α−1} once i ≫ z₀: at q = 0.5 thousands of
//     terms per order, which made noiseMultiplier take 6 s; the tests hold the two
//     evaluations to each other);
//   rdp_α = ln(A_α)/(α − 1), and q = 1 gives α/(2σ²).
// Every sum runs in log space (log-sum-exp with signs) or as A − 1, so nothing overflows
// and a tiny RDP keeps its relative precision.
// Composition over steps and phases adds rdp_α; the conversion to (ε, δ) is
// Balle et al. 2020: ε = min_α [rdp_α − (ln δ + ln α)/(α−1) + ln((α−1)/α)], and ε = 0
// at an order whose RDP r has δ² > 1 − e^{−r} (dp_accounting's KL bound: the KL
// divergence is at most r, the total variation at most √(1 − e^{−KL})
// (Bretagnolle–Huber), and TV ≤ δ is (0, δ)-DP).
//
// The often-quoted ε ≈ 3.01 for Abadi et al.'s MNIST setting (q = 256/60000,
// σ = 1.1, 60 epochs, δ = 1e-5) comes from the older conversion
// ε = rdp_α + ln(1/δ)/(α−1); with Balle et al.'s conversion Frugal gives 2.5967.
import { FrugalError, describe } from '../errors';
import { checkNumber, checkOptions, optionKeys } from '../validate';
import { checkCalibration, checkDelta, phasesOf, smallestSigma, type CalibrationOptions, type Phase, type PhaseOptions } from './phases';

/** Options of {@link epsilon}: one phase (`q`, `sigma`, `steps`) or a list of `phases`. */
export interface EpsilonOptions extends PhaseOptions {
  /** Target δ, in (0, 1). */
  delta: number;
  /** RDP orders α > 1 (default {@link DEFAULT_ORDERS}). */
  orders?: number[];
}

/** Options of {@link noiseMultiplier} (tol default 1e-6). */
export interface NoiseMultiplierOptions extends CalibrationOptions {
  /** RDP orders α > 1 (default {@link DEFAULT_ORDERS}). */
  orders?: number[];
}

const RDP_KEYS = optionKeys<Omit<EpsilonOptions, 'delta'>>({ q: true, sigma: true, steps: true, phases: true, orders: true });
const EPSILON_KEYS = optionKeys<EpsilonOptions>({ q: true, sigma: true, steps: true, phases: true, orders: true, delta: true });
const NOISE_MULTIPLIER_KEYS = optionKeys<NoiseMultiplierOptions>({ q: true, steps: true, targetEpsilon: true, delta: true, tol: true, orders: true });

/**
 * 1.1, 1.2, …, 10.9, then 11, 12, …, 63 and 128, 256, 512, 1024 (dp_accounting's list):
 * the large orders are where ε < 0.1 is found (with orders up to 63 ε could not fall
 * below 0.1029 at δ = 1e-5). Built as k/10 so 2, 3, … are exact integers.
 */
export const DEFAULT_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, k) => (11 + k) / 10),
  ...Array.from({ length: 53 }, (_, k) => 11 + k),
  128,
  256,
  512,
  1024,
]);

// ---- log-space arithmetic ----------------------------------------------------

/** ln(e^a + e^b). */
function logAdd(a: number, b: number): number {
  const hi = Math.max(a, b);
  if (hi === -Infinity) return -Infinity;
  return hi + Math.log1p(Math.exp(Math.min(a, b) - hi));
}

/** ln(e^a − e^b) for a ≥ b (a tiny negative difference from rounding gives −∞). */
function logSub(a: number, b: number): number {
  if (b === -Infinity) return a;
  if (b >= a) return -Infinity;
  return a + Math.log1p(-Math.exp(b - a));
}

const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);

/** ln erfc(x) for any real x, accurate to about 1e-14 relative. */
export function logErfc(x: number): number {
  if (x < 0) return Math.log(2 - Math.exp(logErfc(-x)));
  if (x < 3) {
    // erf(x) = 2/√π e^{−x²} Σ 2ⁿ x^{2n+1} / (1·3·…·(2n+1)): positive terms, no cancellation.
    let term = x;
    let sum = x;
    for (let n = 1; n < 200 && term > 1e-17 * sum; n++) {
      term *= (2 * x * x) / (2 * n + 1);
      sum += term;
    }
    const erf = (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
    return Math.log1p(-erf);
  }
  // erfc(x) = e^{−x²}/√π · 1/K, K = x + (1/2)/(x + 1/(x + (3/2)/(x + …))), evaluated from the tail.
  let k = x;
  for (let n = 120; n >= 1; n--) k = x + n / 2 / k;
  return -x * x - LOG_SQRT_PI - Math.log(k);
}

// ---- RDP of one step ---------------------------------------------------------

/** ln A_α for an integer α ≥ 2. */
function logAInt(q: number, sigma: number, alpha: number): number {
  const lq = Math.log(q);
  const l1q = Math.log1p(-q);
  let logCoef = 0; // ln C(α, k), updated as k grows
  let acc = -Infinity;
  for (let k = 0; k <= alpha; k++) {
    if (k > 0) logCoef += Math.log((alpha - k + 1) / k);
    acc = logAdd(acc, logCoef + (alpha - k) * l1q + k * lq + (k * k - k) / (2 * sigma * sigma));
  }
  return acc;
}

/** ln A_α for a fractional α > 1 by Mironov et al.'s two series, terms until they fall below e^−30 of the total. */
export function logAFracSeries(q: number, sigma: number, alpha: number): number {
  const lq = Math.log(q);
  const l1q = Math.log1p(-q);
  const s2 = sigma * sigma;
  const z0 = s2 * Math.log(1 / q - 1) + 0.5;
  const LOG_HALF = Math.log(0.5);
  let a0 = -Infinity;
  let a1 = -Infinity;
  let logCoef = 0; // ln |C(α, i)|
  let sign = 1; // sign of C(α, i)
  for (let i = 0; i < 100000; i++) {
    if (i > 0) {
      const ratio = (alpha - i + 1) / i;
      if (ratio < 0) sign = -sign;
      logCoef += Math.log(Math.abs(ratio));
    }
    const j = alpha - i;
    const s0 = logCoef + i * lq + j * l1q + (i * i - i) / (2 * s2) + LOG_HALF + logErfc((i - z0) / (Math.SQRT2 * sigma));
    const s1 = logCoef + j * lq + i * l1q + (j * j - j) / (2 * s2) + LOG_HALF + logErfc((z0 - j) / (Math.SQRT2 * sigma));
    if (sign > 0) {
      a0 = logAdd(a0, s0);
      a1 = logAdd(a1, s1);
    } else {
      a0 = logSub(a0, s0);
      a1 = logSub(a1, s1);
    }
    // A total past double range means ε = ∞: answer now (σ = 1e-160 ran 100000 terms per order).
    if (a0 === Infinity || a1 === Infinity) return Infinity;
    if (Math.max(s0, s1) < Math.max(a0, a1, 0) - 30) break;
  }
  return logAdd(a0, a1);
}

/** The most points {@link logAFracIntegral} takes (σ below about 0.04 needs more: the series then). */
const MAX_INTEGRAL_POINTS = 20000;

/**
 * ln A_α for a fractional α > 1 as E_{x~N(0,σ²)}[(1 − q + q e^u)^α], u = (2x − 1)/(2σ²), by
 * the trapezoid rule on [−14σ, α + 14σ] (the integrand's two bumps sit at 0 and α, width
 * σ; beyond, it is below e^−98 of its peak). The integrand is analytic in a strip of
 * half-width πσ² around the real axis (the nearest zeros of 1 − q + q e^u are at
 * Im u = ±π) and of Gaussian decay, so the rule's error falls like e^{−2π·πσ²/h} and
 * e^{−2π²σ²/h²}: with h = min(0.4σ², 0.5σ), both below e^−49. Computed as A − 1 (so a
 * tiny RDP keeps its relative precision) unless A is large, then in log space.
 * @returns undefined when the grid would exceed {@link MAX_INTEGRAL_POINTS} points.
 */
export function logAFracIntegral(q: number, sigma: number, alpha: number): number | undefined {
  const s2 = sigma * sigma;
  const h = Math.min(0.4 * s2, 0.5 * sigma);
  const lo = -14 * sigma;
  const n = Math.ceil((alpha + 28 * sigma) / h);
  if (!(n <= MAX_INTEGRAL_POINTS)) return undefined;
  const logQ = Math.log(q);
  const logWeight = Math.log(h / (sigma * Math.sqrt(2 * Math.PI))); // h·φ(x) = e^{logWeight − x²/(2σ²)}
  const logTerm = new Float64Array(n + 1); // ln of h φ(x) (1 − q + q e^u)^α
  const power = new Float64Array(n + 1); // α ln(1 − q + q e^u)
  let peak = -Infinity;
  for (let i = 0; i <= n; i++) {
    const x = lo + i * h;
    const u = (2 * x - 1) / (2 * s2);
    const loss = u > 30 ? u + logQ + Math.log1p(((1 - q) / q) * Math.exp(-u)) : Math.log1p(q * Math.expm1(u));
    power[i] = alpha * loss;
    logTerm[i] = logWeight - (x * x) / (2 * s2) + power[i];
    peak = Math.max(peak, logTerm[i]);
  }
  if (peak > -1) {
    // A ≳ e^−1·(a few): no cancellation to fear; log-sum-exp.
    let sum = 0;
    for (let i = 0; i <= n; i++) sum += Math.exp(logTerm[i] - peak);
    return peak + Math.log(sum);
  }
  // A − 1 = E[(1 + w)^α − 1] with w = q(e^u − 1); E[w] = q(E[e^u] − 1) = 0 exactly, so
  // A − 1 = E[(1 + w)^α − 1 − αw], whose terms are O(w²) and barely cancel: a tiny A − 1
  // keeps its relative precision (the weights h φ sum to 1, and h φ w to 0, within e^−49).
  let excess = 0;
  for (let i = 0; i <= n; i++) {
    const logWeight = logTerm[i] - power[i];
    const loss = power[i] / alpha; // ln(1 + w)
    if (power[i] > 50) {
      // (1 + w)^α dwarfs 1 + αw; in logs, as w may overflow (ln w ≈ ln(1 + w) once that passes 30).
      const logW = loss > 30 ? loss : Math.log(Math.expm1(loss));
      excess += Math.exp(logTerm[i]) - Math.exp(logWeight) - alpha * Math.exp(logWeight + logW);
      continue;
    }
    const w = Math.expm1(loss);
    excess += Math.exp(logWeight) * (Math.abs(w) < 0.1 ? powerExcess(w, alpha) : Math.expm1(power[i]) - alpha * w);
  }
  return Math.log1p(excess);
}

/** (1 + w)^α − 1 − αw for |w| < 0.1, by its binomial series Σ_{k≥2} C(α, k) w^k (no cancellation). */
function powerExcess(w: number, alpha: number): number {
  let term = (alpha * (alpha - 1) * w * w) / 2;
  let sum = term;
  for (let k = 2; k < 60 && Math.abs(term) > 1e-18 * Math.abs(sum); k++) {
    term *= ((alpha - k) * w) / (k + 1);
    sum += term;
  }
  return sum;
}

/** RDP at order α of one step of the sampled Gaussian mechanism. */
function rdpOneStep(q: number, sigma: number, alpha: number): number {
  // σ² that underflows (σ < 1.5e-154 or so) or whose 1/(2σ²) overflows: no privacy at all.
  if (!(1 / (2 * sigma * sigma) < Infinity)) return Infinity;
  if (q === 1) return alpha / (2 * sigma * sigma);
  const logA = Number.isInteger(alpha)
    ? logAInt(q, sigma, alpha)
    : (logAFracIntegral(q, sigma, alpha) ?? logAFracSeries(q, sigma, alpha));
  return logA / (alpha - 1);
}

// ---- checks ------------------------------------------------------------------

function checkOrders(orders: unknown, name: string): readonly number[] {
  if (orders === undefined) return DEFAULT_ORDERS;
  if (!Array.isArray(orders) || orders.length === 0) {
    throw new FrugalError('E_CONFIG', `${name}: expected a non-empty array of orders > 1, got ${describe(orders)}`);
  }
  orders.forEach((a, i) => checkNumber(a, `${name}[${i}]`, { min: 1, max: 1e6, open: true }));
  return orders;
}

// ---- public API --------------------------------------------------------------

/**
 * RDP of the composed mechanism at each order: Σ over phases of steps · rdp_α(q, σ).
 * @returns one value per order, in the order given.
 */
export function rdp(opts: PhaseOptions & { orders?: number[] }): number[] {
  const o = checkOptions<EpsilonOptions>(opts, 'options', RDP_KEYS);
  const orders = checkOrders(o.orders, 'options.orders');
  return composedRdp(phasesOf(o, 'options'), orders);
}

function composedRdp(phases: Phase[], orders: readonly number[]): number[] {
  return orders.map((alpha) => phases.reduce((acc, p) => (p.steps === 0 ? acc : acc + p.steps * rdpOneStep(p.q, p.sigma, alpha)), 0));
}

/**
 * ε at δ from RDP values (Balle et al. 2020, and the KL bound for tiny RDP), with the
 * order that attains it. For checked inputs only (PrivacyEngine and this file).
 */
export function rdpToEpsilon(rdpValues: readonly number[], orders: readonly number[], delta: number): { epsilon: number; order: number } {
  let best = Infinity;
  let order = orders[0];
  for (let i = 0; i < orders.length; i++) {
    const a = orders[i];
    const r = rdpValues[i];
    const eps = delta * delta + Math.expm1(-r) > 0 ? 0 : r - (Math.log(delta) + Math.log(a)) / (a - 1) + Math.log((a - 1) / a);
    if (eps < best) {
      best = eps;
      order = a;
    }
  }
  return { epsilon: Math.max(0, best), order };
}

/**
 * ε of DP-SGD with Poisson sampling (remove/add adjacency): RDP accountant of the sampled
 * Gaussian mechanism, Balle et al. 2020 conversion. For Abadi et al.'s MNIST setting
 * (q = 256/60000, σ = 1.1, 14063 steps, δ = 1e-5) this gives 2.5967; the often-quoted
 * 3.01 comes from the older conversion ε = rdp_α + ln(1/δ)/(α−1). The PLD accountant
 * (`dp.pld.epsilon`) is tighter.
 * @throws FrugalError E_DTYPE / E_RANGE (a bad q, σ, steps, δ or order), E_CONFIG (phases and q/σ/steps both, or `phases: []`).
 * @example dp.rdp.epsilon({ q: 0.01, sigma: 1.1, steps: 1000, delta: 1e-5 })
 * @example dp.rdp.epsilon({ phases: [{ q: 0.01, sigma: 1, steps: 500 }, { q: 0.02, sigma: 2, steps: 100 }], delta: 1e-5 })
 */
export function epsilon(opts: EpsilonOptions): { epsilon: number; order: number } {
  const o = checkOptions<EpsilonOptions>(opts, 'options', EPSILON_KEYS);
  const delta = checkDelta(o.delta, 'options.delta');
  const orders = checkOrders(o.orders, 'options.orders');
  const phases = phasesOf(o, 'options');
  // No step has run: nothing was released (the conversion alone would report a small ε).
  if (phases.every((p) => p.steps === 0)) return { epsilon: 0, order: orders[0] };
  return rdpToEpsilon(composedRdp(phases, orders), orders, delta);
}

/**
 * The smallest noise multiplier σ (within `tol`) whose RDP ε after `steps` steps at rate
 * `q` is at most `targetEpsilon`, by bisection (tens of ms at any q).
 * @throws FrugalError E_RANGE when no σ ≤ 1e4 reaches it, and for bad inputs as {@link epsilon}.
 */
export function noiseMultiplier(opts: NoiseMultiplierOptions): number {
  const o = checkOptions<NoiseMultiplierOptions>(opts, 'options', NOISE_MULTIPLIER_KEYS);
  const { q, steps, targetEpsilon: target, delta, tol } = checkCalibration(o, 1e-6);
  const orders = checkOrders(o.orders, 'options.orders');
  const eps = (sigma: number) => rdpToEpsilon(composedRdp([{ q, sigma, steps }], orders), orders, delta).epsilon;
  return smallestSigma(eps, target, tol, `q = ${q}, steps = ${steps}, δ = ${delta} (RDP)`);
}
