// Values that used to be accepted silently or misreported: numbers that overflow
// float32, negative norms, a null rule, NaN entries named by the wrong index.
import test from 'ava';
import { FrugalError, PrivacyEngine, Tensor, dp, gelu, layerNorm, matmul, random, slash, softmax } from '../lib';
import { allocate } from '../lib/tensor';

const refused = (t: import('ava').ExecutionContext, fn: () => unknown, code: FrugalError['code'], message: RegExp) => {
  const err = t.throws(fn, { instanceOf: FrugalError }) as FrugalError;
  t.is(err.code, code, err.message);
  t.regex(err.message, message);
};

test('numbers beyond float32 are refused instead of becoming Infinity', (t) => {
  const x = Tensor.from([1, 2, 3, 4], [2, 2]);
  refused(t, () => Tensor.from([1, 1e300, 3], [3]), 'E_RANGE', /^data\[1\]: expected a number finite as a float32/);
  refused(t, () => Tensor.from([1, -Infinity], [2]), 'E_DTYPE', /^data\[1\]/);
  refused(t, () => Tensor.from([1, 2, NaN], [3]), 'E_DTYPE', /^data\[2\]/);
  refused(t, () => matmul(x, x, { alpha: 1e300 }), 'E_RANGE', /^options\.alpha/);
  refused(t, () => matmul(x, x, { beta: -1e39, out: Tensor.from(new Float32Array(4), [2, 2]) }), 'E_RANGE', /^options\.beta/);
  refused(t, () => random.normal(4, { seed: 1, scale: 1e39 }), 'E_RANGE', /^options\.scale/);
  refused(t, () => layerNorm(x, Tensor.from([1, 1], [2]), Tensor.from([0, 0], [2]), { eps: 1e-50 }), 'E_RANGE', /^options\.eps: .*nonzero as a float32/);
  refused(t, () => dp.clipFactors([1], 1e39), 'E_RANGE', /^C:/);
  // The largest float32 itself is fine.
  t.notThrows(() => matmul(x, x, { alpha: 3.4028234663852886e38 }));
});

test('norms must be >= 0: a negative or NaN one is refused where it enters, named by its index', (t) => {
  refused(t, () => dp.clipFactors([1, -1, 2], 1), 'E_RANGE', /^norms\[1\]: expected a norm >= 0, got -1/);
  refused(t, () => dp.clipFactors(new Float32Array([0, NaN]), 1), 'E_RANGE', /^norms\[1\]/);
  refused(t, () => dp.clipFactors([0, 1, NaN], 1), 'E_DTYPE', /^norms\[2\]: expected a finite number/);
  refused(t, () => dp.sampleNorms(new Float32Array([1, 4]), new Float32Array([0, -4])), 'E_RANGE', /^squared\[1\]\[1\]: expected a norm >= 0/);
  refused(t, () => dp.clippedLinearGrad(Tensor.from([1], [1, 1]), Tensor.from([1], [1, 1]), [NaN]), 'E_DTYPE', /^factors\[0\]/);
  t.deepEqual([...dp.sampleNorms(new Float32Array([9, 0]), new Float32Array([16, 0]))], [5, 0]);
});

test('rule: null is not the default rule', (t) => {
  refused(t, () => dp.clipFactors([1], 1, { rule: null as never }), 'E_RANGE', /^options\.rule: expected one of 'abadi', 'automatic', got null/);
  refused(t, () => dp.clipRows(Tensor.from([1, 2], [1, 2]), 1, { rule: null as never }), 'E_RANGE', /^options\.rule/);
  refused(
    t,
    () => new PrivacyEngine({ datasetSize: 10, sampleRate: 0.5, noiseMultiplier: 1, maxGradNorm: 1, delta: 1e-5, rule: null as never }),
    'E_RANGE',
    /^options\.rule/,
  );
});

test('an out that overlaps an input partly is refused; exactly the input is in place where the op allows it', (t) => {
  const buf = new Float32Array(7);
  buf.set([1, 2, 3, 4, 5, 6]);
  const x = Tensor.from(buf.subarray(0, 6), [2, 3]);
  const shifted = Tensor.from(buf.subarray(1, 7), [2, 3]);
  refused(t, () => softmax(x, { out: shifted }), 'E_RANGE', /^options\.out: overlaps x partly; it must be x itself or not overlap it/);
  refused(t, () => gelu(x, { out: shifted }), 'E_RANGE', /^options\.out: overlaps x partly/);
  t.notThrows(() => softmax(x, { out: x }));
  const m = Tensor.from(new Float32Array(4), [2, 2]);
  refused(t, () => matmul(m, m, { out: m }), 'E_RANGE', /^options\.out: overlaps a; it must not share memory with a/);
  const r = Tensor.from(new Float32Array(4), [2, 2]);
  refused(t, () => matmul(m, Tensor.from(new Float32Array(4), [2, 2]), { out: r, residual: r }), 'E_RANGE', /options\.residual/);
  const g = Tensor.from([1, 1, 1], [3]);
  refused(t, () => layerNorm(x, g, g, { out: Tensor.from(buf.subarray(1, 7), [2, 3]) }), 'E_RANGE', /^options\.out: overlaps x partly/);
  const z = Tensor.from(new Float32Array(8), [8]);
  refused(t, () => slash.project({ z, layers: 1, hidden: 8, seed: 1, out: Tensor.from(z.data, [1, 8]) }), 'E_RANGE', /^options\.out: overlaps options\.z/);
});

test('a failed host allocation is E_RANGE naming what was being allocated, not a bare RangeError', (t) => {
  const failing = () => {
    throw new RangeError('Array buffer allocation failed');
  };
  const err = t.throws(() => allocate(1e10, 'zeros([1e10])', failing), { instanceOf: FrugalError }) as FrugalError;
  t.is(err.code, 'E_RANGE');
  t.regex(err.message, /^zeros\(\[1e10\]\): cannot allocate 10000000000 elements \(Array buffer allocation failed\)/);
  // Other errors pass through untouched.
  const other = new TypeError('not an allocation');
  t.is(t.throws(() => allocate(1, 'x', () => { throw other; })), other);
});

test('a detached tensor is reported under the argument it was passed as', (t) => {
  const f = new Float32Array(4);
  const x = Tensor.from(f, [2, 2]);
  structuredClone(f.buffer, { transfer: [f.buffer] });
  const ok = Tensor.from([1, 2, 3, 4], [2, 2]);
  refused(t, () => matmul(ok, x), 'E_SHAPE', /^b: its Float32Array was detached/);
  refused(t, () => gelu(x), 'E_SHAPE', /^x: its Float32Array was detached/);
  refused(t, () => softmax(ok, { out: x }), 'E_SHAPE', /^options\.out: its Float32Array was detached/);
  refused(t, () => dp.addNoise(x, { std: 1, seed: 1 }), 'E_SHAPE', /^t: its Float32Array was detached/);
});
