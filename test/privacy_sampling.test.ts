// PrivacyEngine's Poisson batches: drawn from the random streams (tag 7) in O(batch),
// checked against a plain-JS reading of the documented contract; a hidden seed; the
// CSPRNG in secure mode; bounded dataset sizes.
import test from 'ava';
import { inspect } from 'node:util';
import { FrugalError, PrivacyEngine, Tensor, dp, random } from '../lib';

const base = { noiseMultiplier: 1.1, maxGradNorm: 1, delta: 1e-5 };

// The contract in TSDoc, written out directly: gap k is ⌊ln uₖ / ln(1 − q)⌋ with
// uₖ = (w₂ₖ·2²¹ + (w₂ₖ₊₁ >>> 11) + 1)·2⁻⁵³ from stream (seed, sub = step, tag 7).
function reference(seed: bigint, step: number, n: number, q: number): number[] {
  const words = random.words(2 * 20000, { seed, sub: step, tag: 7 });
  const out: number[] = [];
  let next = -1;
  for (let k = 0; ; k++) {
    const u = (words[2 * k] * 2 ** 21 + (words[2 * k + 1] >>> 11) + 1) * 2 ** -53;
    next += Math.floor(Math.log(u) / Math.log1p(-q)) + 1;
    if (next >= n) return out;
    out.push(next);
  }
}

test('seeded batches follow the stream contract, per step', (t) => {
  const opts = { ...base, datasetSize: 100_000, sampleRate: 0.01, seed: 42n };
  const engine = new PrivacyEngine(opts);
  const first = Array.from(engine.sampleBatch());
  t.deepEqual(first, reference(42n, 0, 100_000, 0.01));
  t.deepEqual(Array.from(new PrivacyEngine(opts).sampleBatch()), first, 'same seed, same batch');
  // A batch spanning several chunks of the stream (more than 4096 gaps).
  const dense = new PrivacyEngine({ ...opts, sampleRate: 0.3, datasetSize: 30_000 });
  t.deepEqual(Array.from(dense.sampleBatch()), reference(42n, 0, 30_000, 0.3));
  // About qN members (within 5σ), ascending, unique, in range.
  t.true(Math.abs(first.length - 1000) < 5 * Math.sqrt(1000 * 0.99), `batch of ${first.length}`);
  t.true(first.every((x, i) => x >= 0 && x < 100_000 && (i === 0 || x > first[i - 1])));
});

test('q = 1 takes everyone; large datasets cost O(batch); too large ones are refused', (t) => {
  const all = new PrivacyEngine({ ...base, datasetSize: 7, sampleRate: 1, seed: 1 }).sampleBatch();
  t.deepEqual(Array.from(all), [0, 1, 2, 3, 4, 5, 6]);
  const huge = new PrivacyEngine({ ...base, datasetSize: 2 ** 31 - 1, sampleRate: 1e-7, seed: 3 }).sampleBatch();
  t.true(huge.length > 100 && huge.length < 350, `batch of ${huge.length} from 2^31 − 1`);
  for (const datasetSize of [2 ** 31, 2 ** 53 - 1, 2e10]) {
    const e = t.throws(() => new PrivacyEngine({ ...base, datasetSize, sampleRate: 0.5 }), { instanceOf: FrugalError });
    t.is(e!.code, 'E_RANGE');
    t.regex(e!.message, /options\.datasetSize/);
  }
});

test('the seed is never reachable from JavaScript; secure batches ignore it', (t) => {
  const engine = new PrivacyEngine({ ...base, datasetSize: 1000, sampleRate: 0.1, seed: 123456789n });
  t.false(Object.keys(engine).some((k) => /seed/i.test(k)));
  t.false(inspect(engine, { showHidden: true, depth: 5 }).includes('123456789'));
  t.false(JSON.stringify(engine).includes('123456789'));
  t.is((engine as unknown as { seed?: unknown }).seed, undefined);
  const secure = { ...base, datasetSize: 100_000, sampleRate: 0.01, seed: 5n, secure: true };
  const a = new PrivacyEngine(secure).sampleBatch(), b = new PrivacyEngine(secure).sampleBatch();
  t.notDeepEqual(Array.from(a), Array.from(b), 'secure batches come from the CSPRNG, not the seed');
  t.notDeepEqual(Array.from(a), reference(5n, 0, 100_000, 0.01));
  t.true(Math.abs(a.length - 1000) < 5 * Math.sqrt(1000 * 0.99), `batch of ${a.length}`);
});

test('a σ below the floor is refused at construction; an infinite ε (σ = 0) is refused under a budget', (t) => {
  for (const noiseMultiplier of [1e-160, 1e-300, 0.009]) {
    const e = t.throws(() => new PrivacyEngine({ ...base, noiseMultiplier, datasetSize: 100, sampleRate: 0.1, epsilonBudget: 1, seed: 1 }), { instanceOf: FrugalError });
    t.is(e!.code, 'E_RANGE');
    t.regex(e!.message, /options\.noiseMultiplier: expected 0 .* or at least 0\.01/);
  }
  const big = { A: Tensor.from(new Float32Array(0), [0, 4]), G: Tensor.from(new Float32Array(0), [0, 2]) };
  const engine = new PrivacyEngine({ ...base, noiseMultiplier: 0, datasetSize: 100, sampleRate: 0.1, epsilonBudget: 1, seed: 1 });
  const e = t.throws(() => engine.step([big]), { instanceOf: FrugalError });
  t.is(e!.code, 'E_RANGE');
  t.regex(e!.message, /privacy budget exhausted/);
  t.is(engine.steps, 0);
  t.notThrows(() => new PrivacyEngine({ ...base, noiseMultiplier: 0.01, datasetSize: 100, sampleRate: 0.1, seed: 1 }));
});

// (These took 12.9 s each, summing 100000 overflowing terms per order; now the first overflow answers.)
test('ε of a σ so small that the accountant overflows is Infinity', (t) => {
  for (const sigma of [1e-300, 1e-160]) t.is(dp.rdp.epsilon({ q: 0.01, sigma, steps: 1000, delta: 1e-5 }).epsilon, Infinity);
  t.true(Number.isFinite(dp.rdp.epsilon({ q: 0.01, sigma: 1e-100, steps: 1000, delta: 1e-5 }).epsilon));
});
