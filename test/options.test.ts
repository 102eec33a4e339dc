// Options objects: every op, class and accountant refuses a key it does not know
// (naming the nearest known one) and anything but a plain object, instead of
// running with a silent default.
import test from 'ava';
import { FrugalError, PrivacyEngine, SharedLayerShift, Tensor, dp, gelu, layerNorm, layerNormBackward, matmul, random, slash, softmax } from '../lib';

const x = Tensor.from([1, 2, 3, 4], [2, 2]);
const v = Tensor.from([1, 1], [2]);

// Each case misspells one option of one entry point; `near` is the key the message must suggest.
const misspelled: Array<[string, () => unknown, string, string]> = [
  ['layerNorm', () => layerNorm(x, v, v, { epss: 1e-3 } as never), 'epss', 'eps'],
  ['layerNormBackward saved', () => layerNormBackward(x, x, v, { mean: v, rstd: v, rstds: v } as never), 'rstds', 'rstd'],
  ['matmul', () => matmul(x, x, { transposeA: true } as never), 'transposeA', 'transA'],
  ['gelu', () => gelu(x, { outt: x } as never), 'outt', 'out'],
  ['softmax', () => softmax(x, { Out: x } as never), 'Out', 'out'],
  ['random.normal', () => random.normal(4, { seed: 1, scael: 2 } as never), 'scael', 'scale'],
  ['random.words', () => random.words(4, { seed: 1, scale: 2 } as never), 'scale', ''],
  ['dp.clipFactors', () => dp.clipFactors([1], 1, { rules: 'abadi' } as never), 'rules', 'rule'],
  ['dp.addNoise', () => dp.addNoise(Tensor.from([0], [1]), { std: 1, seed: 1, stepp: 2 } as never), 'stepp', 'step'],
  ['dp.rdp.epsilon', () => dp.rdp.epsilon({ q: 0.1, sigma: 1, steps: 1, delta: 1e-5, detla: 1 } as never), 'detla', 'delta'],
  ['dp.rdp.epsilon phase', () => dp.rdp.epsilon({ phases: [{ q: 0.1, sigma: 1, step: 1 }], delta: 1e-5 } as never), 'step', 'steps'],
  ['PrivacyEngine', () => new PrivacyEngine({ datasetSize: 10, sampleRate: 0.1, noiseMultiplier: 1, maxGradNorm: 1, delta: 1e-5, epsilonBudgt: 1 } as never), 'epsilonBudgt', 'epsilonBudget'],
  ['SharedLayerShift', () => new SharedLayerShift({ layers: 1, hidden: 2, seed: 1, dims: 4 } as never), 'dims', 'dim'],
  ['slash.project', () => slash.project({ z: v, layers: 1, hidden: 2, seed: 1, distribution: 'normal' } as never), 'distribution', 'dist'],
];

for (const [what, call, key, near] of misspelled) {
  test(`${what}: an unknown option '${key}' is E_CONFIG naming it${near ? ` and '${near}'` : ''}`, (t) => {
    const err = t.throws(call, { instanceOf: FrugalError }) as FrugalError;
    t.is(err.code, 'E_CONFIG');
    t.true(err.message.includes(`.${key}: unknown option`), err.message);
    if (near) t.true(err.message.includes(`did you mean '${near}'`), err.message);
    else t.false(err.message.includes('did you mean'), err.message);
    t.true(err.message.includes('known: '), err.message);
  });
}

test('the options must be a plain object: a Tensor, a Map, a typed array or a class instance is E_DTYPE', (t) => {
  class Options {
    eps = 1e-3;
  }
  for (const bad of [x, new Map([['out', x]]), new Float32Array(2), new Options(), [1], null, 3]) {
    const err = t.throws(() => layerNorm(x, v, v, bad as never), { instanceOf: FrugalError }) as FrugalError;
    t.is(err.code, 'E_DTYPE', String(bad));
    t.regex(err.message, /^options: expected a plain options object/);
  }
  t.throws(() => gelu(x, x as never), { instanceOf: FrugalError, code: 'E_DTYPE' } as never);
  // An object without a prototype is plain.
  t.notThrows(() => layerNorm(x, v, v, Object.assign(Object.create(null), { eps: 1e-3 })));
});

test("layerNorm's whole result is a valid `saved` for the backward", (t) => {
  const fwd = layerNorm(x, v, v);
  t.notThrows(() => layerNormBackward(x, x, v, fwd));
});
