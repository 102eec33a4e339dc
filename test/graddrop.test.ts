// graddrop from TypeScript: the stream-reference fixtures (test/fixtures/graddrop.json,
// masks bit-exact, masked gradients within 1e-4 relative of float64) at every ISA level,
// a plain-JS oracle built on random.uniform (the contract: unit u dropped iff element
// step·2³⁴ + u of stream (seed, layer, tag 2) is < p), accumulation, thread-count
// independence, (step, layer) independence, and bad inputs naming the option.
import test from 'ava';
import { FrugalError, Tensor, graddrop, info, random, setNumThreads, zeros, type ErrorCode, type Granularity, type MaskOptions } from '../lib';
import { assertClose as close, eachIsa, fixture, seededFloats } from './helpers';

interface MaskCase {
  rows: number; cols: number; granularity: Granularity; block: [number, number]; p: number; rescale: 'none' | 'inverse';
  seed: number; step: number; layer: number; mask: number[];
}
interface GradCase {
  N: number; din: number; dout: number; granularity: Granularity; block: [number, number]; p: number;
  rescale: 'none' | 'inverse'; seed: number; step: number; layer: number; A: number[]; G: number[]; weight: number[];
}
const fx = fixture<{ masks: MaskCase[]; grads: GradCase[] }>('graddrop.json');

function optionsOf(c: Omit<MaskCase, 'mask' | 'rows' | 'cols'>): MaskOptions {
  const o: MaskOptions = { p: c.p, granularity: c.granularity, rescale: c.rescale, seed: c.seed, step: c.step, layer: c.layer };
  if (c.granularity === 'block') o.block = c.block;
  return o;
}

// The multipliers of a [rows, cols] mask from the contract alone (random.uniform), step < 2³⁰.
function jsMask(rows: number, cols: number, o: MaskOptions): Float32Array {
  const [br, bc] = o.block ?? [1, 1];
  const unitOf = (i: number, j: number): number => {
    switch (o.granularity) {
      case 'element': return i * cols + j;
      case 'row': return i;
      case 'column': return j;
      case 'block': return Math.floor(i / br) * Math.ceil(cols / bc) + Math.floor(j / bc);
      default: return 0;
    }
  };
  const units = rows * cols === 0 ? 0 : unitOf(rows - 1, cols - 1) + 1;
  const u = random.uniform(Math.max(units, o.granularity === 'row' ? rows : 0, o.granularity === 'column' ? cols : 0), {
    seed: o.seed, sub: o.layer, tag: random.tags.gradientMask, offset: BigInt(o.step) << 34n,
  });
  const kept = o.rescale === 'inverse' && o.p < 1 ? Math.fround(1 / (1 - o.p)) : 1;
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = u[unitOf(i, j)] < o.p ? 0 : kept;
  return out;
}

// mask ⊙ (Gᵀ·A) in float64, A [N, din], G [N, dout].
function jsLinearGrad(A: Float32Array, G: Float32Array, N: number, din: number, dout: number, m: Float32Array): Float64Array {
  const w = new Float64Array(dout * din);
  for (let t = 0; t < N; t++) {
    for (let i = 0; i < dout; i++) {
      const g = G[t * dout + i];
      for (let j = 0; j < din; j++) w[i * din + j] += g * A[t * din + j];
    }
  }
  for (let k = 0; k < w.length; k++) w[k] *= m[k];
  return w;
}

const GRANULARITIES: Granularity[] = ['element', 'row', 'column', 'block', 'tensor'];
const withBlock = (g: Granularity, o: Omit<MaskOptions, 'granularity'>, block: [number, number] = [5, 9]): MaskOptions =>
  (g === 'block' ? { ...o, granularity: g, block } : { ...o, granularity: g });

test.serial('fixture masks are bit-exact at every ISA level, from mask and from apply', (t) => {
  eachIsa((level) => {
    for (const c of fx.masks) {
      const o = optionsOf(c);
      const what = `${level} ${c.granularity} [${c.rows}, ${c.cols}] p ${c.p} step ${c.step}`;
      const m = graddrop.mask({ ...o, shape: [c.rows, c.cols] });
      t.deepEqual(Array.from(m.data), c.mask.map(Math.fround), `mask ${what}`);
      const ones = Tensor.from(new Float32Array(c.rows * c.cols).fill(1), [c.rows, c.cols]);
      t.is(graddrop.apply(ones, o), ones);
      t.deepEqual(Array.from(ones.data), c.mask.map(Math.fround), `apply ${what}`);
    }
  });
});

test.serial('fixture masked gradients are within 1e-4 relative of float64 at every ISA level and thread count', (t) => {
  try {
    eachIsa((level) => {
      for (const c of fx.grads) {
        const A = Tensor.from(c.A, [c.N, c.din]), G = Tensor.from(c.G, [c.N, c.dout]);
        const scale = Math.max(...c.weight.map(Math.abs));
        const runs = [1, 2].map((threads) => {
          setNumThreads(threads);
          return graddrop.linearGrad(A, G, optionsOf(c)).weight.data;
        });
        close(t, runs[0], c.weight, 1e-6 * scale, 1e-4, `${level} ${c.granularity} N ${c.N}`);
        t.deepEqual(runs[0], runs[1], `${level} ${c.granularity}: 1 and 2 threads differ`);
      }
    });
  } finally {
    setNumThreads(2);
  }
});

test.serial('masks and linearGrad match the plain-JS contract on awkward shapes, every granularity and ISA level', (t) => {
  const shapes: Array<[number, number]> = [[1, 1], [13, 70], [66, 31]];
  eachIsa((level) => {
    for (const [rows, cols] of shapes) {
      for (const g of GRANULARITIES) {
        for (const p of [0, 0.37, 1]) {
          for (const rescale of ['none', 'inverse'] as const) {
            const o = withBlock(g, { p, rescale, seed: 2n ** 40n + 3n, step: 2 ** 29 + 5, layer: 0xffffffff });
            const want = jsMask(rows, cols, o);
            const what = `${level} ${g} [${rows}, ${cols}] p ${p} ${rescale}`;
            t.deepEqual(graddrop.mask({ ...o, shape: [rows, cols] }).data, want, `mask ${what}`);
            const N = 19;
            const A = seededFloats(N * cols, 1), G = seededFloats(N * rows, 2);
            const got = graddrop.linearGrad(Tensor.from(A, [N, cols]), Tensor.from(G, [N, rows]), o).weight.data;
            close(t, got, jsLinearGrad(A, G, N, cols, rows, want), 1e-5, 1e-5, `linearGrad ${what}`);
          }
        }
      }
    }
  });
});

test('[B, T, din] inputs, the bias gradient and accumulation: dropped units of out keep beta·old', (t) => {
  const B = 3, T = 7, din = 40, dout = 24, N = B * T;
  const A = seededFloats(N * din, 3), G = seededFloats(N * dout, 4);
  const tA = Tensor.from(A, [B, T, din]), tG = Tensor.from(G, [B, T, dout]);
  const colSum = new Float64Array(dout);
  for (let k = 0; k < N; k++) for (let i = 0; i < dout; i++) colSum[i] += G[k * dout + i];
  for (const g of GRANULARITIES) {
    const o = withBlock(g, { p: 0.5, rescale: 'inverse', seed: 11, step: 3, layer: 4 }, [8, 16]);
    const m = jsMask(dout, din, o);
    const fresh = graddrop.linearGrad(tA, tG, { ...o, bias: true });
    close(t, fresh.weight.data, jsLinearGrad(A, G, N, din, dout, m), 1e-5, 1e-5, `${g} weight`);
    // The bias follows the row multipliers for 'row' and 'tensor' and is unmasked otherwise.
    const rowMask = g === 'row' || g === 'tensor';
    close(t, fresh.bias!.data, colSum.map((s, i) => (rowMask ? s * m[i * din] : s)), 1e-5, 1e-5, `${g} bias`);

    const oldW = seededFloats(dout * din, 5), oldB = seededFloats(dout, 6);
    const out = { weight: Tensor.from(oldW.slice(), [dout, din]), bias: Tensor.from(oldB.slice(), [dout]) };
    const acc = graddrop.linearGrad(tA, tG, { ...o, bias: true, out, beta: 0.5 });
    t.is(acc.weight, out.weight);
    t.is(acc.bias, out.bias);
    const wantW = jsLinearGrad(A, G, N, din, dout, m).map((v, k) => v + 0.5 * oldW[k]);
    close(t, acc.weight.data, wantW, 1e-5, 1e-5, `${g} accumulated weight`);
    for (let k = 0; k < m.length; k++) {
      if (m[k] === 0 && acc.weight.data[k] !== Math.fround(0.5 * oldW[k])) {
        t.fail(`${g}: dropped element ${k} is ${acc.weight.data[k]}, not beta·old`);
        break;
      }
    }
    close(t, acc.bias!.data, fresh.bias!.data.map((v, i) => v + 0.5 * oldB[i]), 1e-5, 1e-5, `${g} accumulated bias`);
  }
});

test('p = 1 at tensor granularity (a frozen layer) writes beta·old and nothing else', (t) => {
  const A = Tensor.from(seededFloats(64 * 32, 1), [64, 32]), G = Tensor.from(seededFloats(64 * 16, 2), [64, 16]);
  const old = seededFloats(16 * 32, 3);
  const out = { weight: Tensor.from(old.slice(), [16, 32]) };
  graddrop.linearGrad(A, G, { p: 1, granularity: 'tensor', seed: 1, step: 0, layer: 0, out, beta: 0.25 });
  t.deepEqual(out.weight.data, old.map((v) => v * 0.25));
  t.deepEqual(graddrop.linearGrad(A, G, { p: 1, granularity: 'tensor', seed: 1, step: 0, layer: 0 }).weight.data, new Float32Array(16 * 32));
});

test('apply zeroes dropped NaN and infinity, works on 1-D and higher-rank gradients in place', (t) => {
  const o: MaskOptions = { p: 0.5, granularity: 'row', seed: 9, step: 1, layer: 2 };
  const conv = Tensor.from(new Float32Array(6 * 3 * 2 * 2).fill(NaN), [6, 3, 2, 2]);
  graddrop.apply(conv, o);
  const m = jsMask(6, 12, o);
  for (let k = 0; k < m.length; k++) t.is(m[k] === 0, conv.data[k] === 0, `element ${k}`);
  const vec = Tensor.from(new Float32Array(50).fill(Infinity), [50]);
  graddrop.apply(vec, { ...o, granularity: 'element' });
  const mv = jsMask(1, 50, { ...o, granularity: 'element' });
  t.deepEqual(Array.from(vec.data).map((v) => v === 0), Array.from(mv).map((v) => v === 0));
});

test('kept fraction is within 4σ of 1 − p over 10⁶ elements', (t) => {
  const n = 1000, p = 0.3;
  const m = graddrop.mask({ shape: [n, n], p, granularity: 'element', seed: 5, step: 2, layer: 1 }).data;
  let kept = 0;
  for (const v of m) kept += v === 0 ? 0 : 1;
  const sigma = Math.sqrt(n * n * p * (1 - p));
  t.true(Math.abs(kept - n * n * (1 - p)) < 4 * sigma, `kept ${kept} of ${n * n}`);
});

test('masks of different steps and layers are uncorrelated', (t) => {
  const shape = [500, 400], n = 500 * 400;
  const base = { p: 0.5, granularity: 'element' as const, seed: 77 };
  const pairs: Array<[MaskOptions, MaskOptions]> = [
    [{ ...base, step: 10, layer: 3 }, { ...base, step: 11, layer: 3 }],
    [{ ...base, step: 10, layer: 3 }, { ...base, step: 10, layer: 4 }],
    [{ ...base, step: 10, layer: 3 }, { ...base, step: 3, layer: 10 }],
  ];
  for (const [a, b] of pairs) {
    const x = graddrop.mask({ ...a, shape }).data, y = graddrop.mask({ ...b, shape }).data;
    let sx = 0, sy = 0, sxy = 0;
    for (let k = 0; k < n; k++) {
      const xi = x[k] ? 1 : 0, yi = y[k] ? 1 : 0;
      sx += xi; sy += yi; sxy += xi * yi;
    }
    const mx = sx / n, my = sy / n;
    const r = (sxy / n - mx * my) / Math.sqrt(mx * (1 - mx) * my * (1 - my));
    t.true(Math.abs(r) < 4 / Math.sqrt(n), `step ${a.step}/${b.step} layer ${a.layer}/${b.layer}: r = ${r}`);
  }
});

test('async forms give the sync results', async (t) => {
  const o = withBlock('block', { p: 0.5, seed: 3, step: 4, layer: 5 }, [8, 16]);
  const A = Tensor.from(seededFloats(33 * 50, 1), [33, 50]), G = Tensor.from(seededFloats(33 * 20, 2), [33, 20]);
  t.deepEqual((await graddrop.maskAsync({ ...o, shape: [20, 50] })).data, graddrop.mask({ ...o, shape: [20, 50] }).data);
  t.deepEqual((await graddrop.linearGradAsync(A, G, o)).weight.data, graddrop.linearGrad(A, G, o).weight.data);
  const x = Tensor.from(seededFloats(1000, 3), [20, 50]), y = Tensor.from(x.data.slice(), [20, 50]);
  await graddrop.applyAsync(x, o);
  t.deepEqual(x.data, graddrop.apply(y, o).data);
});

test('preferredBlock is two positive integers', (t) => {
  const [br, bc] = graddrop.preferredBlock();
  t.true(Number.isInteger(br) && br >= 1 && Number.isInteger(bc) && bc >= 1);
});

test('bad inputs throw a FrugalError naming the option', (t) => {
  const o: MaskOptions = { p: 0.5, granularity: 'row', seed: 1, step: 0, layer: 0 };
  const A = Tensor.from(new Float32Array(12), [3, 4]), G = Tensor.from(new Float32Array(6), [3, 2]);
  const W = Tensor.from(new Float32Array(8), [2, 4]);
  const cases: Array<[() => unknown, ErrorCode, RegExp]> = [
    [() => graddrop.apply(A, { ...o, p: 1.5 }), 'E_RANGE', /^options\.p:/],
    [() => graddrop.apply(A, { ...o, p: -0.1 }), 'E_RANGE', /^options\.p:/],
    [() => graddrop.apply(A, { ...o, p: NaN }), 'E_RANGE', /^options\.p:/],
    [() => graddrop.apply(A, { ...o, p: '0.5' as never }), 'E_DTYPE', /^options\.p:/],
    [() => graddrop.apply(A, { ...o, granularity: 'neuron' as never }), 'E_RANGE', /^options\.granularity:/],
    [() => graddrop.apply(A, { ...o, granularity: 'block' }), 'E_CONFIG', /^options\.block:/],
    [() => graddrop.apply(A, { ...o, block: [2, 2] }), 'E_CONFIG', /^options\.block:/],
    [() => graddrop.apply(A, { ...o, granularity: 'block', block: [0, 2] }), 'E_RANGE', /^options\.block\[0\]:/],
    [() => graddrop.apply(A, { ...o, granularity: 'block', block: [2, 1.5] }), 'E_RANGE', /^options\.block\[1\]:/],
    [() => graddrop.apply(A, { ...o, granularity: 'block', block: [2] as never }), 'E_SHAPE', /^options\.block:/],
    [() => graddrop.apply(A, { ...o, granularity: 'block', block: 4 as never }), 'E_DTYPE', /^options\.block:/],
    [() => graddrop.apply(A, { ...o, step: 2 ** 32 }), 'E_RANGE', /^options\.step:/],
    [() => graddrop.apply(A, { ...o, step: -1 }), 'E_RANGE', /^options\.step:/],
    [() => graddrop.apply(A, { ...o, layer: 2 ** 32 }), 'E_RANGE', /^options\.layer:/],
    [() => graddrop.apply(A, { ...o, layer: 0.5 }), 'E_RANGE', /^options\.layer:/],
    [() => graddrop.apply(A, { ...o, seed: -1 }), 'E_RANGE', /^options\.seed:/],
    [() => graddrop.apply(A, { ...o, rescale: 'yes' as never }), 'E_RANGE', /^options\.rescale:/],
    [() => graddrop.apply(A, { ...o, prob: 0.5 } as never), 'E_CONFIG', /^options\.prob:/],
    [() => graddrop.apply(A, undefined as never), 'E_DTYPE', /^options:/],
    [() => graddrop.apply(new Float32Array(4) as never, o), 'E_DTYPE', /^grad:/],
    [() => graddrop.mask({ ...o, shape: [2, -1] }), 'E_SHAPE', /^options\.shape\[1\]:/],
    [() => graddrop.mask({ ...o, shape: 4 as never }), 'E_SHAPE', /^options\.shape:/],
    [() => graddrop.mask({ ...o, shape: [3, 4], out: W }), 'E_SHAPE', /^options\.out:/],
    [() => graddrop.linearGrad(A, Tensor.from(new Float32Array(8), [4, 2]), o), 'E_SHAPE', /^G:/],
    [() => graddrop.linearGrad(Tensor.from(new Float32Array(4), [4]), G, o), 'E_SHAPE', /^A:/],
    [() => graddrop.linearGrad(A, G, { ...o, beta: 0.5 }), 'E_CONFIG', /^options\.beta:/],
    [() => graddrop.linearGrad(A, G, { ...o, beta: NaN, out: { weight: W } }), 'E_RANGE', /^options\.beta:/],
    [() => graddrop.linearGrad(A, G, { ...o, out: { weight: A } }), 'E_SHAPE', /^options\.out\.weight:/],
    [() => graddrop.linearGrad(A, G, { ...o, out: W as never }), 'E_DTYPE', /^options\.out:/],
    [() => graddrop.linearGrad(A, G, { ...o, out: {} as never, beta: 1 }), 'E_DTYPE', /^options\.out\.weight:/],
    [() => graddrop.linearGrad(A, G, { ...o, bias: true, out: { weight: W } }), 'E_CONFIG', /^options\.out\.bias:/],
    [() => graddrop.linearGrad(A, G, { ...o, bias: 1 as never }), 'E_DTYPE', /^options\.bias:/],
  ];
  for (const [fn, code, message] of cases) {
    const err = t.throws(fn, { instanceOf: FrugalError });
    t.is(err?.code, code, err?.message);
    t.regex(err?.message ?? '', message);
  }
  // An output that shares memory with an input.
  const shared = new Float32Array(20);
  const a2 = Tensor.from(shared.subarray(0, 12), [3, 4]);
  const err = t.throws(() => graddrop.linearGrad(a2, G, { ...o, out: { weight: Tensor.from(shared.subarray(4, 12), [2, 4]) } }), { instanceOf: FrugalError });
  t.is(err?.code, 'E_RANGE');
  t.regex(err?.message ?? '', /^options\.out\.weight:/);
});

test('async forms reject bad inputs with the same FrugalError', async (t) => {
  const A = Tensor.from(new Float32Array(12), [3, 4]);
  await t.throwsAsync(graddrop.applyAsync(A, { p: 2, granularity: 'row', seed: 1, step: 0, layer: 0 }), { instanceOf: FrugalError, message: /^options\.p:/ });
  await t.throwsAsync(graddrop.maskAsync({ p: 0, granularity: 'row', seed: 1, step: 0, layer: 2 ** 32, shape: [2, 2] }), { instanceOf: FrugalError, message: /^options\.layer:/ });
});

test('CUDA equals the CPU: masks bit-exact, gradients within 1e-5 (skipped without a device)', (t) => {
  if (!info().cuda.available) {
    t.pass('no CUDA device');
    return;
  }
  const N = 77, din = 130, dout = 70;
  const A = Tensor.from(seededFloats(N * din, 1), [N, din]), G = Tensor.from(seededFloats(N * dout, 2), [N, dout]);
  const Ad = A.to('cuda'), Gd = G.to('cuda');
  for (const g of GRANULARITIES) {
    const o = withBlock(g, { p: 0.4, rescale: 'inverse', seed: 2n ** 40n, step: 2 ** 32 - 1, layer: 9 }, [8, 16]);
    const cpu = graddrop.mask({ ...o, shape: [dout, din] }).data;
    t.deepEqual(graddrop.mask({ ...o, shape: [dout, din], out: zeros([dout, din], 'cuda') }).to('cpu').data, cpu, `${g} mask`);
    const x = Tensor.from(seededFloats(dout * din, 3), [dout, din]), xd = x.to('cuda');
    t.deepEqual(graddrop.apply(xd, o).to('cpu').data, graddrop.apply(x, o).data, `${g} apply`);
    const want = graddrop.linearGrad(A, G, { ...o, bias: true });
    const got = graddrop.linearGrad(Ad, Gd, { ...o, bias: true });
    close(t, got.weight.to('cpu').data, want.weight.data, 1e-5 * Math.sqrt(N), 1e-5, `${g} weight`);
    close(t, got.bias!.to('cpu').data, want.bias!.data, 1e-5 * Math.sqrt(N), 1e-5, `${g} bias`);
  }
});
