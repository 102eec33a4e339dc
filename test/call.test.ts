// Native failures carry the caller's stack, in the sync and the async form of an op.
import test from 'ava';
import { FrugalError, Tensor, gelu, geluAsync, info } from '../lib';

// A device buffer no CUDA device backs: only the addon can refuse it (E_DEVICE).
const unbacked = (): Tensor => Tensor.fromDevice({ __frugalDevicePtr: 1n, length: 3 }, [3]);

// The first frame under the message line.
const topFrame = (err: Error): string => (err.stack ?? '').split('\n').find((line) => line.trimStart().startsWith('at ')) ?? '';

test('an async native failure points at the caller, not at the call helper', async (t) => {
  if (info().cuda.available) {
    t.pass('needs a machine without a CUDA device (a fake device pointer must not reach a real GPU)');
    return;
  }
  const x = unbacked();
  const err = await t.throwsAsync(geluAsync(x, { out: x }), { instanceOf: FrugalError, code: 'E_DEVICE' } as never);
  const e = err as unknown as FrugalError;
  t.true(e.stack!.startsWith(`FrugalError: ${e.message}\n`), e.stack);
  t.regex(topFrame(e), /call\.test\.(js|ts)/, e.stack);
});

test('a sync native failure points at the caller', (t) => {
  if (info().cuda.available) {
    t.pass('needs a machine without a CUDA device (a fake device pointer must not reach a real GPU)');
    return;
  }
  const x = unbacked();
  const e = t.throws(() => gelu(x, { out: x }), { instanceOf: FrugalError, code: 'E_DEVICE' } as never) as unknown as FrugalError;
  t.regex(topFrame(e), /call\.test\.(js|ts)/, e.stack);
});
