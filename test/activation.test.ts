// gelu, geluBackward, sigmoid, sigmoidBackward and softmax against plain float64
// JS references at awkward sizes and every ISA level; finite differences for the
// GELU gradient; saturation and NaN for sigmoid; large values in softmax; bad
// inputs each give a FrugalError with its code.
import test from 'ava';
import {
  FrugalError, Tensor, gelu, geluAsync, geluBackward, geluBackwardAsync, info, isaLevels, setIsa, sigmoid,
  sigmoidAsync, sigmoidBackward, sigmoidBackwardAsync, softmax, softmaxAsync,
} from '../lib';
import { mismatch as close, seededFloats as random } from './helpers';

// erfc in float64: Taylor series of erf below 2.5, the continued fraction above
// (relative error ~1e-12 everywhere, so small tails keep their digits).
function erfc(z: number): number {
  if (z < 0) return 2 - erfc(-z);
  if (z < 2.5) {
    let sum = z, term = z;
    for (let n = 1; n < 200; n++) {
      term *= (-z * z) / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = z;
  for (let k = 80; k >= 1; k--) f = z + k / 2 / f;
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
}
const cdf = (x: number): number => 0.5 * erfc(-x / Math.SQRT2);
const geluRef = (x: number): number => x * cdf(x);
const geluGradRef = (x: number): number => cdf(x) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);

const sigmoidRef = (x: number): number => 1 / (1 + Math.exp(-x));

function softmaxRef(x: Float32Array, rows: number, cols: number): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, x[r * cols + c]);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += Math.exp(x[r * cols + c] - max);
    for (let c = 0; c < cols; c++) y[r * cols + c] = Math.exp(x[r * cols + c] - max) / sum;
  }
  return y;
}

const SIZES = [1, 7, 17, 33, 255, 257, 4099];

// Tolerances vs float64: gelu and its gradient 1e-6 abs + 2e-6 rel.
test.serial('gelu and geluBackward match the float64 formula at every ISA level', (t) => {
  for (const level of isaLevels()) {
    setIsa(level);
    for (const n of SIZES) {
      const x = random(n, n, 8);
      const dy = random(n, n + 1);
      const y = gelu(Tensor.from(x, [n]));
      t.is(close(y.data, Array.from(x, geluRef), 1e-6, 2e-6), '', `gelu ${level} n=${n}`);
      const dx = geluBackward(Tensor.from(x, [n]), Tensor.from(dy, [n]));
      t.is(close(dx.data, Array.from(x, (v, i) => dy[i] * geluGradRef(v)), 1e-6, 2e-6), '', `gelu' ${level} n=${n}`);
    }
  }
  setIsa(info().maxIsa);
});

test.serial('geluBackward agrees with finite differences of gelu', (t) => {
  const n = 257;
  const x = random(n, 77, 5);
  const h = 2 ** -7;
  const xp = x.map((v) => v + h), xm = x.map((v) => v - h);
  for (const level of isaLevels()) {
    setIsa(level);
    const yp = gelu(Tensor.from(xp, [n])).data, ym = gelu(Tensor.from(xm, [n])).data;
    const dx = geluBackward(Tensor.from(x, [n]), Tensor.from(new Float32Array(n).fill(1), [n])).data;
    // Central difference: O(h²) truncation (~1e-5 here) plus float32 rounding / 2h (~1e-5).
    const fd = Array.from(yp, (v, i) => (v - ym[i]) / (xp[i] - xm[i]));
    t.is(close(dx, fd, 2e-4, 1e-4), '', level);
  }
  setIsa(info().maxIsa);
});

// Tolerances vs float64: sigmoid 5e-7 relative (the vector exp within 2 ulp, one
// add, one divide: a few ulp; ~3·2⁻²⁴ measured) and 1e-38 absolute (below
// x ≈ −88.7 the fast paths give 0 where the true value is under 3e-39); the
// backward dy·y(1 − y) from the float32 y, 5e-7 relative (y − y² rounded once,
// then one multiply).
test.serial('sigmoid and sigmoidBackward match the float64 formula at every ISA level', (t) => {
  for (const level of isaLevels()) {
    setIsa(level);
    for (const n of SIZES) {
      for (const scale of [8, 120]) {
        const x = random(n, n + 7, scale);
        const dy = random(n, n + 2);
        const y = sigmoid(Tensor.from(x, [n]));
        t.is(close(y.data, Array.from(x, sigmoidRef), 1e-38, 5e-7), '', `sigmoid ${level} n=${n} scale=${scale}`);
        const dx = sigmoidBackward(y, Tensor.from(dy, [n]));
        const want = Array.from(y.data, (v, i) => dy[i] * v * (1 - v));
        t.is(close(dx.data, want, 1e-38, 5e-7), '', `sigmoid' ${level} n=${n} scale=${scale}`);
      }
    }
  }
  setIsa(info().maxIsa);
});

test.serial('sigmoid saturates to exactly 0 and 1 and keeps NaN at every ISA level', (t) => {
  const x = new Float32Array([100, -100, 1e30, -1e30, Infinity, -Infinity, 3e38, -3e38, 20, 0, -0, NaN]);
  const want = [1, 0, 1, 0, 1, 0, 1, 0, 1, 0.5, 0.5];
  for (const level of isaLevels()) {
    setIsa(level);
    // Repeated to 37 values: every lane of a vector and of the masked tail.
    const xs = Float32Array.from({ length: 37 }, (_, i) => x[i % x.length]);
    const y = sigmoid(Tensor.from(xs, [37])).data;
    for (let i = 0; i < 37; i++) {
      const k = i % x.length;
      if (k === x.length - 1) {
        t.true(Number.isNaN(y[i]), `${level} NaN at ${i}: ${y[i]}`);
      } else if (level === 'ref' && want[k] === 0) {
        t.true(y[i] >= 0 && y[i] < 1e-43, `${level} x=${xs[i]}: ${y[i]}`);  // the reference keeps the subnormal tail
      } else {
        t.is(y[i], want[k], `${level} x=${xs[i]}`);
      }
    }
    const dx = sigmoidBackward(Tensor.from(new Float32Array([0, 1, 0.5, NaN]), [4]), Tensor.from([5, -3, 2, 1], [4])).data;
    t.deepEqual(Array.from(dx.slice(0, 3)), [0, -0, 0.5], level); // -3·0 = -0
    t.true(Number.isNaN(dx[3]), level);
  }
  setIsa(info().maxIsa);
});

// Tolerance vs float64: 5e-6 relative (exp within a few ulp, sums in float32).
test.serial('softmax matches the float64 reference at every ISA level and any rank', (t) => {
  for (const level of isaLevels()) {
    setIsa(level);
    for (const rows of [1, 3, 17]) {
      for (const cols of SIZES) {
        const x = random(rows * cols, rows + cols, 10);
        const y = softmax(Tensor.from(x, [rows, cols]));
        t.is(close(y.data, softmaxRef(x, rows, cols), 1e-10, 5e-6), '', `${level} ${rows}x${cols}`);
      }
    }
    const x3 = random(2 * 3 * 33, 5, 4);
    const y3 = softmax(Tensor.from(x3, [2, 3, 33]));
    t.deepEqual(y3.shape, [2, 3, 33]);
    t.is(close(y3.data, softmaxRef(x3, 6, 33), 1e-10, 5e-6), '');
  }
  setIsa(info().maxIsa);
});

test.serial('softmax of large values does not overflow; -Infinity entries get 0', (t) => {
  for (const level of isaLevels()) {
    setIsa(level);
    const big = softmax(Tensor.from([1e30, 1e30, 3e38, 3e38 - 2e31, 80, 90, 100, 110], [4, 2])).data;
    t.true(big.every(Number.isFinite), `${level}: ${Array.from(big)}`);
    t.is(close(big, [0.5, 0.5, 1, 0, 1 / (1 + Math.exp(10)), 1 / (1 + Math.exp(-10)), 1 / (1 + Math.exp(10)), 1 / (1 + Math.exp(-10))], 1e-6, 1e-5), '', level);
    const masked = softmax(Tensor.from(new Float32Array([1, -Infinity, 1, -Infinity]), [4])).data;
    t.deepEqual(Array.from(masked), [0.5, 0, 0.5, 0]);
  }
  setIsa(info().maxIsa);
});

test('NaN and Infinity in the data: gelu stays elementwise, softmax rows stay apart', (t) => {
  const y = gelu(Tensor.from(new Float32Array([NaN, Infinity, 0, 3]), [4])).data;
  t.true(Number.isNaN(y[0]));
  t.is(y[1], Infinity);
  t.is(y[2], 0);
  t.true(Math.abs(y[3] - geluRef(3)) < 1e-5);
  const s = softmax(Tensor.from(new Float32Array([NaN, 1, 1, 1, Infinity, 1, 0, 0]), [4, 2])).data;
  t.true(Number.isNaN(s[0]) && Number.isNaN(s[1]));
  t.deepEqual(Array.from(s.slice(2, 4)), [0.5, 0.5]);
  t.true(Number.isNaN(s[5]));
  t.deepEqual(Array.from(s.slice(6, 8)), [0.5, 0.5]);
});

test('async forms match the sync ones', async (t) => {
  const x = Tensor.from(random(1000, 3, 6), [10, 100]);
  const dy = Tensor.from(random(1000, 4), [10, 100]);
  t.deepEqual((await geluAsync(x)).data, gelu(x).data);
  t.deepEqual((await geluBackwardAsync(x, dy)).data, geluBackward(x, dy).data);
  t.deepEqual((await softmaxAsync(x)).data, softmax(x).data);
  t.deepEqual(softmax(Tensor.from(new Float32Array(0), [3, 0])).shape, [3, 0]);
  // `out` may be the input itself.
  const copy = Tensor.from(x.data.slice(), [10, 100]);
  t.is(await softmaxAsync(copy, { out: copy }), copy);
  t.deepEqual(copy.data, softmax(x).data);
  const d2 = Tensor.from(dy.data.slice(), [10, 100]);
  t.is(geluBackward(x, d2, { out: d2 }), d2);
  t.deepEqual(d2.data, geluBackward(x, dy).data);
  t.deepEqual(gelu(Tensor.from(new Float32Array(0), [0])).shape, [0]);
  const s = sigmoid(x);
  t.deepEqual((await sigmoidAsync(x)).data, s.data);
  t.deepEqual((await sigmoidBackwardAsync(s, dy)).data, sigmoidBackward(s, dy).data);
  t.deepEqual(sigmoid(Tensor.from(new Float32Array(0), [2, 0])).shape, [2, 0]);
  // `out` may be x (forward), dy or y (backward).
  const xs = Tensor.from(x.data.slice(), [10, 100]);
  t.is(await sigmoidAsync(xs, { out: xs }), xs);
  t.deepEqual(xs.data, s.data);
  const d3 = Tensor.from(dy.data.slice(), [10, 100]);
  t.is(sigmoidBackward(s, d3, { out: d3 }), d3);
  t.deepEqual(d3.data, sigmoidBackward(s, dy).data);
  t.is(await sigmoidBackwardAsync(xs, dy, { out: xs }), xs);
  t.deepEqual(xs.data, sigmoidBackward(s, dy).data);
});

test('bad inputs give a FrugalError with the right code', async (t) => {
  const x = Tensor.from(new Float32Array(6), [2, 3]);
  const cases: Array<[() => unknown, string, RegExp]> = [
    [() => gelu([1, 2] as never), 'E_DTYPE', /^x:/],
    [() => geluBackward(x, new Float32Array(6) as never), 'E_DTYPE', /^dy:/],
    [() => geluBackward(x, Tensor.from(new Float32Array(6), [3, 2])), 'E_SHAPE', /^dy:/],
    [() => softmax(null as never), 'E_DTYPE', /^x:/],
    [() => softmax(Tensor.from([1], [])), 'E_SHAPE', /^x:/],
    [() => gelu(x, { out: Tensor.from(new Float32Array(6), [6]) }), 'E_SHAPE', /^options\.out:/],
    [() => softmax(x, { out: 3 as never }), 'E_DTYPE', /^options\.out:/],
    [() => gelu(x, 'x' as never), 'E_DTYPE', /^options:/],
    [() => sigmoid({} as never), 'E_DTYPE', /^x:/],
    [() => sigmoid(x, { out: Tensor.from(new Float32Array(6), [3, 2]) }), 'E_SHAPE', /^options\.out:/],
    [() => sigmoid(x, { bogus: 1 } as never), 'E_CONFIG', /^options/],
    [() => sigmoidBackward([1] as never, x), 'E_DTYPE', /^y:/],
    [() => sigmoidBackward(x, 3 as never), 'E_DTYPE', /^dy:/],
    [() => sigmoidBackward(x, Tensor.from(new Float32Array(6), [6])), 'E_SHAPE', /^dy:/],
    [() => sigmoidBackward(x, x, { out: Tensor.from(new Float32Array(5), [5]) }), 'E_SHAPE', /^options\.out:/],
  ];
  for (const [fn, code, message] of cases) {
    const e = t.throws(fn, { instanceOf: FrugalError });
    t.is(e!.code, code as never, e!.message);
    t.regex(e!.message, message);
  }
  await t.throwsAsync(geluAsync(5 as never), { instanceOf: FrugalError, code: 'E_DTYPE' } as never);
  await t.throwsAsync(softmaxAsync(Tensor.from([1], [])), { instanceOf: FrugalError, code: 'E_SHAPE' } as never);
  await t.throwsAsync(sigmoidAsync(null as never), { instanceOf: FrugalError, code: 'E_DTYPE' } as never);
  await t.throwsAsync(sigmoidBackwardAsync(x, Tensor.from(new Float32Array(6), [3, 2])), { instanceOf: FrugalError, code: 'E_SHAPE' } as never);
  const f = new Float32Array(4);
  const xd = Tensor.from(f, [4]);
  structuredClone(f.buffer, { transfer: [f.buffer] });
  t.throws(() => gelu(xd), { instanceOf: FrugalError, code: 'E_SHAPE' } as never);
  t.throws(() => sigmoid(xd), { instanceOf: FrugalError, code: 'E_SHAPE' } as never);
  t.throws(() => sigmoidBackward(xd, xd), { instanceOf: FrugalError, code: 'E_SHAPE' } as never);
  if (info().cuda.available) {
    t.throws(() => geluBackward(x.to('cuda'), x), { instanceOf: FrugalError, code: 'E_DEVICE' } as never);
    t.throws(() => sigmoidBackward(x.to('cuda'), x), { instanceOf: FrugalError, code: 'E_DEVICE' } as never);
  }
});
