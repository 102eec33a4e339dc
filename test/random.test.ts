// random streams from TypeScript: Philox known answers and stream fixtures
// (test/fixtures/streams.json, copied from /work/shared/fixtures), a plain-JS
// Philox/streams reference at awkward offsets and sizes, slices of a stream
// equal to the same elements of a longer call, every ISA level, async forms,
// thread counts, and bad inputs (each a FrugalError with its code).
//
// Tolerances: words, uniform and Rademacher values are exact. Normals are
// within 4 ulp of the fp64 value (ulp taken at |value| >= 2^-20: sin/cos near a
// zero crossing is limited by the 24-bit u2, not by the float result); the
// scalar reference level is within 1 ulp.
import test from 'ava';
import { FrugalError, info, isaLevels, random, setIsa, setNumThreads, type ErrorCode } from '../lib';
import { fixture } from './helpers';

interface StreamFixture { seed: number; sub: number; tag: number; words: number[]; uniform: number[]; normal: number[]; rademacher: number[] }
interface ProjectionFixture { seed: number; layer: number; d: number; H: number; dist: 'normal' | 'rademacher'; values: number[] }
const fixtures = fixture<{
  kat: Array<{ counter: number[]; key: number[]; out: number[] }>;
  streams: StreamFixture[];
  projections: ProjectionFixture[];
}>('streams.json');

const NORMAL_ULPS = 4;

// ---- plain-JS reference (BigInt products, float64 Box–Muller) ----------------

function jsPhilox(counter: readonly number[], key: readonly number[]): number[] {
  let [x0, x1, x2, x3] = counter.map(BigInt);
  let [k0, k1] = key.map(BigInt);
  const M = 0xffffffffn;
  for (let r = 0; r < 10; r++) {
    const p0 = 0xd2511f53n * x0, p1 = 0xcd9e8d57n * x2;
    [x0, x1, x2, x3] = [(p1 >> 32n) ^ x1 ^ k0, p1 & M, (p0 >> 32n) ^ x3 ^ k1, p0 & M];
    k0 = (k0 + 0x9e3779b9n) & M;
    k1 = (k1 + 0xbb67ae85n) & M;
  }
  return [x0, x1, x2, x3].map(Number);
}

function jsBlock(seed: bigint, sub: number, tag: number, block: bigint): number[] {
  const M = 0xffffffffn;
  return jsPhilox([Number(block & M), Number(block >> 32n), sub, tag], [Number(seed & M), Number(seed >> 32n)]);
}

interface JsStream { words: number[]; uniform: number[]; normal: number[]; rademacher: number[] }

function jsStream(seed: bigint, sub: number, tag: number, offset: bigint, n: number): JsStream {
  const out: JsStream = { words: [], uniform: [], normal: [], rademacher: [] };
  for (let i = 0; i < n; i++) {
    const e = offset + BigInt(i);
    const w = jsBlock(seed, sub, tag, e / 4n);
    const j = Number(e % 4n), a = j & ~1;
    out.words.push(w[j]);
    out.uniform.push((w[j] >>> 8) * 2 ** -24);
    out.rademacher.push(w[j] < 2 ** 31 ? 1 : -1);
    const u1 = ((w[a] >>> 8) + 1) * 2 ** -24, u2 = (w[a + 1] >>> 8) * 2 ** -24;
    const r = Math.sqrt(-2 * Math.log(u1));
    out.normal.push(r * (j === a ? Math.cos(2 * Math.PI * u2) : Math.sin(2 * Math.PI * u2)));
  }
  return out;
}

function ulpError(got: number, want: number): number {
  const mag = Math.max(Math.abs(want), 2 ** -20);
  return Math.abs(got - want) / 2 ** (Math.floor(Math.log2(mag)) - 23);
}

function maxUlpError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, ulpError(got[i], want[i]));
  return worst;
}

function sameValues(got: ArrayLike<number>, want: ArrayLike<number>): boolean {
  if (got.length !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) return false;
  return true;
}

function eachIsa(fn: (level: string) => void): void {
  try {
    for (const level of isaLevels()) {
      setIsa(level);
      fn(level);
    }
  } finally {
    setIsa(info().maxIsa);
  }
}

// ---- fixtures ------------------------------------------------------------------

test('philox matches the Random123 known answers (arrays and Uint32Array)', (t) => {
  for (const k of fixtures.kat) {
    t.deepEqual(Array.from(random.philox(k.counter, k.key)), k.out);
    t.deepEqual(Array.from(random.philox(Uint32Array.from(k.counter), Uint32Array.from(k.key))), k.out);
    t.deepEqual(jsPhilox(k.counter, k.key), k.out, 'the JS reference agrees');
  }
});

test('stream fixtures at every ISA level', (t) => {
  eachIsa((level) => {
    for (const f of fixtures.streams) {
      const o = { seed: BigInt(f.seed), sub: f.sub, tag: f.tag };
      const n = f.words.length;
      t.deepEqual(Array.from(random.words(n, o)), f.words, `${level} words seed ${f.seed}`);
      t.deepEqual(Array.from(random.uniform(n, o)), f.uniform.map(Math.fround), `${level} uniform`);
      t.deepEqual(Array.from(random.rademacher(n, o)), f.rademacher, `${level} rademacher`);
      const worst = maxUlpError(random.normal(n, o), f.normal);
      t.true(worst <= (level === 'ref' ? 1 : NORMAL_ULPS), `${level} normal seed ${f.seed}: ${worst} ulp`);
    }
  });
});

test('projection fixtures: W_l = stream (seed, sub = l, tag 1) / sqrt(d)', (t) => {
  eachIsa((level) => {
    for (const p of fixtures.projections) {
      const o = { seed: p.seed, sub: p.layer, tag: random.tags.projection, scale: 1 / Math.sqrt(p.d) };
      if (p.dist === 'normal') {
        // One more half-ulp for the float32 rounding of the scale.
        const worst = maxUlpError(random.normal(p.d * p.H, o), p.values);
        t.true(worst <= NORMAL_ULPS + 1, `${level} layer ${p.layer}: ${worst} ulp`);
      } else {
        t.deepEqual(Array.from(random.rademacher(p.d * p.H, o)), p.values.map(Math.fround), `${level} rademacher`);
      }
    }
  });
});

// ---- JS reference at awkward places ------------------------------------------------

const SIZES = [1, 7, 17, 33, 255, 257];
const OFFSETS: bigint[] = [0n, 1n, 3n, 5n, 63n, (1n << 34n) - 37n, (1n << 64n) - 300n];

test('every ISA level matches the JS reference at awkward offsets and sizes (incl. counters past 2^32 blocks)', (t) => {
  const seed = 0xfedcba9876543210n, sub = 0xffffffff, tag = 3;
  eachIsa((level) => {
    for (const offset of OFFSETS) {
      for (const n of SIZES) {
        if (offset + BigInt(n) > 1n << 64n) continue;
        const want = jsStream(seed, sub, tag, offset, n);
        const o = { seed, sub, tag, offset };
        const at = `${level} offset ${offset} n ${n}`;
        t.true(sameValues(random.words(n, o), want.words), `words ${at}`);
        t.true(sameValues(random.uniform(n, o), want.uniform.map(Math.fround)), `uniform ${at}`);
        t.true(sameValues(random.rademacher(n, { ...o, scale: 0.5 }), want.rademacher.map((v) => v * 0.5)), `rademacher ${at}`);
        const worst = maxUlpError(random.normal(n, o), want.normal);
        t.true(worst <= NORMAL_ULPS, `normal ${at}: ${worst} ulp`);
      }
    }
  });
});

test('a slice [a, b) equals elements a..b of a longer call, at every level', (t) => {
  const base = { seed: 12345, sub: 7, tag: random.tags.gradientMask };
  eachIsa((level) => {
    const long = { words: random.words(1000, base), uniform: random.uniform(1000, base), normal: random.normal(1000, base),
      rademacher: random.rademacher(1000, base) };
    for (const [a, b] of [[0, 1], [1, 2], [3, 20], [5, 69], [63, 64], [64, 321], [130, 1000], [999, 1000]]) {
      const o = { ...base, offset: a };
      t.true(sameValues(random.words(b - a, o), long.words.subarray(a, b)), `${level} words [${a}, ${b})`);
      t.true(sameValues(random.uniform(b - a, o), long.uniform.subarray(a, b)), `${level} uniform [${a}, ${b})`);
      t.true(sameValues(random.normal(b - a, { ...o, offset: BigInt(a) }), long.normal.subarray(a, b)), `${level} normal [${a}, ${b})`);
      t.true(sameValues(random.rademacher(b - a, o), long.rademacher.subarray(a, b)), `${level} rademacher [${a}, ${b})`);
    }
  });
});

test('results do not depend on the thread count; out buffers are filled in place', (t) => {
  const o = { seed: 99n, sub: 1, tag: 6, offset: 11 };
  const n = 300_001;
  try {
    setNumThreads(1);
    const one = random.normal(n, o), w1 = random.words(n, o);
    setNumThreads(3);
    t.true(sameValues(random.normal(n, o), one), 'normal with 3 threads');
    t.true(sameValues(random.words(n, o), w1), 'words with 3 threads');
    const out = new Float32Array(n);
    t.is(random.normal(n, { ...o, out }), out);
    t.true(sameValues(out, one));
  } finally {
    setNumThreads(info().threads);
  }
});

test('async forms give the same values as the sync ones', async (t) => {
  const o = { seed: 2n ** 63n + 5n, sub: 2, tag: 4, offset: 2n ** 40n + 1n };
  t.true(sameValues(await random.wordsAsync(70_000, o), random.words(70_000, o)));
  t.true(sameValues(await random.uniformAsync(333, o), random.uniform(333, o)));
  t.true(sameValues(await random.normalAsync(100_003, { ...o, scale: 3 }), random.normal(100_003, { ...o, scale: 3 })));
  t.true(sameValues(await random.rademacherAsync(17, o), random.rademacher(17, o)));
  t.is((await random.normalAsync(0, o)).length, 0);
  await t.throwsAsync(() => random.normalAsync(-1, o), { instanceOf: FrugalError, message: /^n:/ });
});

test('normals have mean 0 and variance scale^2 (sanity)', (t) => {
  const v = random.normal(1 << 20, { seed: 3, scale: 2 });
  let s = 0, ss = 0;
  for (const x of v) {
    s += x;
    ss += x * x;
  }
  const mean = s / v.length, variance = ss / v.length - mean * mean;
  t.true(Math.abs(mean) < 0.01, `mean ${mean}`);
  t.true(Math.abs(variance - 4) < 0.03, `variance ${variance}`);
});

// ---- bad inputs ----------------------------------------------------------------------

test('bad inputs give FrugalErrors with the right code', (t) => {
  const ok = { seed: 1 };
  const cases: Array<[() => unknown, ErrorCode, RegExp]> = [
    [() => random.normal(4, { seed: -1 }), 'E_RANGE', /^options\.seed:/],
    [() => random.normal(4, { seed: 2n ** 64n }), 'E_RANGE', /^options\.seed:/],
    [() => random.normal(4, { seed: -1n }), 'E_RANGE', /^options\.seed:/],
    [() => random.normal(4, { seed: 1.5 }), 'E_RANGE', /^options\.seed:/],
    [() => random.normal(4, { seed: NaN }), 'E_RANGE', /^options\.seed:/],
    [() => random.normal(4, { seed: 2 ** 53 }), 'E_RANGE', /^options\.seed:/],
    [() => random.normal(4, { seed: '1' as unknown as number }), 'E_DTYPE', /^options\.seed:/],
    [() => random.normal(4, {} as { seed: number }), 'E_DTYPE', /^options\.seed:/],
    [() => random.normal(4, undefined as unknown as { seed: number }), 'E_DTYPE', /^options:/],
    [() => random.normal(-1, ok), 'E_RANGE', /^n:/],
    [() => random.words(1.5, ok), 'E_RANGE', /^n:/],
    [() => random.uniform(2 ** 53, ok), 'E_RANGE', /^n:/],
    [() => random.uniform(Infinity, ok), 'E_RANGE', /^n:/],
    [() => random.rademacher('4' as unknown as number, ok), 'E_DTYPE', /^n:/],
    [() => random.normal(4, { seed: 1, sub: 2 ** 32 }), 'E_RANGE', /^options\.sub:/],
    [() => random.normal(4, { seed: 1, sub: -1 }), 'E_RANGE', /^options\.sub:/],
    [() => random.normal(4, { seed: 1, tag: 0.5 }), 'E_RANGE', /^options\.tag:/],
    [() => random.normal(4, { seed: 1, offset: -1 }), 'E_RANGE', /^options\.offset:/],
    [() => random.normal(4, { seed: 1, offset: 2n ** 64n - 3n }), 'E_RANGE', /^options\.offset:/],
    [() => random.normal(4, { seed: 1, offset: 0.5 }), 'E_RANGE', /^options\.offset:/],
    [() => random.normal(4, { seed: 1, offset: '0' as unknown as number }), 'E_DTYPE', /^options\.offset:/],
    [() => random.normal(4, { seed: 1, scale: NaN }), 'E_RANGE', /^options\.scale:/],
    [() => random.rademacher(4, { seed: 1, scale: 1e39 }), 'E_RANGE', /^options\.scale:/],
    [() => random.normal(4, { seed: 1, out: new Float32Array(3) }), 'E_SHAPE', /^options\.out:/],
    [() => random.normal(4, { seed: 1, out: new Float64Array(4) as unknown as Float32Array }), 'E_DTYPE', /^options\.out:/],
    [() => random.words(4, { seed: 1, out: new Int32Array(4) as unknown as Uint32Array }), 'E_DTYPE', /^options\.out:/],
    [() => random.philox([0, 0, 0], [0, 0]), 'E_SHAPE', /^counter:/],
    [() => random.philox(new Uint32Array(5), [0, 0]), 'E_SHAPE', /^counter:/],
    [() => random.philox([0, 0, 0, 0], [0]), 'E_SHAPE', /^key:/],
    [() => random.philox([0, 0, 0, 2 ** 32], [0, 0]), 'E_RANGE', /^counter\[3\]:/],
    [() => random.philox([0, 0, 0, -1], [0, 0]), 'E_RANGE', /^counter\[3\]:/],
    [() => random.philox('0000' as unknown as number[], [0, 0]), 'E_DTYPE', /^counter:/],
    [() => random.philox(new Int32Array(4) as unknown as Uint32Array, [0, 0]), 'E_DTYPE', /^counter:/],
  ];
  for (const [fn, c, message] of cases) {
    const err = t.throws<FrugalError>(fn, { instanceOf: FrugalError, message });
    t.is(err?.code, c, String(message));
  }
  // Edges that are fine.
  t.is(random.words(0, ok).length, 0);
  const last = { seed: 2n ** 64n - 1n, sub: 2 ** 32 - 1, tag: 2 ** 32 - 1, offset: 2n ** 64n - 5n };
  t.deepEqual(Array.from(random.words(5, last)), jsStream(last.seed, last.sub, last.tag, last.offset, 5).words, 'ends at 2^64');
  t.is(random.uniform(3, { seed: Number.MAX_SAFE_INTEGER, offset: Number.MAX_SAFE_INTEGER }).length, 3);
});
