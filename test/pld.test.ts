// The PLD accountant against test/fixtures/pld_reference.json (Google's dp_accounting PLD
// at the same discretisation 1e-4, within 1%; never below Microsoft's PRV accountant's
// lower bound), monotonicity, phases, ε/δ consistency, the σ search, PrivacyEngine with
// either accountant, the RDP changes (new orders, KL bound, fractional orders by
// integral against the series) and bad inputs.
import test from 'ava';
import { FrugalError, PrivacyEngine, Tensor, dp } from '../lib';
import { logAFracIntegral, logAFracSeries } from '../lib/dp/rdp';
import { fixture } from './helpers';

interface Case { q: number; sigma: number; steps: number; delta: number; pld_epsilon: number; prv_lower: number | null; prv_upper: number | null }
interface DeltaCase { q: number; sigma: number; steps: number; epsilon: number; pld_delta: number }
interface NoiseCase { q: number; steps: number; target_epsilon: number; delta: number; sigma: number; discretization: number }
interface Reference {
  cases: Case[];
  delta_cases: DeltaCase[];
  noise_cases: NoiseCase[];
  phases_case: { phases: Array<{ q: number; sigma: number; steps: number }>; delta: number; pld_epsilon: number };
}
const ref = fixture<Reference>('pld_reference.json');
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

test('epsilon is within 1% of dp_accounting and never below the PRV lower bound', (t) => {
  t.true(ref.cases.length >= 40);
  for (const c of ref.cases) {
    const { epsilon } = dp.pld.epsilon({ q: c.q, sigma: c.sigma, steps: c.steps, delta: c.delta });
    const where = `q=${c.q} σ=${c.sigma} steps=${c.steps} δ=${c.delta}: ${epsilon} vs dp_accounting ${c.pld_epsilon}`;
    t.true(rel(epsilon, c.pld_epsilon) < 0.01, where);
    if (c.prv_lower !== null) t.true(epsilon >= c.prv_lower, `${where}, PRV lower ${c.prv_lower}`);
  }
});

test('delta is within 1% of dp_accounting; delta(epsilon(δ)) = δ', (t) => {
  for (const c of ref.delta_cases) {
    const { delta } = dp.pld.delta({ q: c.q, sigma: c.sigma, steps: c.steps, epsilon: c.epsilon });
    t.true(rel(delta, c.pld_delta) < 0.01, `q=${c.q} σ=${c.sigma} steps=${c.steps} ε=${c.epsilon}: ${delta} vs ${c.pld_delta}`);
  }
  const opts = { q: 0.01, sigma: 1, steps: 1000 };
  const { epsilon } = dp.pld.epsilon({ ...opts, delta: 1e-5 });
  t.true(rel(dp.pld.delta({ ...opts, epsilon }).delta, 1e-5) < 1e-6);
});

test('phases compose like dp_accounting; equal phases equal one run', (t) => {
  const p = ref.phases_case;
  t.true(rel(dp.pld.epsilon({ phases: p.phases, delta: p.delta }).epsilon, p.pld_epsilon) < 0.01);
  const one = dp.pld.epsilon({ q: 0.02, sigma: 1.2, steps: 1000, delta: 1e-6 }).epsilon;
  const split = dp.pld.epsilon({ phases: [{ q: 0.02, sigma: 1.2, steps: 300 }, { q: 0.02, sigma: 1.2, steps: 0 }, { q: 0.02, sigma: 1.2, steps: 700 }], delta: 1e-6 }).epsilon;
  t.true(rel(split, one) < 1e-9, `${split} vs ${one}`);
  t.is(dp.pld.epsilon({ q: 0.3, sigma: 1, steps: 0, delta: 1e-5 }).epsilon, 0);
});

test('epsilon falls with σ and grows with steps and q', (t) => {
  const base = { q: 0.01, sigma: 1, steps: 500, delta: 1e-5 };
  const chain = (key: 'q' | 'sigma' | 'steps', values: number[]) => values.map((v) => dp.pld.epsilon({ ...base, [key]: v }).epsilon);
  const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]);
  t.true(increasing(chain('sigma', [4, 2, 1.5, 1, 0.8, 0.6])), 'σ');
  t.true(increasing(chain('steps', [1, 10, 100, 1000, 5000])), 'steps');
  t.true(increasing(chain('q', [1e-4, 1e-3, 0.01, 0.1, 0.3])), 'q');
});

test('PLD is tighter than RDP and removes the floor', (t) => {
  const abadi = { q: 256 / 60000, sigma: 1.1, steps: 14063, delta: 1e-5 };
  const pld = dp.pld.epsilon(abadi).epsilon;
  const rdp = dp.rdp.epsilon(abadi).epsilon;
  t.true(pld < 0.95 * rdp && pld > 0.85 * rdp, `PLD ${pld} vs RDP ${rdp}`);
});

test('noiseMultiplier matches dp_accounting calibration and reaches the target', (t) => {
  for (const c of ref.noise_cases) {
    const opts = { q: c.q, steps: c.steps, targetEpsilon: c.target_epsilon, delta: c.delta, discretization: c.discretization };
    const sigma = dp.pld.noiseMultiplier(opts);
    t.true(rel(sigma, c.sigma) < 0.01, `q=${c.q} steps=${c.steps} ε=${c.target_epsilon}: σ ${sigma} vs ${c.sigma}`);
    const reached = dp.pld.epsilon({ q: c.q, sigma, steps: c.steps, delta: c.delta, discretization: c.discretization }).epsilon;
    t.true(reached <= c.target_epsilon, `${reached}`);
  }
});

test('RDP: new orders lift the ε floor, the KL bound gives 0 for tiny RDP, Abadi stays 2.5967', (t) => {
  t.true(dp.rdp.DEFAULT_ORDERS.includes(11) && dp.rdp.DEFAULT_ORDERS.includes(1024));
  const small = dp.rdp.epsilon({ q: 0.01, sigma: 12, steps: 1000, delta: 1e-5 });
  t.true(small.epsilon < 0.1 && small.order >= 128, `${small.epsilon} at order ${small.order}`);
  const sigma = dp.rdp.noiseMultiplier({ q: 0.01, steps: 1000, targetEpsilon: 0.1, delta: 1e-5 });
  t.true(Math.abs(sigma - 10.83) < 0.01, `${sigma}`);
  // RDP ≈ 2e-12 < δ² = 1e-10: total variation below δ, so (0, δ)-DP.
  t.is(dp.rdp.epsilon({ q: 1e-4, sigma: 50, steps: 1, delta: 1e-5 }).epsilon, 0);
  t.is(Math.round(dp.rdp.epsilon({ q: 256 / 60000, sigma: 1.1, steps: 14063, delta: 1e-5 }).epsilon * 1e4) / 1e4, 2.5967);
});

test('RDP fractional orders: the integral matches 60-digit quadrature and agrees with the series', (t) => {
  // The series is the less accurate of the two: its log-space alternating sums keep ln A to
  // ~1e-16 absolute, so a tiny ln A (small q, large σ) loses relative digits.
  for (const c of fixture<{ cases: Array<{ q: number; sigma: number; alpha: number; log_a: number }> }>('rdp_frac.json').cases) {
    const got = logAFracIntegral(c.q, c.sigma, c.alpha)!;
    t.true(rel(got, c.log_a) < 1e-12, `q=${c.q} σ=${c.sigma} α=${c.alpha}: ${got} vs ${c.log_a}`);
  }
  let worst = 0;
  for (const q of [1e-4, 0.004267, 0.05, 0.3, 0.5, 0.9]) {
    for (const sigma of [0.3, 0.7, 1.1, 3, 10]) {
      for (const alpha of [1.1, 1.5, 2.7, 5.5, 10.9]) {
        const integral = logAFracIntegral(q, sigma, alpha)!;
        const series = logAFracSeries(q, sigma, alpha);
        worst = Math.max(worst, rel(integral, series));
        t.true(Math.abs(integral - series) <= 1e-15 + 1e-6 * Math.abs(series), `q=${q} σ=${sigma} α=${alpha}: integral ${integral} series ${series}`);
      }
    }
  }
  t.log(`worst relative difference to the series ${worst.toExponential(2)}`);
  t.is(logAFracIntegral(0.1, 0.01, 2.5), undefined, 'σ = 0.01 takes the series');
});

test('PrivacyEngine tracks ε by PLD (default) and refuses a step past the budget', (t) => {
  const opts = { datasetSize: 1000, sampleRate: 0.01, noiseMultiplier: 1.0, maxGradNorm: 1, delta: 1e-5, seed: 42 };
  const budget = dp.pld.epsilon({ q: 0.01, sigma: 1, steps: 3, delta: 1e-5 }).epsilon;
  const engine = new PrivacyEngine({ ...opts, epsilonBudget: budget * 1.0000001 });
  t.is(engine.accountant, 'pld');
  const empty = { A: Tensor.from(new Float32Array(0), [0, 4]), G: Tensor.from(new Float32Array(0), [0, 2]) };
  for (let s = 1; s <= 3; s++) {
    const r = engine.step([empty]);
    t.is(r.epsilon, dp.pld.epsilon({ q: 0.01, sigma: 1, steps: s, delta: 1e-5 }).epsilon);
    t.is(JSON.parse(JSON.stringify({ epsilon: r.epsilon })).epsilon, r.epsilon);
  }
  const e = t.throws(() => engine.step([empty]), { instanceOf: FrugalError });
  t.regex(e!.message, /privacy budget exhausted: step 4 .*pld accountant/);
  const rdp = new PrivacyEngine({ ...opts, accountant: 'rdp' });
  rdp.step([empty]);
  t.is(rdp.epsilon, dp.rdp.epsilon({ q: 0.01, sigma: 1, steps: 1, delta: 1e-5 }).epsilon);
  t.is(new PrivacyEngine({ ...opts, noiseMultiplier: 0 }).step([empty]).epsilon, Infinity);
  t.throws(() => new PrivacyEngine({ ...opts, accountant: 'moments' as never }), { code: 'E_RANGE', message: /options\.accountant/ } as never);
});

test('bad inputs give FrugalError with the right code', (t) => {
  const base = { q: 0.01, sigma: 1, steps: 10, delta: 1e-5 };
  const cases: Array<[object, string, RegExp]> = [
    [{ ...base, q: NaN }, 'E_RANGE', /options\.q: expected a finite number in \(0, 1\], got NaN/],
    [{ ...base, q: 0 }, 'E_RANGE', /options\.q/],
    [{ ...base, q: '0.1' }, 'E_DTYPE', /options\.q/],
    [{ ...base, sigma: 0 }, 'E_RANGE', /options\.sigma/],
    [{ ...base, sigma: 1e7 }, 'E_RANGE', /options\.sigma: .*PLD/],
    [{ ...base, steps: -1 }, 'E_RANGE', /options\.steps/],
    [{ ...base, delta: 1 }, 'E_RANGE', /options\.delta/],
    [{ ...base, discretization: 0 }, 'E_RANGE', /options\.discretization/],
    [{ ...base, discretization: 2 }, 'E_RANGE', /options\.discretization/],
    [{ ...base, discretization: NaN }, 'E_RANGE', /options\.discretization/],
    [{ phases: [], delta: 1e-5 }, 'E_CONFIG', /options\.phases/],
    [{ ...base, phases: [base] }, 'E_CONFIG', /either phases/],
    [{ phases: [{ q: 0.1, sigma: 1, steps: 1, extra: 1 }], delta: 1e-5 }, 'E_CONFIG', /extra/],
    [{ ...base, orders: [2] }, 'E_CONFIG', /orders/],
    // A grid too wide for the native core: σ tiny, or steps beyond any window.
    [{ ...base, sigma: 1e-3 }, 'E_RANGE', /too small for this discretization/],
    [{ ...base, steps: 1e15 }, 'E_RANGE', /too many steps/],
  ];
  for (const [opts, code, msg] of cases) {
    const e = t.throws(() => dp.pld.epsilon(opts as never), { instanceOf: FrugalError }, JSON.stringify(opts));
    t.is(e!.code as string, code, JSON.stringify(opts));
    t.regex(e!.message, msg);
  }
  t.throws(() => dp.pld.delta({ q: 0.1, sigma: 1, steps: 1, epsilon: -1 }), { code: 'E_RANGE', message: /options\.epsilon/ } as never);
  t.throws(() => dp.pld.noiseMultiplier({ q: 0.1, steps: 1, targetEpsilon: 0, delta: 1e-5 }), { code: 'E_RANGE' } as never);
  t.throws(() => dp.pld.noiseMultiplier({ q: 1, steps: 1, targetEpsilon: 1e-9, delta: 1e-5 }), { code: 'E_RANGE', message: /not reachable/ } as never);
  t.throws(() => dp.rdp.epsilon({ ...base, q: NaN }), { code: 'E_RANGE', message: /expected a finite number in \(0, 1\]/ } as never);
  t.throws(() => dp.rdp.epsilon({ phases: [], delta: 1e-5 }), { code: 'E_CONFIG' } as never);
});
