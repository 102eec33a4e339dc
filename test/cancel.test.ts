// Async calls given an AbortSignal (the last argument of every async form): a
// signal already aborted starts nothing; aborting one in flight stops the CPU
// kernel between its pool tasks and rejects with E_ABORTED; a signal that never
// aborts changes nothing and leaves no listener behind.
import test from 'ava';
import { getEventListeners } from 'node:events';
import { FrugalError, Tensor, matmulAsync, random } from '../lib';

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return '(no error)';
  } catch (err) {
    return err instanceof FrugalError ? err.code : `not a FrugalError: ${String(err)}`;
  }
};

test('a signal aborted before the call starts nothing and rejects with E_ABORTED', async (t) => {
  const out = new Float32Array(1024).fill(7);
  const e = await t.throwsAsync(random.normalAsync(1024, { seed: 1, out }, { signal: AbortSignal.abort() }));
  t.is((e as FrugalError).code, 'E_ABORTED');
  t.regex(e!.message, /normalAsync: aborted by its AbortSignal before it started/);
  t.true(out.every((v) => v === 7), 'out is untouched');
});

test('aborting a long call in flight stops it between pool tasks: E_ABORTED, out partly written', async (t) => {
  // 2048³ takes far longer than the synchronous abort below, so the kernel is cut short.
  const n = 2048;
  const a = Tensor.from(new Float32Array(n * n).fill(1), [n, n]);
  const out = Tensor.from(new Float32Array(n * n).fill(Number.NaN), [n, n]);
  const controller = new AbortController();
  const running = matmulAsync(a, a, { out }, { signal: controller.signal });
  controller.abort();
  const e = await t.throwsAsync(running);
  t.is((e as FrugalError).code, 'E_ABORTED');
  t.regex(e!.message, /matmul: aborted by its AbortSignal; its outputs may be partly written/);
  t.true(out.data.some((v) => Number.isNaN(v)), 'tasks after the abort did not run');
  t.is(getEventListeners(controller.signal, 'abort').length, 0);
});

test('a signal that never aborts gives the plain result and leaves no listener', async (t) => {
  const controller = new AbortController();
  const out = new Float32Array(4096);
  await random.normalAsync(4096, { seed: 3, out }, { signal: controller.signal });
  t.deepEqual(out, random.normal(4096, { seed: 3 }));
  t.is(getEventListeners(controller.signal, 'abort').length, 0);
  // The next call without a signal is not cancellable by this one's token.
  controller.abort();
  t.is(await codeOf(random.normalAsync(16, { seed: 3 })), '(no error)');
});

test('bad async options are refused before anything runs', async (t) => {
  t.is(await codeOf(random.normalAsync(16, { seed: 1 }, { signal: 1 } as never)), 'E_DTYPE');
  const e = await t.throwsAsync(random.normalAsync(16, { seed: 1 }, { sigal: AbortSignal.abort() } as never));
  t.is((e as FrugalError).code, 'E_CONFIG');
  t.regex(e!.message, /sigal/);
  t.is(await codeOf(random.normalAsync(16, { seed: 1 }, new Map() as never)), 'E_DTYPE');
  // An explicit undefined is no options at all.
  t.is(await codeOf(random.normalAsync(16, { seed: 1 }, undefined)), '(no error)');
});
