// slash (SLaSh / JR-WARP) from TypeScript: the PyTorch fixtures (test/fixtures/slash.json,
// float64 autograd, W_l from random streams v1), a plain-JS float64 reference built from
// random.normal/rademacher on awkward sizes, every ISA level, sync and async forms,
// the modules, task files, and bad inputs.
// Tolerances (fp32 against fp64): projections 2e-5·√(terms summed) absolute + 1e-5
// relative; output block y 1e-5 + 1e-4 relative; its gradients 2e-5·√(rows) + 1e-4 relative.
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FrugalError, PrivacyEngine, ReparamPrompt, SharedLayerShift, Tensor, loadSafetensors, random, slash } from '../lib';
import { assertClose as close, eachIsa, fixture, runJobFile, seededFloats } from './helpers';

interface Projection {
  seed: number; layers: number; d: number; H: number; B: number; dist: 'normal' | 'rademacher';
  z: number[]; shifts: number[]; g: number[]; dz: number[]; g_per_sample: number[]; dz_per_sample: number[];
}
interface Block {
  B: number; T: number; F: number; H: number; eps: number;
  a: number[]; Wo: number[]; c: number[]; h: number[]; shift: number[]; gamma: number[]; beta: number[]; dy: number[];
  y: number[]; d_a: number[]; d_h: number[]; d_c: number[]; d_gamma: number[]; d_beta: number[]; d_Wo: number[];
  d_shift: number[]; d_shift_per_sample: number[];
}
const fx = fixture<{ projections: Projection[]; blocks: Block[] }>('slash.json');

const projTol = (terms: number) => 2e-5 * Math.sqrt(terms) + 1e-6;

// W_l [d, H] from the public random API: the stream contract, independent of the kernels.
function jsProjection(seed: number | bigint, l: number, d: number, H: number, dist: 'normal' | 'rademacher'): Float32Array {
  const opts = { seed, sub: l, tag: random.tags.projection, scale: 1 / Math.sqrt(d) };
  return dist === 'normal' ? random.normal(d * H, opts) : random.rademacher(d * H, opts);
}

function jsProject(z: Float32Array, layers: number, H: number, seed: number | bigint, dist: 'normal' | 'rademacher'): Float64Array {
  const d = z.length;
  const out = new Float64Array(layers * H);
  for (let l = 0; l < layers; l++) {
    const W = jsProjection(seed, l, d, H, dist);
    for (let i = 0; i < d; i++) for (let j = 0; j < H; j++) out[l * H + j] += z[i] * W[i * H + j];
  }
  return out;
}

function jsProjectBackward(g: Float32Array, B: number, layers: number, H: number, d: number, seed: number | bigint, dist: 'normal' | 'rademacher'): Float64Array {
  const out = new Float64Array(B * d);
  for (let l = 0; l < layers; l++) {
    const W = jsProjection(seed, l, d, H, dist);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < d; i++) {
        let s = 0;
        for (let j = 0; j < H; j++) s += g[(b * layers + l) * H + j] * W[i * H + j];
        out[b * d + i] += s;
      }
    }
  }
  return out;
}

const tensor = (v: number[] | Float32Array, shape: number[]) => Tensor.from(Float32Array.from(v), shape);

function blockInputs(c: Block) {
  return {
    a: tensor(c.a, [c.B, c.T, c.F]), Wo: tensor(c.Wo, [c.H, c.F]), c: tensor(c.c, [c.H]), h: tensor(c.h, [c.B, c.T, c.H]),
    shift: tensor(c.shift, [c.H]), gamma: tensor(c.gamma, [c.H]), beta: tensor(c.beta, [c.H]), eps: c.eps,
  };
}

test.serial('project and projectBackward match the PyTorch fixtures at every ISA level', (t) => {
  eachIsa((level) => {
    for (const p of fx.projections) {
      const z = tensor(p.z, [p.d]);
      const shifts = slash.project({ z, layers: p.layers, hidden: p.H, seed: p.seed, dist: p.dist });
      t.deepEqual(shifts.shape, [p.layers, p.H]);
      close(t, shifts.data, p.shifts, projTol(p.d), 1e-5, `${level} ${p.dist} shifts`);
      const dz = slash.projectBackward({ g: tensor(p.g, [p.layers, p.H]), dim: p.d, seed: p.seed, dist: p.dist });
      t.deepEqual(dz.shape, [p.d]);
      close(t, dz.data, p.dz, projTol(p.layers * p.H), 1e-5, `${level} ${p.dist} dz`);
      const per = slash.projectBackward({ g: tensor(p.g_per_sample, [p.B, p.layers, p.H]), dim: p.d, seed: p.seed, dist: p.dist });
      t.deepEqual(per.shape, [p.B, p.d]);
      close(t, per.data, p.dz_per_sample, projTol(p.layers * p.H), 1e-5, `${level} ${p.dist} per-sample dz`);
    }
  });
});

test.serial('project and projectBackward match a JS reference on awkward sizes', (t) => {
  const seeds: Array<number | bigint> = [0, 5, 2n ** 40n + 3n, 2n ** 64n - 1n];
  const shapes = [[1, 1, 1], [2, 7, 17], [1, 33, 255], [3, 17, 257], [1, 257, 33]];
  eachIsa((level) => {
    for (const [layers, d, H] of shapes) {
      for (const dist of ['normal', 'rademacher'] as const) {
        const seed = seeds[(d + H) % seeds.length];
        const z = seededFloats(d, d * 31 + H);
        const shifts = slash.project({ z: Tensor.from(z, [d]), layers, hidden: H, seed, dist });
        close(t, shifts.data, jsProject(z, layers, H, seed, dist), projTol(d), 1e-5, `${level} ${dist} [${layers},${d},${H}] shifts`);
        for (const B of [1, 4]) {
          const g = seededFloats(B * layers * H, B + d);
          const shape = B === 1 ? [layers, H] : [B, layers, H];
          const dz = slash.projectBackward({ g: Tensor.from(g, shape), dim: d, seed, dist });
          close(t, dz.data, jsProjectBackward(g, B, layers, H, d, seed, dist), projTol(layers * H), 1e-5, `${level} ${dist} B=${B} dz`);
        }
      }
    }
  });
});

test.serial('outputBlock and its backward match the PyTorch fixtures at every ISA level', (t) => {
  eachIsa((level) => {
    for (const c of fx.blocks) {
      const inp = blockInputs(c);
      const fwd = slash.outputBlock(inp);
      t.deepEqual(fwd.y.shape, [c.B, c.T, c.H]);
      t.deepEqual(fwd.mean.shape, [c.B, c.T]);
      close(t, fwd.y.data, c.y, 1e-5, 1e-4, `${level} y`);
      for (const withY of [true, false]) {
        const g = slash.outputBlockBackward({
          ...inp, dy: tensor(c.dy, [c.B, c.T, c.H]), y: withY ? fwd.y : undefined, mean: fwd.mean, rstd: fwd.rstd,
          tokensPerSample: c.T, needWo: true,
        });
        const atol = 2e-5 * Math.sqrt(c.B * c.T) + 1e-5;
        const what = `${level} ${withY ? 'from y' : 'recomputed'}`;
        close(t, g.dH.data, c.d_h, atol, 1e-4, `${what} dH`);
        close(t, g.dA!.data, c.d_a, atol, 1e-4, `${what} dA`);
        close(t, g.dC.data, c.d_c, atol, 1e-4, `${what} dC`);
        close(t, g.dShift.data, c.d_shift, atol, 1e-4, `${what} dShift`);
        close(t, g.dGamma.data, c.d_gamma, atol, 1e-4, `${what} dGamma`);
        close(t, g.dBeta.data, c.d_beta, atol, 1e-4, `${what} dBeta`);
        close(t, g.dWo!.data, c.d_Wo, atol, 1e-4, `${what} dWo`);
        close(t, g.dShiftPerSample!.data, c.d_shift_per_sample, atol, 1e-4, `${what} dShiftPerSample`);
        t.deepEqual(g.dA!.shape, [c.B, c.T, c.F]);
      }
    }
  });
});

test('outputBlock equals matmul + adds + layerNorm, and its optional outputs can be skipped', (t) => {
  const N = 33, F = 17, H = 257;
  const a = Tensor.from(seededFloats(N * F, 1), [N, F]);
  const Wo = Tensor.from(seededFloats(H * F, 2), [H, F]);
  const c = Tensor.from(seededFloats(H, 3), [H]);
  const h = Tensor.from(seededFloats(N * H, 4), [N, H]);
  const gamma = Tensor.from(seededFloats(H, 5).map((v) => v + 1.5), [H]);
  const beta = Tensor.from(seededFloats(H, 6), [H]);
  const { y } = slash.outputBlock({ a, Wo, c, h, gamma, beta });
  // JS: pre = a·Woᵀ + c + h, LayerNorm in float64.
  const want = new Float64Array(N * H);
  for (let r = 0; r < N; r++) {
    const pre = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      let s = c.data[j] + h.data[r * H + j];
      for (let k = 0; k < F; k++) s += a.data[r * F + k] * Wo.data[j * F + k];
      pre[j] = s;
    }
    const mu = pre.reduce((x, v) => x + v, 0) / H;
    const v = pre.reduce((x, p) => x + (p - mu) ** 2, 0) / H;
    for (let j = 0; j < H; j++) want[r * H + j] = gamma.data[j] * (pre[j] - mu) / Math.sqrt(v + 1e-5) + beta.data[j];
  }
  close(t, y.data, want, 1e-4, 1e-4, 'y');
  const fwd = slash.outputBlock({ a, Wo, c, h, gamma, beta });
  const g = slash.outputBlockBackward({ a, Wo, c, h, gamma, beta, dy: h, ...fwd, needA: false });
  t.is(g.dA, undefined);
  t.is(g.dWo, undefined);
  t.is(g.dShiftPerSample, undefined);
  t.deepEqual(g.dH.shape, [N, H]);
});

test('foldShift makes the shifted block a plain linear layer', (t) => {
  const H = 7;
  const c = Tensor.from(seededFloats(H, 1), [H]);
  const s = Tensor.from(seededFloats(H, 2), [H]);
  close(t, slash.foldShift(c, s).data, Array.from(c.data, (v, j) => Math.fround(v + s.data[j])), 0, 0, 'c + shift');
  const a = Tensor.from(seededFloats(3 * 5, 3), [3, 5]);
  const Wo = Tensor.from(seededFloats(H * 5, 4), [H, 5]);
  const h = Tensor.from(seededFloats(3 * H, 5), [3, H]);
  const gamma = Tensor.from(new Float32Array(H).fill(1), [H]);
  const beta = Tensor.from(new Float32Array(H), [H]);
  const shifted = slash.outputBlock({ a, Wo, c, h, shift: s, gamma, beta }).y;
  const folded = slash.outputBlock({ a, Wo, c: slash.foldShift(c, s), h, gamma, beta }).y;
  close(t, folded.data, shifted.data, 1e-6, 1e-6, 'folded block');
});

test('JR-WARP prompt ops on a packed batch, forward and backward', (t) => {
  const H = 5;
  const offsets = [0, 3, 3, 7];  // samples of 3, 0 and 4 tokens
  const x = Tensor.from(seededFloats(7 * H, 1), [7, H]);
  const prompt = Tensor.from(seededFloats(H, 2), [H]);
  const { out, offsets: inserted } = slash.promptInsert(x, prompt, offsets);
  t.deepEqual(Array.from(inserted), [0, 4, 5, 10]);
  t.deepEqual(out.shape, [10, H]);
  const row = (tt: Tensor, r: number) => Array.from(tt.data.subarray(r * H, (r + 1) * H));
  for (const r of [0, 4, 5]) t.deepEqual(row(out, r), Array.from(prompt.data));
  t.deepEqual(row(out, 1), row(x, 0));
  t.deepEqual(row(out, 6), row(x, 3));
  const dout = Tensor.from(seededFloats(10 * H, 3), [10, H]);
  const { dx, dPrompt } = slash.promptInsertBackward(dout, offsets);
  t.deepEqual(row(dx, 0), row(dout, 1));
  t.deepEqual(row(dx, 6), row(dout, 9));
  close(t, dPrompt.data, row(dout, 0).map((v, j) => v + dout.data[4 * H + j] + dout.data[5 * H + j]), 1e-6, 1e-6, 'dPrompt');
  const before = row(out, 5);
  slash.promptAdd(out, prompt, inserted);
  close(t, row(out, 5), before.map((v, j) => v + prompt.data[j]), 1e-6, 0, 'promptAdd');
  close(t, slash.promptAddBackward(dout, inserted).data, dPrompt.data, 1e-6, 1e-6, 'promptAddBackward');
});

test('SharedLayerShift: shifts, accumulated and per-sample gradients, fold, zeroGrad', (t) => {
  const m = new SharedLayerShift({ layers: 3, hidden: 6, dim: 8, seed: 11, z: tensor(fx.projections[0].z, [8]) });
  close(t, m.shifts().data, fx.projections[0].shifts, projTol(8), 1e-5, 'shifts');
  const g = tensor(fx.projections[0].g, [3, 6]);
  m.backward(g);
  m.backward(g);
  close(t, m.grad.data, fx.projections[0].dz.map((v) => 2 * v), 2 * projTol(18), 1e-5, 'grad accumulates');
  m.backward(tensor(fx.projections[0].g_per_sample, [2, 3, 6]));
  close(t, m.perSampleGrad!.data, fx.projections[0].dz_per_sample, projTol(18), 1e-5, 'per-sample grad');
  const err = t.throws(() => m.backward(Tensor.from(new Float32Array(3 * 3 * 6), [3, 3, 6])), { instanceOf: FrugalError });
  t.is(err?.code, 'E_SHAPE');
  m.zeroGrad();
  t.is(m.perSampleGrad, undefined);
  t.true(m.grad.data.every((v) => v === 0));
  const biases = Tensor.from(seededFloats(18, 4), [3, 6]);
  const folded = m.foldInto(biases) as Tensor;
  const shifts = m.shifts().data;
  close(t, folded.data, biases.data.map((v, k) => v + shifts[k]), 1e-6, 1e-6, 'foldInto [L, H]');
  const rows = [0, 1, 2].map((l) => Tensor.from(biases.data.slice(l * 6, l * 6 + 6), [6]));
  const perLayer = m.foldInto(rows) as Tensor[];
  close(t, perLayer[2].data, folded.data.subarray(12, 18), 0, 0, 'foldInto per layer');
});

test('ReparamPrompt: ∂z equals the projection of the prompt rows\' gradients', (t) => {
  const L = 3, H = 4, d = 5;
  const jr = new ReparamPrompt({ layers: L, hidden: H, dim: d, seed: 3, z: Tensor.from(seededFloats(d, 9), [d]) });
  const offsets = [0, 2, 5];
  jr.beginStep();
  const { out, offsets: withPrompt } = jr.insert(Tensor.from(seededFloats(5 * H, 1), [5, H]), offsets);
  const shifts = jr.shifts().data;
  close(t, out.data.subarray(0, H), shifts.subarray(0, H), 0, 0, 'prompt row is z·W_0');
  jr.add(1, out, withPrompt);
  const d1 = Tensor.from(seededFloats(7 * H, 2), [7, H]);
  const d0 = Tensor.from(seededFloats(7 * H, 3), [7, H]);
  jr.addBackward(1, d1, withPrompt);
  jr.insertBackward(d0, offsets);
  const dz = jr.finishBackward();
  const g = new Float32Array(L * H);
  for (let j = 0; j < H; j++) {
    g[j] = d0.data[j] + d0.data[3 * H + j];
    g[H + j] = d1.data[j] + d1.data[3 * H + j];
  }
  close(t, dz.data, jsProjectBackward(g, 1, L, H, d, 3, 'normal'), projTol(L * H), 1e-5, 'dz');
  close(t, jr.grad.data, dz.data, 0, 0, 'grad');
  t.throws(() => jr.insert(out, withPrompt), { instanceOf: FrugalError, message: /beginStep/ });
});

test('a task saves and loads as safetensors (z, head, seed and dist in the metadata)', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'frugal-task-'));
  const file = path.join(dir, 'task.safetensors');
  const seed = 2n ** 63n + 5n;
  const m = new ReparamPrompt({ layers: 2, hidden: 3, dim: 16, seed, dist: 'rademacher', z: Tensor.from(seededFloats(16, 1), [16]) });
  slash.saveTask(file, m, { weight: Tensor.from(seededFloats(6, 2), [2, 3]) });
  t.true(fs.statSync(file).size < 4096, 'a few KB per task');
  const task = slash.loadTask(file);
  t.is(task.kind, 'jr-warp');
  t.true(task.shift instanceof ReparamPrompt);
  t.is(task.shift.seed, seed);
  t.is(task.shift.dist, 'rademacher');
  t.deepEqual(Array.from(task.shift.z.data), Array.from(m.z.data));
  t.deepEqual(Array.from(task.head.weight.data), Array.from(seededFloats(6, 2)));
  t.deepEqual(Array.from(task.shift.shifts().data), Array.from(m.shifts().data));
  // Serving: swap another task's z into one module.
  const other = new SharedLayerShift({ layers: 2, hidden: 3, dim: 16, seed, dist: 'rademacher' });
  other.setZ(task.shift.z);
  t.deepEqual(Array.from(other.shifts().data), Array.from(m.shifts().data));
  fs.writeFileSync(path.join(dir, 'bad.safetensors'), Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from('{}      ')]));
  const err = t.throws(() => slash.loadTask(path.join(dir, 'bad.safetensors')), { instanceOf: FrugalError });
  t.is(err?.code, 'E_CONFIG');
  t.regex(err!.message, /not a Frugal task/);
});

test('async forms give the sync results', async (t) => {
  const p = fx.projections[1];
  const z = tensor(p.z, [p.d]);
  const opts = { z, layers: p.layers, hidden: p.H, seed: p.seed, dist: p.dist };
  t.deepEqual(Array.from((await slash.projectAsync(opts)).data), Array.from(slash.project(opts).data));
  const g = tensor(p.g_per_sample, [p.B, p.layers, p.H]);
  const bo = { g, dim: p.d, seed: p.seed, dist: p.dist };
  t.deepEqual(Array.from((await slash.projectBackwardAsync(bo)).data), Array.from(slash.projectBackward(bo).data));
  const c = fx.blocks[2];
  const inp = blockInputs(c);
  const fwd = await slash.outputBlockAsync(inp);
  t.deepEqual(Array.from(fwd.y.data), Array.from(slash.outputBlock(inp).y.data));
  const dy = tensor(c.dy, [c.B, c.T, c.H]);
  const ga = await slash.outputBlockBackwardAsync({ ...inp, dy, ...fwd, tokensPerSample: c.T });
  const gs = slash.outputBlockBackward({ ...inp, dy, ...fwd, tokensPerSample: c.T });
  t.deepEqual(Array.from(ga.dShiftPerSample!.data), Array.from(gs.dShiftPerSample!.data));
  const m = new SharedLayerShift({ layers: p.layers, hidden: p.H, dim: p.d, seed: p.seed, dist: p.dist, z });
  t.deepEqual(Array.from((await m.shiftsAsync()).data), Array.from(m.shifts().data));
  await m.backwardAsync(tensor(p.g, [p.layers, p.H]));
  close(t, m.grad.data, p.dz, projTol(p.layers * p.H), 1e-5, 'backwardAsync');
});

test('bad inputs give FrugalError with a stable code', (t) => {
  const z = Tensor.from(new Float32Array(4), [4]);
  const bad = (fn: () => unknown, code: string, message?: RegExp) => {
    const err = t.throws(fn, { instanceOf: FrugalError });
    t.is(err?.code as string, code, err?.message);
    if (message) t.regex(err!.message, message);
  };
  bad(() => slash.project({ z, layers: 2, hidden: 3, seed: 2n ** 64n }), 'E_RANGE', /options\.seed/);
  bad(() => slash.project({ z, layers: 2, hidden: 3, seed: -1 }), 'E_RANGE', /options\.seed/);
  bad(() => slash.project({ z, layers: 2, hidden: 3, seed: 1.5 }), 'E_RANGE');
  bad(() => slash.project({ z, layers: 2, hidden: 3, seed: '1' as never }), 'E_DTYPE');
  bad(() => slash.project({ z, layers: -1, hidden: 3, seed: 1 }), 'E_RANGE', /options\.layers/);
  bad(() => slash.project({ z, layers: 2.5, hidden: 3, seed: 1 }), 'E_RANGE');
  bad(() => slash.project({ z, layers: 2, hidden: NaN, seed: 1 }), 'E_RANGE', /options\.hidden/);
  bad(() => slash.project({ z, layers: 2, hidden: 3, seed: 1, dist: 'uniform' as never }), 'E_RANGE', /options\.dist/);
  bad(() => slash.project({ z: Tensor.from(new Float32Array(4), [2, 2]), layers: 2, hidden: 3, seed: 1 }), 'E_SHAPE', /options\.z/);
  bad(() => slash.project({ z: new Float32Array(4) as never, layers: 2, hidden: 3, seed: 1 }), 'E_DTYPE');
  bad(() => slash.project(undefined as never), 'E_DTYPE');
  bad(() => slash.project({ z, layers: 2, hidden: 3, seed: 1, out: Tensor.from(new Float32Array(5), [5]) }), 'E_SHAPE', /options\.out/);
  const g = Tensor.from(new Float32Array(6), [2, 3]);
  bad(() => slash.projectBackward({ g, dim: 0, seed: 1 }), 'E_RANGE', /options\.dim/);
  bad(() => slash.projectBackward({ g: Tensor.from(new Float32Array(6), [6]), dim: 4, seed: 1 }), 'E_SHAPE', /options\.g/);
  bad(() => new SharedLayerShift({ layers: 2, hidden: 3, dim: 8, seed: 1, z }), 'E_SHAPE', /options\.z/);
  bad(() => new SharedLayerShift({ layers: 2, hidden: 3, dim: 4, seed: 1, z }).backward(Tensor.from(new Float32Array(8), [2, 4])), 'E_SHAPE', /g/);
  const c = fx.blocks[0];
  const inp = blockInputs(c);
  bad(() => slash.outputBlock({ ...inp, Wo: Tensor.from(new Float32Array(c.H * (c.F + 1)), [c.H, c.F + 1]) }), 'E_SHAPE', /options\.Wo/);
  bad(() => slash.outputBlock({ ...inp, h: Tensor.from(new Float32Array(c.B * c.T * c.H), [c.B * c.T, c.H]) }), 'E_SHAPE', /options\.h/);
  bad(() => slash.outputBlock({ ...inp, shift: Tensor.from(new Float32Array(c.H + 1), [c.H + 1]) }), 'E_SHAPE', /options\.shift/);
  bad(() => slash.outputBlock({ ...inp, eps: 0 }), 'E_RANGE', /options\.eps/);
  bad(() => slash.outputBlock({ ...inp, eps: Infinity }), 'E_RANGE', /options\.eps/);
  bad(() => slash.outputBlock({ ...inp, gamma: undefined as never }), 'E_DTYPE', /options\.gamma/);
  const fwd = slash.outputBlock(inp);
  const dy = tensor(c.dy, [c.B, c.T, c.H]);
  bad(() => slash.outputBlockBackward({ ...inp, dy, ...fwd, tokensPerSample: 4 }), 'E_SHAPE', /tokensPerSample/);
  bad(() => slash.outputBlockBackward({ ...inp, dy, ...fwd, tokensPerSample: 0 }), 'E_RANGE', /tokensPerSample/);
  bad(() => slash.outputBlockBackward({ ...inp, dy, ...fwd, mean: fwd.rstd.reshape([c.B * c.T]) }), 'E_SHAPE', /options\.mean/);
  bad(() => slash.outputBlockBackward({ ...inp, dy: fwd.mean, y: fwd.y, mean: fwd.mean, rstd: fwd.rstd }), 'E_SHAPE', /options\.dy/);
  bad(() => slash.outputBlockBackward({ ...inp, dy, ...fwd, needWo: 1 as never }), 'E_DTYPE', /needWo/);
  const x = Tensor.from(new Float32Array(6), [3, 2]);
  const p = Tensor.from(new Float32Array(2), [2]);
  bad(() => slash.promptInsert(x, p, [0, 2]), 'E_SHAPE', /last offset/);
  bad(() => slash.promptInsert(x, p, [0, 2, 1, 3]), 'E_SHAPE', /offsets\[2\]/);
  bad(() => slash.promptInsert(x, p, [1, 3]), 'E_SHAPE');
  bad(() => slash.promptInsert(x, p, 'x' as never), 'E_DTYPE');
  bad(() => slash.promptInsert(x, Tensor.from(new Float32Array(3), [3]), [0, 3]), 'E_SHAPE', /prompt/);
  bad(() => slash.promptAdd(x, p, [0, 0, 3]), 'E_SHAPE', /every sample holds its prompt/);
  bad(() => slash.foldShift(p, x), 'E_SHAPE', /shift/);
  t.throws(() => new ReparamPrompt({ layers: 2, hidden: 2, dim: 4, seed: 1 }).add(0, x, [0, 3]), { instanceOf: FrugalError });
  // The process lives on and the kernels still work.
  t.deepEqual(slash.project({ z, layers: 1, hidden: 2, seed: 1 }).shape, [1, 2]);
});

test('B = 1 per-sample gradient equals the batch gradient', (t) => {
  const p = fx.projections[0];
  const g = tensor(p.g, [p.layers, p.H]);
  const batch = slash.projectBackward({ g, dim: p.d, seed: p.seed });
  const per = slash.projectBackward({ g: g.reshape([1, p.layers, p.H]), dim: p.d, seed: p.seed });
  t.deepEqual(Array.from(per.data), Array.from(batch.data));
});

// A private SLaSh step: per-sample ∂z from the fused blocks' dShiftPerSample → PrivacyEngine
// ({ rows }: clip factors, clipped sum, noise, ÷ qN). With σ = 0 it must equal clipping a
// per-example loop (each example's blocks run alone, ∂z from the JS projection reference).
test('private SLaSh step: with noise 0 it equals clipping a per-example loop', (t) => {
  const B = 3, T = 4, F = 6, H = 5, L = 2, d = 8, seed = 21, C = 0.05, N = 30, q = 0.1;
  const z = Tensor.from(seededFloats(d, 1), [d]);
  const shift = new SharedLayerShift({ layers: L, hidden: H, dim: d, seed, z });
  const shifts = shift.shifts().data;
  const blocks = Array.from({ length: L }, (_, l) => ({
    a: seededFloats(B * T * F, 10 + l), Wo: seededFloats(H * F, 20 + l), c: seededFloats(H, 30 + l),
    h: seededFloats(B * T * H, 40 + l), gamma: seededFloats(H, 50 + l).map((v) => v + 1.5), beta: seededFloats(H, 60 + l),
    dy: seededFloats(B * T * H, 70 + l), shift: Tensor.from(shifts.slice(l * H, (l + 1) * H), [H]),
  }));
  const run = (bl: typeof blocks[0], rows: [number, number]) => {
    const n = rows[1] - rows[0];
    const inp = {
      a: Tensor.from(bl.a.slice(rows[0] * F, rows[1] * F), [n, F]), Wo: Tensor.from(bl.Wo, [H, F]), c: Tensor.from(bl.c, [H]),
      h: Tensor.from(bl.h.slice(rows[0] * H, rows[1] * H), [n, H]), shift: bl.shift, gamma: Tensor.from(bl.gamma, [H]),
      beta: Tensor.from(bl.beta, [H]),
    };
    const fwd = slash.outputBlock(inp);
    return slash.outputBlockBackward({ ...inp, ...fwd, dy: Tensor.from(bl.dy.slice(rows[0] * H, rows[1] * H), [n, H]), tokensPerSample: T, needA: false });
  };
  // Fused: all samples at once, per-sample g of every layer, per-sample ∂z in one call.
  shift.backward(blocks.map((bl) => run(bl, [0, B * T]).dShiftPerSample!));
  const engine = new PrivacyEngine({ datasetSize: N, sampleRate: q, noiseMultiplier: 0, maxGradNorm: C, delta: 1e-5, seed: 5 });
  const { grads, factors } = engine.step([{ rows: shift.perSampleGrad! }]);
  // Per-example loop: example i's blocks alone, its ∂z by the JS reference, clipped, summed.
  const want = new Float64Array(d);
  const clipped: number[] = [];
  for (let i = 0; i < B; i++) {
    const g = new Float32Array(L * H);
    blocks.forEach((bl, l) => g.set(run(bl, [i * T, (i + 1) * T]).dShift.data, l * H));
    const dz = jsProjectBackward(g, 1, L, H, d, seed, 'normal');
    const norm = Math.sqrt(dz.reduce((x, v) => x + v * v, 0));
    const c = Math.min(1, C / (norm + 1e-6));
    clipped.push(c);
    dz.forEach((v, k) => (want[k] += (c * v) / (q * N)));
  }
  t.true(clipped.some((c) => c < 1) && clipped.some((c) => c < 0.999), 'the test clips');
  close(t, factors, clipped, 1e-6, 1e-4, 'clip factors');
  close(t, grads[0].sum!.data, want, 1e-6, 1e-4, 'private ∂z');
  // With noise: reproducible from the seed, different from the noiseless sum.
  const noisy = () => new PrivacyEngine({ datasetSize: N, sampleRate: q, noiseMultiplier: 1, maxGradNorm: C, delta: 1e-5, seed: 5 })
    .step([{ rows: shift.perSampleGrad! }]).grads[0].sum!.data;
  const a = noisy();
  t.deepEqual(Array.from(a), Array.from(noisy()));
  t.notDeepEqual(Array.from(a), Array.from(grads[0].sum!.data));
});

test('frugal run slash-project writes the shifts of a saved task, checking the backbone shape', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'frugal-slash-job-'));
  const task = path.join(dir, 'task.safetensors');
  const m = new SharedLayerShift({ layers: 3, hidden: 4, dim: 16, seed: 9, z: Tensor.from(seededFloats(16, 2), [16]) });
  slash.saveTask(task, m);
  const run = (job: object) => runJobFile(dir, job);
  const out = path.join(dir, 'shifts.json');
  const st = path.join(dir, 'shifts.safetensors');
  const r = run({ type: 'slash-project', task, layers: 3, hidden: 4, shifts: st, output: out });
  t.is(r.status, 0, r.stderr);
  const result = JSON.parse(fs.readFileSync(out, 'utf8'));
  t.is(result.seed, '9');
  t.deepEqual(result.shifts.flat(), Array.from(m.shifts().data));
  t.deepEqual(Array.from(loadSafetensors(st).tensors.shifts.data), Array.from(m.shifts().data));
  const wrong = run({ type: 'slash-project', task, hidden: 8 });
  t.is(wrong.status, 1);
  t.regex(wrong.stderr, /E_CONFIG: .*\/hidden: the backbone has 8 but the task .* was trained for 4/);
  t.regex(run({ type: 'slash-project' }).stderr, /\/task: required field missing/);
  t.regex(run({ type: 'slash-project', task: path.join(dir, 'missing.safetensors') }).stderr, /E_CONFIG/);
});
