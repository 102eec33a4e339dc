// LightPath's PathEncoder, PathDecoder and pre-training step: packed paths against
// the same modules run path by path, backward against central finite differences,
// one pre-training step end to end, the initialisation streams, save / load round
// trips, and bad inputs each a FrugalError with its code.
//
// Tolerances: packed vs path by path 1e-5 (absolute; the values are O(1)).
// Finite differences in float32 (no float64 kernels): h = 1e-2 on parameters made
// O(0.3) so every nonlinearity is exercised; |fd − analytic| ≤ 3e-4 + 3e-3·|analytic|
// (over every entry of the encoder's test the worst seen is 7e-5 absolute: float32
// rounding of the loss over 2h, and the O(h²) truncation).
import test, { type ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  FrugalError, PathDecoder, PathEncoder, Tensor, lightpath, pathAttention, random, type ErrorCode, type PathModule,
} from '../lib';
import { assertClose, seededFloats } from './helpers';

const prefix = (lengths: number[]): Int32Array => {
  const o = new Int32Array(lengths.length + 1);
  lengths.forEach((L, b) => { o[b + 1] = o[b] + L; });
  return o;
};

const tensor = (shape: number[], seed: number, scale = 1) => Tensor.from(seededFloats(shape.reduce((a, b) => a * b, 1), seed, scale), shape);

// Parameters of order 0.3 (LayerNorm weights around 1), so that attention and GELU are far from linear.
function randomize(m: PathModule, seed: number): void {
  const state: Record<string, Tensor> = {};
  Object.entries(m.parameters()).forEach(([name, p], i) => {
    const v = seededFloats(p.size, seed + i, name.includes('norm') ? 0.2 : 0.3);
    if (name.includes('norm') && name.endsWith('.weight')) v.forEach((x, j) => { v[j] = 1 + x; });
    state[name] = Tensor.from(v, p.shape.slice());
  });
  m.loadStateDict(state);
}

// Σ a·b in float64.
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

const rows = (t: Tensor, from: number, to: number) => t.data.subarray(from * t.shape[1], to * t.shape[1]);

function throwsCode(t: ExecutionContext, fn: () => unknown, code: ErrorCode, message: RegExp): void {
  const err = t.throws(fn, { instanceOf: FrugalError });
  t.is(err?.code, code, err?.message);
  t.regex(err?.message ?? '', message);
}

// Central differences of loss() for a few entries of `values`, against `analytic`.
function checkGradient(t: ExecutionContext, what: string, values: Float32Array, analytic: Float32Array, loss: () => number): void {
  const picks = [...new Set([0, Math.floor(values.length / 2), values.length - 1, Math.floor(values.length / 3)])];
  const h = 1e-2;
  for (const i of picks) {
    const saved = values[i];
    values[i] = saved + h;
    const up = loss();
    values[i] = saved - h;
    const down = loss();
    values[i] = saved;
    const fd = (up - down) / (2 * h);
    t.true(Math.abs(fd - analytic[i]) <= 3e-4 + 3e-3 * Math.abs(analytic[i]), `${what}[${i}]: finite difference ${fd}, backward ${analytic[i]}`);
  }
}

test('the encoder on packed paths equals the encoder run path by path, forward and backward', (t) => {
  const lengths = [5, 1, 0, 17, 3];
  const offsets = prefix(lengths);
  const dim = 16;
  const packed = new PathEncoder({ dim, heads: 4, depth: 3, seed: 3 });
  randomize(packed, 10);
  const single = new PathEncoder({ dim, heads: 4, depth: 3, seed: 3 });
  single.loadStateDict(packed.stateDict());
  const tokens = tensor([offsets[lengths.length], dim], 1);
  const R = tensor([offsets[lengths.length] + lengths.length, dim], 2);
  const out = packed.forward(tokens, offsets);
  t.deepEqual(out.latent.shape, [offsets[lengths.length] + lengths.length, dim]);
  t.deepEqual([...out.latentOffsets], [...offsets].map((o, b) => o + b));
  const { dTokens } = packed.backward({ dLatent: R });
  lengths.forEach((L, b) => {
    const lo = out.latentOffsets[b];
    const mine = single.forward(Tensor.from(rows(tokens, offsets[b], offsets[b + 1]).slice(), [L, dim]), [0, L]);
    assertClose(t, mine.latent.data, rows(out.latent, lo, lo + L + 1), 1e-5, 0, `path ${b} latent`);
    assertClose(t, mine.cls.data, rows(out.cls, b, b + 1), 1e-5, 0, `path ${b} cls`);
    assertClose(t, rows(out.latent, lo, lo + 1), rows(out.cls, b, b + 1), 0, 0, `path ${b} cls is its first latent row`);
    const mineBack = single.backward({ dLatent: Tensor.from(rows(R, lo, lo + L + 1).slice(), [L + 1, dim]) });
    assertClose(t, mineBack.dTokens.data, rows(dTokens, offsets[b], offsets[b + 1]), 1e-5, 0, `path ${b} dTokens`);
  });
  // The packed gradients are the sums of the paths' ones.
  for (const [name, g] of Object.entries(packed.grads)) assertClose(t, g.data, single.grads[name].data, 1e-5, 1e-5, `grads['${name}']`);
});

test('the decoder on packed paths equals the decoder run path by path', (t) => {
  const lengths = [6, 1, 0, 11];
  const lengthsOffsets = prefix(lengths);
  const dim = 8;
  const { keep, offsets } = pathAttention.keep(lengths, { ratio: 0.7, seed: 4 });
  const packed = new PathDecoder({ dim, heads: 2, seed: 1 });
  randomize(packed, 30);
  const B = lengths.length;
  const latent = tensor([offsets[B] + B, dim], 5);
  const positions = lightpath.sinusoidalPositions(lengthsOffsets, dim);
  const pred = packed.forward(latent, { lengthsOffsets, keep, offsets, positions });
  t.deepEqual(pred.shape, [lengthsOffsets[B], dim]);
  lengths.forEach((L, b) => {
    const k = offsets[b + 1] - offsets[b];
    const mine = packed.forward(Tensor.from(rows(latent, offsets[b] + b, offsets[b + 1] + b + 1).slice(), [k + 1, dim]), {
      lengthsOffsets: [0, L], keep: keep.slice(offsets[b], offsets[b + 1]), offsets: [0, k],
      positions: Tensor.from(rows(positions, lengthsOffsets[b], lengthsOffsets[b + 1]).slice(), [L, dim]),
    });
    assertClose(t, mine.data, rows(pred, lengthsOffsets[b], lengthsOffsets[b + 1]), 1e-5, 0, `path ${b} pred`);
  });
});

test('encoder backward matches central finite differences (every parameter kind, dTokens, dLatent and dCls)', (t) => {
  const offsets = prefix([3, 1, 0, 4]);
  const B = 4, dim = 8;
  const enc = new PathEncoder({ dim, heads: 2, depth: 2, mlpRatio: 2, seed: 5 });
  randomize(enc, 50);
  const tokens = tensor([offsets[B], dim], 7);
  const R = tensor([offsets[B] + B, dim], 8), S = tensor([B, dim], 9);
  const loss = () => {
    const { latent, cls } = enc.forward(tokens, offsets);
    return dot(latent.data, R.data) + dot(cls.data, S.data);
  };
  loss();
  const { dTokens } = enc.backward({ dLatent: R, dCls: S });
  const params = enc.parameters();
  t.is(Object.keys(params).length, 1 + 12 * 2 + 2);
  for (const [name, p] of Object.entries(params)) checkGradient(t, name, p.data, enc.grads[name].data, loss);
  checkGradient(t, 'dTokens', tokens.data, dTokens.data, loss);
});

test('decoder backward matches central finite differences (every parameter kind and dLatent)', (t) => {
  const lengths = [5, 1, 4, 0];
  const lengthsOffsets = prefix(lengths);
  const dim = 8, B = lengths.length;
  const { keep, offsets } = pathAttention.keep(lengths, { ratio: 0.5, seed: 2 });
  const dec = new PathDecoder({ dim, heads: 2, mlpRatio: 2, seed: 6 });
  randomize(dec, 70);
  const latent = tensor([offsets[B] + B, dim], 11);
  const positions = tensor([lengthsOffsets[B], dim], 12, 0.5);
  const R = tensor([lengthsOffsets[B], dim], 13);
  const loss = () => dot(dec.forward(latent, { lengthsOffsets, keep, offsets, positions }).data, R.data);
  loss();
  const { dLatent } = dec.backward(R);
  for (const [name, p] of Object.entries(dec.parameters())) checkGradient(t, name, p.data, dec.grads[name].data, loss);
  checkGradient(t, 'dLatent', latent.data, dLatent.data, loss);
});

test('pretrainStep: the gradients of the summed losses match finite differences', (t) => {
  const lengths = [6, 4, 1];
  const lengthsOffsets = prefix(lengths);
  const dim = 8;
  const encoder = new PathEncoder({ dim, heads: 2, depth: 1, mlpRatio: 2 });
  const decoder = new PathDecoder({ dim, heads: 2, mlpRatio: 2 });
  randomize(encoder, 90);
  randomize(decoder, 110);
  const tokens = tensor([lengthsOffsets[3], dim], 14);
  const target = tensor([lengthsOffsets[3], dim], 15);
  const inputs = { encoder, decoder, tokens, lengthsOffsets, seed: 3, target };
  const { losses, dTokens } = lightpath.pretrainStep(inputs);
  const loss = () => lightpath.pretrainStep(inputs).losses.reduce((a, b) => a + b, 0);
  const grads = (m: PathModule) => Object.fromEntries(Object.entries(m.grads).map(([n, g]) => [n, g.data.slice()]));
  const [encGrads, decGrads] = [grads(encoder), grads(decoder)];
  t.is(losses.length, 2);
  for (const name of ['cls_token', 'blocks.0.attn.qkv.weight', 'blocks.0.mlp.fc2.bias', 'norm.weight']) {
    checkGradient(t, name, encoder.parameters()[name].data, encGrads[name], loss);
  }
  for (const name of ['mask_token', 'decoder_blocks.0.attn.proj.weight', 'decoder_norm.bias']) {
    checkGradient(t, name, decoder.parameters()[name].data, decGrads[name], loss);
  }
  checkGradient(t, 'dTokens', tokens.data, dTokens.data, loss);
});

test('pretrainStep runs two views end to end: finite losses, nonzero gradients, the same for a seed', (t) => {
  const lengths = [50, 17, 1, 0, 9, 2];
  const lengthsOffsets = prefix(lengths);
  const dim = 16;
  const step = (seed: number) => {
    const encoder = new PathEncoder({ dim, heads: 2, depth: 2, seed: 1 });
    const decoder = new PathDecoder({ dim, heads: 2, seed: 1 });
    const positions = lightpath.sinusoidalPositions(lengthsOffsets, dim);
    const tokens = tensor([lengthsOffsets[lengths.length], dim], 21);
    const result = lightpath.pretrainStep({ encoder, decoder, tokens, lengthsOffsets, seed, positions });
    return { result, encoder, decoder };
  };
  const a = step(7);
  t.is(a.result.losses.length, 2);
  for (const loss of a.result.losses) t.true(Number.isFinite(loss) && loss > 0, `loss ${loss}`);
  // r = 0.7 and 0.8 of 50 edges keep 15 and 9 (a single edge keeps itself, an empty path nothing).
  t.deepEqual([...a.result.views[0].offsets].slice(0, 2), [0, 15]);
  t.deepEqual([...a.result.views[1].offsets].slice(0, 2), [0, 9]);
  for (const m of [a.encoder, a.decoder]) {
    for (const [name, g] of Object.entries(m.grads)) t.true(g.data.some((v) => v !== 0), `grads['${name}'] is all zeros`);
    for (const g of Object.values(m.grads)) t.true(g.data.every(Number.isFinite));
  }
  t.true(a.result.dTokens.data.some((v) => v !== 0));
  const b = step(7);
  t.deepEqual(b.result.losses, a.result.losses);
  t.deepEqual(b.result.dTokens.data, a.result.dTokens.data);
  for (const [name, g] of Object.entries(a.encoder.grads)) t.deepEqual(b.encoder.grads[name].data, g.data, name);
  t.notDeepEqual(step(8).result.losses, a.result.losses);
});

test('reconstructionLoss is the mean over removed rows of the per-row mean squared error', (t) => {
  const pred = Tensor.from([1, 2, 3, 4, 5, 6], [3, 2]);
  const target = Tensor.from([0, 0, 3, 5, 5, 8], [3, 2]);
  const { loss, dPred } = lightpath.reconstructionLoss(pred, target, Uint8Array.from([1, 0, 1]));
  t.is(loss, ((1 + 4) / 2 + (0 + 4) / 2) / 2);
  assertClose(t, dPred.data, [1 / 2, 2 / 2, 0, 0, 0, -2 / 2], 1e-7, 0, 'dPred');
  const none = lightpath.reconstructionLoss(pred, target, new Uint8Array(3));
  t.is(none.loss, 0);
  t.true(none.dPred.data.every((v) => v === 0));
  // removedMask: 1 at every position keep does not list.
  const mask = lightpath.removedMask({ lengthsOffsets: [0, 3, 5], keep: [2, 0, 1], offsets: [0, 2, 3] });
  t.deepEqual([...mask], [0, 1, 0, 1, 0]);
});

test('initialisation: normal(0.02) weights and tokens from tag-6 streams, zero biases, unit LayerNorm weights', (t) => {
  const enc = new PathEncoder({ dim: 32, heads: 4, depth: 2, seed: 9 });
  const p = enc.parameters();
  const names = Object.keys(p);
  t.is(names[0], 'cls_token');
  t.deepEqual(p.cls_token.shape, [1, 1, 32]);
  t.deepEqual(p['blocks.1.attn.qkv.weight'].shape, [96, 32]);
  t.deepEqual(p['blocks.1.mlp.fc1.weight'].shape, [128, 32]);
  t.deepEqual(p['blocks.1.mlp.fc2.weight'].shape, [32, 128]);
  t.deepEqual(names.slice(-2), ['norm.weight', 'norm.bias']);
  const sub = names.indexOf('blocks.1.mlp.fc1.weight');
  t.deepEqual(p['blocks.1.mlp.fc1.weight'].data, random.normal(128 * 32, { seed: 9, sub, tag: random.tags.parameterInit, scale: 0.02 }));
  const w = p['blocks.0.mlp.fc1.weight'].data;
  const std = Math.sqrt(dot(w, w) / w.length);
  t.true(std > 0.018 && std < 0.022, `std ${std}`);
  t.true(p['blocks.0.attn.qkv.bias'].data.every((v) => v === 0));
  t.true(p['blocks.0.norm2.weight'].data.every((v) => v === 1));
  t.deepEqual(new PathEncoder({ dim: 32, heads: 4, depth: 2, seed: 9 }).stateDict(), enc.stateDict());
  t.notDeepEqual(new PathEncoder({ dim: 32, heads: 4, depth: 2, seed: 10 }).parameters().cls_token.data, p.cls_token.data);
  const dec = new PathDecoder({ dim: 32, heads: 4, seed: 9 });
  t.deepEqual(Object.keys(dec.parameters()).slice(0, 2), ['mask_token', 'decoder_blocks.0.norm1.weight']);
  t.notDeepEqual(dec.parameters().mask_token.data, p.cls_token.data);
  t.true(Object.values(enc.grads).every((g) => g.data.every((v) => v === 0)));
});

test('save / load round trip of the encoder and the decoder; state dict checks', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'frugal-path-encoder-'));
  try {
    const enc = new PathEncoder({ dim: 8, heads: 2, depth: 2, mlpRatio: 3, eps: 1e-5, seed: 2n ** 40n + 1n });
    randomize(enc, 130);
    const file = path.join(dir, 'encoder.safetensors');
    enc.save(file);
    const back = PathEncoder.load(file);
    t.deepEqual([back.dim, back.heads, back.depth, back.mlpRatio, back.eps, back.seed], [8, 2, 2, 3, 1e-5, 2n ** 40n + 1n]);
    t.deepEqual(back.stateDict(), enc.stateDict());
    const tokens = tensor([5, 8], 3);
    t.deepEqual(back.forward(tokens, [0, 2, 5]).latent.data, enc.forward(tokens, [0, 2, 5]).latent.data);

    const dec = new PathDecoder({ dim: 8, heads: 4, seed: 3 });
    randomize(dec, 150);
    const decFile = path.join(dir, 'decoder.safetensors');
    dec.save(decFile);
    t.deepEqual(PathDecoder.load(decFile).stateDict(), dec.stateDict());
    throwsCode(t, () => PathEncoder.load(decFile), 'E_CONFIG', /frugal\.PathEncoder/);

    const state = enc.stateDict();
    throwsCode(t, () => enc.loadStateDict({ ...state, pos_embed: tensor([1, 8], 1) }), 'E_CONFIG', /pos_embed/);
    enc.loadStateDict({ ...state, pos_embed: tensor([1, 8], 1) }, { strict: false });
    const { 'blocks.1.mlp.fc2.bias': _dropped, ...missing } = state;
    throwsCode(t, () => enc.loadStateDict(missing), 'E_CONFIG', /blocks\.1\.mlp\.fc2\.bias/);
    throwsCode(t, () => enc.loadStateDict({ ...state, 'norm.weight': tensor([9], 1) }), 'E_SHAPE', /norm\.weight.*\[8\].*\[9\]/);
    throwsCode(t, () => enc.loadStateDict({ ...state, cls_token: [1, 2] as unknown as Tensor }), 'E_DTYPE', /cls_token/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bad options and inputs give a FrugalError with the right code, naming the argument', (t) => {
  throwsCode(t, () => new PathEncoder({ dim: 10, heads: 3 }), 'E_CONFIG', /heads.*divisor of dim 10.*3/);
  throwsCode(t, () => new PathEncoder({ dim: 512, heads: 1 }), 'E_CONFIG', /dim \/ heads.*256/);
  throwsCode(t, () => new PathEncoder({ dim: 0 }), 'E_RANGE', /options\.dim/);
  throwsCode(t, () => new PathEncoder({ dim: '8' as unknown as number }), 'E_DTYPE', /options\.dim/);
  throwsCode(t, () => new PathEncoder({ depht: 2 } as unknown as object), 'E_CONFIG', /depht.*did you mean 'depth'/);
  throwsCode(t, () => new PathEncoder({ eps: 0 }), 'E_RANGE', /options\.eps/);
  throwsCode(t, () => new PathEncoder({ mlpRatio: 0 }), 'E_RANGE', /options\.mlpRatio/);
  throwsCode(t, () => new PathEncoder({ dim: 8, heads: 2, mlpRatio: 0.1 }), 'E_CONFIG', /mlpRatio/);
  throwsCode(t, () => new PathEncoder({ seed: -1 }), 'E_RANGE', /options\.seed/);
  throwsCode(t, () => new PathDecoder({ dim: 6, heads: 4 }), 'E_CONFIG', /heads/);

  const enc = new PathEncoder({ dim: 8, heads: 2, depth: 1 });
  throwsCode(t, () => enc.backward({ dCls: tensor([1, 8], 1) }), 'E_CONFIG', /call forward first/);
  throwsCode(t, () => enc.forward(tensor([3, 7], 1), [0, 3]), 'E_SHAPE', /tokens.*\[\*, 8\].*\[3, 7\]/);
  throwsCode(t, () => enc.forward([1, 2] as unknown as Tensor, [0, 3]), 'E_DTYPE', /tokens/);
  throwsCode(t, () => enc.forward(tensor([3, 8], 1), [0, 2]), 'E_SHAPE', /offsets.*3 rows.*2/);
  throwsCode(t, () => enc.forward(tensor([3, 8], 1), [0, 2, 1, 3]), 'E_SHAPE', /offsets\[2\]/);
  throwsCode(t, () => enc.forward(tensor([3, 8], 1), new Float32Array([0, 3]) as unknown as Int32Array), 'E_DTYPE', /offsets/);
  enc.forward(tensor([3, 8], 1), [0, 1, 3]);
  throwsCode(t, () => enc.backward({}), 'E_CONFIG', /dLatent, dCls or both/);
  throwsCode(t, () => enc.backward({ dLatent: tensor([4, 8], 1) }), 'E_SHAPE', /grads\.dLatent.*\[5, 8\]/);
  throwsCode(t, () => enc.backward({ dCls: tensor([3, 8], 1) }), 'E_SHAPE', /grads\.dCls.*\[2, 8\]/);
  throwsCode(t, () => enc.backward({ dcls: tensor([2, 8], 1) } as unknown as object), 'E_CONFIG', /dcls/);
  t.true(Object.values(enc.grads).every((g) => g.data.every((v) => v === 0)), 'a refused backward adds nothing');
  enc.backward({ dCls: tensor([2, 8], 1) });
  throwsCode(t, () => enc.backward({ dCls: tensor([2, 8], 1) }), 'E_CONFIG', /one backward/);

  const dec = new PathDecoder({ dim: 8, heads: 2 });
  const layout = { lengthsOffsets: [0, 4, 6], keep: [3, 1, 0], offsets: [0, 2, 3] };
  throwsCode(t, () => dec.forward(tensor([4, 8], 1), layout), 'E_SHAPE', /latent: expected 5 rows/);
  throwsCode(t, () => dec.forward(tensor([5, 8], 1), { ...layout, keep: [3, 4, 0] }), 'E_RANGE', /layout\.keep\[1\].*path 0 in \[0, 4\).*4/);
  throwsCode(t, () => dec.forward(tensor([5, 8], 1), { ...layout, keep: [3, 3, 0] }), 'E_RANGE', /layout\.keep\[1\]/);
  throwsCode(t, () => dec.forward(tensor([5, 8], 1), { ...layout, lengthsOffsets: [0, 6] }), 'E_SHAPE', /layout\.offsets: expected 2 entries/);
  throwsCode(t, () => dec.forward(tensor([5, 8], 1), { ...layout, positions: tensor([5, 8], 1) }), 'E_SHAPE', /layout\.positions.*\[6, 8\]/);
  dec.forward(tensor([5, 8], 1), layout);
  throwsCode(t, () => dec.backward(tensor([5, 8], 1)), 'E_SHAPE', /dPred.*\[6, 8\]/);

  const pred = tensor([3, 2], 1);
  throwsCode(t, () => lightpath.reconstructionLoss(pred, pred, new Uint8Array(2)), 'E_SHAPE', /removed.*3/);
  throwsCode(t, () => lightpath.reconstructionLoss(pred, pred, [1, 0, 1] as unknown as Uint8Array), 'E_DTYPE', /removed/);
  throwsCode(t, () => lightpath.reconstructionLoss(pred, tensor([2, 2], 1), new Uint8Array(3)), 'E_SHAPE', /target/);

  const inputs = { encoder: enc, decoder: dec, tokens: tensor([6, 8], 1), lengthsOffsets: [0, 4, 6], seed: 1 };
  enc.zeroGrad();
  throwsCode(t, () => lightpath.pretrainStep({ ...inputs, ratios: [0.7, 1] }), 'E_RANGE', /inputs\.ratios\[1\]/);
  throwsCode(t, () => lightpath.pretrainStep({ ...inputs, decoder: new PathDecoder({ dim: 16, heads: 2 }) }), 'E_CONFIG', /width 8/);
  throwsCode(t, () => lightpath.pretrainStep({ ...inputs, encoder: {} as PathEncoder }), 'E_DTYPE', /inputs\.encoder/);
  throwsCode(t, () => lightpath.pretrainStep({ ...inputs, lengthsOffsets: [0, 4, 5] }), 'E_SHAPE', /inputs\.lengthsOffsets/);
  throwsCode(t, () => lightpath.pretrainStep({ ...inputs, target: tensor([6, 4], 1) }), 'E_SHAPE', /inputs\.target/);
  t.true(Object.values(enc.grads).every((g) => g.data.every((v) => v === 0)), 'a refused step adds nothing');
});
