// EgeUNet against the PyTorch float64 network fixture (egeunet_small.safetensors:
// the authors' module at 64×64 with seeded weights): the parameter count, the mask
// and the five deep-supervision masks, ∂x and every parameter's gradient of
// L = Σ dmask·mask; inference equals the training forward; bad inputs.
// Tolerances: outputs within 2e-5 + 1e-4·|want|; gradients within 1e-4·max|want| +
// 1e-3·|want| (fp32 sums over 64×64 pixels against fp64).
import * as path from 'node:path';

import test from 'ava';
import { EgeUNet, FrugalError, Tensor, loadSafetensors, type ErrorCode } from '../lib';
import { assertClose } from './helpers';

const file = loadSafetensors(path.join(__dirname, '..', '..', 'test', 'fixtures', 'egeunet_small.safetensors')).tensors;
const net = new EgeUNet();
net.loadStateDict(file);

test('the default network has 53,374 parameters, keyed as the authors’ state_dict', (t) => {
  t.is(new EgeUNet().parameterCount(), 53374);
  const keys = Object.keys(file).filter((k) => !/^(input|output|grad)\./.test(k)).sort();
  t.deepEqual(Object.keys(net.params).sort(), keys);
});

test('forward matches the fixture: the mask and the deep-supervision masks', (t) => {
  const out = net.forward(file['input.x'], { train: false });
  assertClose(t, out.mask.data, file['output.mask'].data, 2e-5, 1e-4, 'mask');
  t.is(out.ds.length, 5);
  out.ds.forEach((d, i) => assertClose(t, d.data, file[`output.ds${i + 1}`].data, 2e-5, 1e-4, `ds${i + 1}`));
  const train = net.forward(file['input.x']);
  t.deepEqual(train.mask.data, out.mask.data);
});

test('backward matches the fixture: ∂x and every parameter gradient', (t) => {
  net.zeroGrad();
  net.forward(file['input.x']);
  const dx = net.backward({ dMask: file['input.dmask'] });
  const near = (got: Float32Array, want: Float32Array, what: string) => {
    const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assertClose(t, got, want, 1e-4 * scale + 1e-7, 1e-3, what);
  };
  near(dx.data, file['grad.x'].data, 'dx');
  for (const key of Object.keys(net.params)) near(net.grads[key].data, file[`grad.${key}`].data, `d ${key}`);
});

test('bad inputs: each a FrugalError naming the argument', (t) => {
  const code = (fn: () => unknown, want: ErrorCode, pattern: RegExp) => {
    const err = t.throws(fn, { instanceOf: FrugalError });
    t.is(err?.code, want, err?.message);
    t.regex(err?.message ?? '', pattern);
  };
  code(() => net.forward(Tensor.from(new Float32Array(3 * 48 * 48), [1, 3, 48, 48])), 'E_SHAPE', /multiples of 32/);
  code(() => net.forward(Tensor.from(new Float32Array(4 * 64 * 64), [1, 4, 64, 64])), 'E_SHAPE', /^x:/);
  code(() => new EgeUNet({ channels: [8, 16, 24, 30, 48, 64] }), 'E_SHAPE', /channels\[3\]/);
  code(() => new EgeUNet().backward({ dMask: file['input.dmask'] }), 'E_CONFIG', /no training forward/);
  const partial = { ...file };
  delete partial['GAB3.tail_conv.1.bias'];
  code(() => new EgeUNet().loadStateDict(partial), 'E_CONFIG', /GAB3\.tail_conv\.1\.bias/);
});
