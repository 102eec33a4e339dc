import test from 'ava';
import { FrugalError, Tensor, info, isaLevels, setIsa, setNumThreads, zeros } from '../lib';

test('info reports version, isa, threads and cuda', (t) => {
  const i = info();
  t.regex(i.version, /^\d+\.\d+\.\d+/);
  t.true(['ref', 'avx2', 'avx512'].includes(i.isa));
  t.true(i.threads >= 1);
  t.is(typeof i.cuda.available, 'boolean');
  t.true(Array.isArray(i.cuda.devices));
});

test('setNumThreads and setIsa validate their argument', (t) => {
  for (const bad of [0, -1, 1.5, 1e9, NaN, '2' as unknown as number]) {
    const e = t.throws(() => setNumThreads(bad), { instanceOf: FrugalError });
    t.regex(e!.message, /^n:/);
  }
  t.throws(() => setIsa('sse' as never), { instanceOf: FrugalError, code: 'E_RANGE' } as never);
  for (const level of isaLevels()) {
    setIsa(level);
    t.is(info().isa, level);
  }
});

test('Tensor.from checks shape and data', (t) => {
  const x = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
  t.deepEqual(x.shape, [2, 3]);
  t.is(x.device, 'cpu');
  t.is(x.data[5], 6);
  const f = new Float32Array(4);
  t.is(Tensor.from(f, [4]).data, f, 'Float32Array is shared, not copied');
  const cases: Array<[unknown, unknown, string]> = [
    [[1, 2], [3], 'E_SHAPE'],
    [[1, NaN], [2], 'E_DTYPE'],
    [[1, Infinity], [2], 'E_DTYPE'],
    [new Float64Array(2), [2], 'E_DTYPE'],
    [[1], [-1], 'E_SHAPE'],
    [[1], [0.5], 'E_SHAPE'],
    [[], [2 ** 20, 2 ** 20], 'E_RANGE'],
    [[1], 'x', 'E_SHAPE'],
  ];
  for (const [data, shape, code] of cases) {
    const e = t.throws(() => Tensor.from(data as number[], shape as number[]), { instanceOf: FrugalError });
    t.is(e!.code as string, code, `${JSON.stringify(shape)}`);
  }
});

test('a detached buffer is caught', (t) => {
  const f = new Float32Array(8);
  const x = Tensor.from(f, [8]);
  structuredClone(f.buffer, { transfer: [f.buffer] });
  t.throws(() => x.data, { instanceOf: FrugalError, code: 'E_SHAPE' } as never);
  t.throws(() => Tensor.from(f, [8]), { instanceOf: FrugalError, code: 'E_SHAPE' } as never);
});

test('zeros and reshape; cuda without a device gives E_DEVICE', (t) => {
  const z = zeros([3, 4]);
  t.is(z.size, 12);
  t.deepEqual(z.reshape([4, 3]).shape, [4, 3]);
  t.throws(() => z.reshape([5]), { code: 'E_SHAPE' } as never);
  if (!info().cuda.available) t.throws(() => z.to('cuda'), { instanceOf: FrugalError, code: 'E_DEVICE' } as never);
  else t.deepEqual(Array.from(z.to('cuda').to('cpu').data), Array.from(z.data));
});
