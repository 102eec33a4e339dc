// The RDP accountant against test/fixtures/rdp.json (1e-6 relative), closed forms,
// composition, the σ search and bad inputs.
import test from 'ava';
import Ajv from 'ajv';
import * as assert from 'node:assert';
import { FrugalError, dp } from '../lib';
import { dpEpsilonJob } from '../lib/jobs/dp_epsilon';
import { dpNoiseJob } from '../lib/jobs/dp_noise';
import { fixture } from './helpers';

interface RdpCase { q: number; sigma: number; steps: number; delta?: number; eps?: number; rdp_at?: Record<string, number> }
const rdpCases = fixture<{ cases: RdpCase[] }>('rdp.json');

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

test('epsilon matches the reference values to 1e-6 relative', (t) => {
  for (const c of rdpCases.cases) {
    if (c.eps !== undefined) {
      const { epsilon } = dp.rdp.epsilon({ q: c.q, sigma: c.sigma, steps: c.steps, delta: c.delta! });
      t.true(rel(epsilon, c.eps) < 1e-6, `q=${c.q} sigma=${c.sigma}: ${epsilon} vs ${c.eps}`);
    } else {
      const orders = Object.keys(c.rdp_at!).map(Number);
      const got = dp.rdp.rdp({ q: c.q, sigma: c.sigma, steps: c.steps, orders });
      orders.forEach((a, i) => t.true(rel(got[i], c.rdp_at![String(a)]) < 1e-12, `order ${a}`));
    }
  }
});

test('Abadi MNIST setting gives 2.5967 (not the older conversion\'s 3.01)', (t) => {
  const { epsilon } = dp.rdp.epsilon({ q: 256 / 60000, sigma: 1.1, steps: 14063, delta: 1e-5 });
  t.is(Math.round(epsilon * 1e4) / 1e4, 2.5967);
});

test('q = 1 is the plain Gaussian mechanism, α/(2σ²) per step', (t) => {
  const got = dp.rdp.rdp({ q: 1, sigma: 2, steps: 3, orders: [1.5, 2, 7.25] });
  [1.5, 2, 7.25].forEach((a, i) => t.true(rel(got[i], (3 * a) / 8) < 1e-14));
});

test('fractional orders join the integer ones smoothly', (t) => {
  // rdp is continuous in α: the fractional series at 3 ± 1e-7 must meet the binomial sum at 3.
  const [below, at, above] = dp.rdp.rdp({ q: 0.01, sigma: 0.9, steps: 1, orders: [3 - 1e-7, 3, 3 + 1e-7] });
  t.true(rel(below, at) < 1e-5 && rel(above, at) < 1e-5, `${below} ${at} ${above}`);
});

test('phases compose by adding RDP', (t) => {
  const orders = [2, 4.5, 32];
  const a = dp.rdp.rdp({ q: 0.01, sigma: 1, steps: 100, orders });
  const b = dp.rdp.rdp({ q: 0.05, sigma: 2, steps: 30, orders });
  const both = dp.rdp.rdp({ phases: [{ q: 0.01, sigma: 1, steps: 100 }, { q: 0.05, sigma: 2, steps: 30 }], orders });
  orders.forEach((_, i) => t.true(rel(both[i], a[i] + b[i]) < 1e-12));
  const e = dp.rdp.epsilon({ phases: [{ q: 0.01, sigma: 1, steps: 100 }, { q: 0.05, sigma: 2, steps: 30 }], delta: 1e-5 });
  t.true(e.epsilon > dp.rdp.epsilon({ q: 0.01, sigma: 1, steps: 100, delta: 1e-5 }).epsilon);
  t.is(dp.rdp.epsilon({ q: 0.01, sigma: 1, steps: 0, delta: 1e-5 }).epsilon, 0);
});

test('noiseMultiplier inverts epsilon', (t) => {
  const c = rdpCases.cases[1];
  const sigma = dp.rdp.noiseMultiplier({ q: c.q, steps: c.steps, targetEpsilon: c.eps!, delta: c.delta! });
  t.true(Math.abs(sigma - c.sigma) < 1e-5, `${sigma}`);
  const s2 = dp.rdp.noiseMultiplier({ q: 0.02, steps: 500, targetEpsilon: 3, delta: 1e-6, tol: 1e-4 });
  t.true(dp.rdp.epsilon({ q: 0.02, sigma: s2, steps: 500, delta: 1e-6 }).epsilon <= 3);
  t.true(dp.rdp.epsilon({ q: 0.02, sigma: s2 - 2e-4, steps: 500, delta: 1e-6 }).epsilon > 3);
});

test('noiseMultiplier ends for a tolerance below the spacing of doubles', (t) => {
  // These looped forever once lo and hi were adjacent doubles.
  const opts = { q: 0.02, steps: 500, targetEpsilon: 3, delta: 1e-6 };
  const coarse = dp.rdp.noiseMultiplier({ ...opts, tol: 1e-9 });
  for (const tol of [1e-17, 1e-300, 5e-324]) {
    const sigma = dp.rdp.noiseMultiplier({ ...opts, tol });
    t.true(Math.abs(sigma - coarse) <= 1e-9, `tol ${tol}: ${sigma} vs ${coarse}`);
    t.true(dp.rdp.epsilon({ q: opts.q, steps: opts.steps, sigma, delta: opts.delta }).epsilon <= 3, `tol ${tol}`);
  }
});

test('bad inputs give FrugalError with the right code', (t) => {
  const base = { q: 0.01, sigma: 1, steps: 10, delta: 1e-5 };
  const cases: Array<[object, string, RegExp]> = [
    [{ ...base, q: 0 }, 'E_RANGE', /options\.q/],
    [{ ...base, q: 1.5 }, 'E_RANGE', /options\.q/],
    [{ ...base, q: NaN }, 'E_RANGE', /options\.q/],
    [{ ...base, sigma: 0 }, 'E_RANGE', /options\.sigma/],
    [{ ...base, sigma: -1 }, 'E_RANGE', /options\.sigma/],
    [{ ...base, delta: 0 }, 'E_RANGE', /options\.delta/],
    [{ ...base, delta: 1 }, 'E_RANGE', /options\.delta/],
    [{ ...base, steps: 1.5 }, 'E_RANGE', /options\.steps/],
    [{ ...base, steps: '3' }, 'E_DTYPE', /options\.steps/],
    [{ ...base, orders: [] }, 'E_CONFIG', /options\.orders/],
    [{ ...base, orders: [1] }, 'E_RANGE', /options\.orders\[0\]/],
    [{ ...base, phases: [base] }, 'E_CONFIG', /either phases/],
  ];
  for (const [opts, code, msg] of cases) {
    const e = t.throws(() => dp.rdp.epsilon(opts as never), { instanceOf: FrugalError });
    t.is(e!.code as string, code, JSON.stringify(opts));
    t.regex(e!.message, msg);
  }
  t.throws(() => dp.rdp.noiseMultiplier({ q: 1, steps: 1, targetEpsilon: 1e-9, delta: 1e-5 }), { code: 'E_RANGE' } as never);
  t.throws(() => dp.rdp.noiseMultiplier({ q: 0.1, steps: 1, targetEpsilon: 0, delta: 1e-5 }), { code: 'E_RANGE' } as never);
});

// The job types as the runner uses them: schema (strict Ajv, defaults filled) then run.
const ajv = new Ajv({ useDefaults: true, allErrors: false, strict: true });
// These types write no files of their own: a writeFile call fails the test.
const quiet = { progress: () => undefined, writeFile: (file: string) => assert.fail(`unexpected file ${file}`) };

async function runJob(job: { schema: object; run(c: never, ctx: typeof quiet): Promise<unknown> }, config: object): Promise<Record<string, unknown>> {
  const copy = structuredClone(config);
  const validate = ajv.compile(job.schema);
  if (!validate(copy)) throw new FrugalError('E_CONFIG', JSON.stringify(validate.errors));
  return (await job.run(copy as never, quiet)) as Record<string, unknown>;
}

test('job dp-epsilon: the Abadi setting from batch size and epochs, and phases', async (t) => {
  const r = await runJob(dpEpsilonJob, { type: 'dp-epsilon', datasetSize: 60000, batchSize: 256, epochs: 60, sigma: 1.1, accountant: 'rdp' });
  t.is(Math.round((r.epsilon as number) * 1e4) / 1e4, 2.5967);
  t.is(r.delta, 1e-5);
  t.is((r.phases as Array<{ steps: number }>)[0].steps, 14063);
  t.is(r.pld, undefined);
  const p = await runJob(dpEpsilonJob, { type: 'dp-epsilon', phases: [{ q: 0.04, sigma: 1.5, steps: 2250 }], delta: 1e-5, accountant: 'rdp' });
  t.true(rel(p.epsilon as number, 7.32911117143) < 1e-6);
  // Both by default: each a valid bound, the smaller reported.
  const both = await runJob(dpEpsilonJob, { type: 'dp-epsilon', datasetSize: 60000, batchSize: 256, epochs: 60, sigma: 1.1 });
  const byRdp = both.rdp as { epsilon: number; order: number };
  const byPld = both.pld as { epsilon: number; discretization: number };
  t.is(both.accountant, 'both');
  t.is(Math.round(byRdp.epsilon * 1e4) / 1e4, 2.5967);
  t.is(byPld.epsilon, dp.pld.epsilon({ q: 256 / 60000, sigma: 1.1, steps: 14063, delta: 1e-5 }).epsilon);
  t.is(both.epsilon, Math.min(byRdp.epsilon, byPld.epsilon));
  await t.throwsAsync(runJob(dpEpsilonJob, { type: 'dp-epsilon', q: 0.1, sigma: 1, steps: 1, accountant: 'pld', orders: [2] }), { code: 'E_CONFIG', message: /orders/ } as never);
  await t.throwsAsync(runJob(dpEpsilonJob, { type: 'dp-epsilon', q: 0.1, sigma: 1, steps: 1, accountant: 'moments' }), { code: 'E_CONFIG' } as never);
  await t.throwsAsync(runJob(dpEpsilonJob, { type: 'dp-epsilon', q: 0.1, sigma: 1, steps: 1, extra: 1 }), { code: 'E_CONFIG' } as never);
  await t.throwsAsync(runJob(dpEpsilonJob, { type: 'dp-epsilon', q: 0.1, batchSize: 3, sigma: 1, steps: 1 }), { code: 'E_CONFIG', message: /exactly one of q and batchSize/ } as never);
  await t.throwsAsync(runJob(dpEpsilonJob, { type: 'dp-epsilon', batchSize: 3, sigma: 1, steps: 1 }), { code: 'E_CONFIG', message: /datasetSize/ } as never);
  await t.throwsAsync(runJob(dpEpsilonJob, { type: 'dp-epsilon', q: 2, sigma: 1, steps: 1 }), { code: 'E_CONFIG' } as never);
});

test('job dp-noise: σ for a target ε', async (t) => {
  const r = await runJob(dpNoiseJob, { type: 'dp-noise', q: 256 / 60000, steps: 14063, targetEpsilon: 2.5966555286883684, accountant: 'rdp' });
  t.true(Math.abs((r.sigma as number) - 1.1) < 1e-5, `${r.sigma}`);
  t.true((r.rdp as { epsilon: number }).epsilon <= 2.5966555286883684);
  const both = await runJob(dpNoiseJob, { type: 'dp-noise', q: 0.01, steps: 1000, targetEpsilon: 1 });
  const byRdp = both.rdp as { sigma: number; epsilon: number };
  const byPld = both.pld as { sigma: number; epsilon: number };
  t.true(byPld.sigma < byRdp.sigma && byPld.epsilon <= 1 && byRdp.epsilon <= 1, JSON.stringify(both));
  t.is(both.sigma, byPld.sigma);
  await t.throwsAsync(runJob(dpNoiseJob, { type: 'dp-noise', q: 0.01, steps: 10 }), { code: 'E_CONFIG' } as never);
  await t.throwsAsync(runJob(dpNoiseJob, { type: 'dp-noise', q: 0.01, targetEpsilon: 1 }), { code: 'E_CONFIG', message: /steps or epochs/ } as never);
});
