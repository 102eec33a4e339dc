// dp kernels from TypeScript: PyTorch fixtures (test/fixtures/dp_linear.json, fp64
// autograd one sample at a time), a plain-JS fp64 reference on awkward sizes, every ISA
// level, sync and async forms, noise streams, empty batches and bad inputs.
// Tolerances: norms 1e-4 relative, clipped sums 1e-4 relative + 1e-5·B·T absolute
// (fp32 inputs and products against fp64).
import test from 'ava';
import { FrugalError, PrivacyEngine, Tensor, dp, info, isaLevels, setIsa } from '../lib';
import { assertClose as close, fixture, seededFloats as randn } from './helpers';

interface LinearCase {
  B: number;
  T: number;
  din: number;
  dout: number;
  C: number;
  A: number[];
  G: number[];
  weight_norm_sq: number[];
  bias_norm_sq: number[];
  clipped_weight_grad: number[];
  clipped_bias_grad: number[];
}
const linear = fixture<{ cases: LinearCase[] }>('dp_linear.json');

/** fp64 per-sample gradients: the reference the kernels must match. */
function reference(A: Float32Array, G: Float32Array, B: number, T: number, din: number, dout: number, factors?: ArrayLike<number>) {
  const wsq = new Float64Array(B);
  const bsq = new Float64Array(B);
  const sumW = new Float64Array(dout * din);
  const sumB = new Float64Array(dout);
  for (let i = 0; i < B; i++) {
    for (let d = 0; d < dout; d++) {
      let b = 0;
      for (let t = 0; t < T; t++) b += G[(i * T + t) * dout + d];
      bsq[i] += b * b;
      if (factors) sumB[d] += factors[i] * b;
      for (let k = 0; k < din; k++) {
        let w = 0;
        for (let t = 0; t < T; t++) w += G[(i * T + t) * dout + d] * A[(i * T + t) * din + k];
        wsq[i] += w * w;
        if (factors) sumW[d * din + k] += factors[i] * w;
      }
    }
  }
  return { wsq, bsq, sumW, sumB };
}

test('norms and clipped sums match the PyTorch fixtures at every ISA level', (t) => {
  for (const level of isaLevels()) {
    setIsa(level);
    for (const c of linear.cases) {
      const A = Tensor.from(c.A, [c.B, c.T, c.din]);
      const G = Tensor.from(c.G, [c.B, c.T, c.dout]);
      const name = `${level} B=${c.B} T=${c.T}`;
      for (const method of ['gram', 'materialize', 'auto'] as const) {
        const n = dp.linearGradNorms(A, G, { bias: true, method });
        close(t, n.weight, c.weight_norm_sq, 1e-6, 1e-4, `${name} ${method} weight norms`);
        close(t, n.bias!, c.bias_norm_sq, 1e-6, 1e-4, `${name} ${method} bias norms`);
      }
      const n = dp.linearGradNorms(A, G, { bias: true });
      const factors = dp.clipFactors(dp.sampleNorms(n.weight, n.bias!), c.C);
      const g = dp.clippedLinearGrad(A, G, factors, { bias: true });
      t.deepEqual(g.weight.shape, [c.dout, c.din]);
      close(t, g.weight.data, c.clipped_weight_grad, 1e-5 * Math.max(1, c.B * c.T), 1e-4, `${name} clipped weight`);
      close(t, g.bias!.data, c.clipped_bias_grad, 1e-5 * Math.max(1, c.B * c.T), 1e-4, `${name} clipped bias`);
      if (c.T === 1) {
        // The same case as 2-D inputs [B, din], [B, dout].
        const A2 = Tensor.from(c.A, [c.B, c.din]);
        const G2 = Tensor.from(c.G, [c.B, c.dout]);
        close(t, dp.linearGradNorms(A2, G2).weight, c.weight_norm_sq, 1e-6, 1e-4, `${name} 2-D norms`);
        close(t, dp.clippedLinearGrad(A2, G2, factors).weight.data, c.clipped_weight_grad, 1e-5, 1e-4, `${name} 2-D sum`);
      }
    }
  }
  setIsa(isaLevels().at(-1)!);
});

test('Gram and materialized norms agree with an fp64 reference on awkward sizes', (t) => {
  const shapes: Array<[number, number, number, number]> = [
    [1, 1, 1, 1], [7, 17, 33, 1], [3, 33, 7, 17], [2, 1, 255, 257], [2, 257, 7, 9], [17, 7, 257, 33],
  ];
  for (const level of isaLevels()) {
    setIsa(level);
    for (const [B, T, din, dout] of shapes) {
      const A = randn(B * T * din, B + T);
      const G = randn(B * T * dout, din + dout);
      const factors = Float32Array.from(randn(B, 7), Math.abs);
      const ref = reference(A, G, B, T, din, dout, factors);
      const At = Tensor.from(A, [B, T, din]);
      const Gt = Tensor.from(G, [B, T, dout]);
      const name = `${level} ${B}x${T}x${din}x${dout}`;
      for (const method of ['gram', 'materialize'] as const) {
        const n = dp.linearGradNorms(At, Gt, { bias: true, method });
        close(t, n.weight, ref.wsq, 1e-6, 1e-4, `${name} ${method}`);
        close(t, n.bias!, ref.bsq, 1e-6, 1e-4, `${name} ${method} bias`);
      }
      const g = dp.clippedLinearGrad(At, Gt, factors, { bias: true });
      close(t, g.weight.data, ref.sumW, 1e-5 * B * T, 1e-4, `${name} clipped weight`);
      close(t, g.bias!.data, ref.sumB, 1e-5 * B * T, 1e-4, `${name} clipped bias`);
    }
  }
  setIsa(isaLevels().at(-1)!);
});

test('an empty batch gives zero sums', (t) => {
  const A = Tensor.from(new Float32Array(0), [0, 3, 4]);
  const G = Tensor.from(new Float32Array(0), [0, 3, 2]);
  t.is(dp.linearGradNorms(A, G, { bias: true }).weight.length, 0);
  const g = dp.clippedLinearGrad(A, G, new Float32Array(0), { bias: true });
  t.deepEqual(Array.from(g.weight.data), new Array(8).fill(0));
  t.deepEqual(Array.from(g.bias!.data), [0, 0]);
  const r = dp.clipRows(Tensor.from(new Float32Array(0), [0, 5]), 1);
  t.deepEqual(Array.from(r.sum.data), [0, 0, 0, 0, 0]);
});

test('clip factors follow the Abadi and automatic rules', (t) => {
  const f = dp.clipFactors([0, 0.5, 2, 8], 2);
  close(t, f, [1, 1, 2 / (2 + 1e-6), 0.25], 0, 1e-6, 'abadi');
  const a = dp.clipFactors(new Float32Array([0, 1, 9.99]), 0.5, { rule: 'automatic' });
  close(t, a, [50, 0.5 / 1.01, 0.05], 0, 1e-6, 'automatic');
  close(t, dp.sampleNorms(new Float32Array([9, 0]), new Float32Array([16, 4])), [5, 2], 0, 1e-7, 'sampleNorms');
});

test('clipRows equals clipping a per-example loop', (t) => {
  for (const level of isaLevels()) {
    setIsa(level);
    for (const [B, p] of [[1, 1], [7, 17], [33, 255], [5, 257]]) {
      const rows = randn(B * p, B * p);
      for (const rule of ['abadi', 'automatic'] as const) {
        const C = 0.3;
        const want = new Float64Array(p);
        const wantF: number[] = [];
        for (let i = 0; i < B; i++) {
          let sq = 0;
          for (let j = 0; j < p; j++) sq += rows[i * p + j] ** 2;
          const n = Math.sqrt(sq);
          const c = rule === 'abadi' ? Math.min(1, C / (n + 1e-6)) : C / (n + 0.01);
          wantF.push(c);
          for (let j = 0; j < p; j++) want[j] += c * rows[i * p + j];
        }
        const got = dp.clipRows(Tensor.from(rows, [B, p]), C, { rule });
        close(t, got.factors, wantF, 1e-7, 1e-5, `${level} ${B}x${p} ${rule} factors`);
        close(t, got.sum.data, want, 1e-5, 1e-4, `${level} ${B}x${p} ${rule} sum`);
      }
    }
  }
  setIsa(isaLevels().at(-1)!);
});

test('seeded noise is reproducible per (seed, step); secure noise is fresh and N(0, std²)', (t) => {
  const n = 100003;
  const draw = (opts: object) => dp.addNoise(Tensor.from(new Float32Array(n), [n]), opts as never).data;
  const a = draw({ std: 1.5, seed: 7, step: 3 });
  t.deepEqual(draw({ std: 1.5, seed: 7n, step: 3 }), a);
  t.notDeepEqual(draw({ std: 1.5, seed: 7, step: 4 }), a);
  const zero = Tensor.from(new Float32Array([1, 2, 3]), [3]);
  t.deepEqual(Array.from(dp.addNoise(zero, { std: 0, seed: 1 }).data), [1, 2, 3]);
  const s1 = draw({ std: 2, secure: true });
  const s2 = draw({ std: 2, secure: true });
  t.notDeepEqual(s1, s2);
  for (const [z, std] of [[a, 1.5], [s1, 2]] as const) {
    let m = 0;
    for (const x of z) m += x;
    m /= n;
    let v = 0;
    for (const x of z) v += (x - m) ** 2;
    const sd = Math.sqrt(v / n);
    // About 6 standard errors: |mean| < 6·std/√n, |sd − std| < 6·std/√(2n).
    t.true(Math.abs(m) < (6 * std) / Math.sqrt(n), `mean ${m}`);
    t.true(Math.abs(sd - std) < (6 * std) / Math.sqrt(2 * n), `sd ${sd}`);
  }
});

test('async forms equal the sync forms', async (t) => {
  const [B, T, din, dout] = [5, 9, 17, 13];
  const A = Tensor.from(randn(B * T * din, 1), [B, T, din]);
  const G = Tensor.from(randn(B * T * dout, 2), [B, T, dout]);
  const n = dp.linearGradNorms(A, G, { bias: true });
  t.deepEqual(await dp.linearGradNormsAsync(A, G, { bias: true }), n);
  const f = dp.clipFactors(dp.sampleNorms(n.weight, n.bias!), 0.1);
  t.deepEqual(await dp.clipFactorsAsync(dp.sampleNorms(n.weight, n.bias!), 0.1), f);
  const g = dp.clippedLinearGrad(A, G, f, { bias: true });
  const ga = await dp.clippedLinearGradAsync(A, G, f, { bias: true });
  t.deepEqual(ga.weight.data, g.weight.data);
  t.deepEqual(ga.bias!.data, g.bias!.data);
  const rows = Tensor.from(randn(4 * 33, 3), [4, 33]);
  t.deepEqual((await dp.clipRowsAsync(rows, 1)).sum.data, dp.clipRows(rows, 1).sum.data);
  const x = Tensor.from(new Float32Array(100), [100]);
  const y = Tensor.from(new Float32Array(100), [100]);
  await dp.addNoiseAsync(x, { std: 1, seed: 5, step: 1 });
  t.deepEqual(x.data, dp.addNoise(y, { std: 1, seed: 5, step: 1 }).data);
});

test('bad inputs give FrugalError with the right code', (t) => {
  const A = Tensor.from(new Float32Array(2 * 3 * 4), [2, 3, 4]);
  const G = Tensor.from(new Float32Array(2 * 3 * 5), [2, 3, 5]);
  const cases: Array<[() => unknown, string, RegExp]> = [
    [() => dp.linearGradNorms(A, Tensor.from(new Float32Array(3 * 3 * 5), [3, 3, 5])), 'E_SHAPE', /^G: expected batch size 2/],
    [() => dp.linearGradNorms(A, Tensor.from(new Float32Array(2 * 4 * 5), [2, 4, 5])), 'E_SHAPE', /^G: expected 3 tokens/],
    [() => dp.linearGradNorms(A, Tensor.from(new Float32Array(10), [2, 5])), 'E_SHAPE', /^G: expected 3 dimensions/],
    [() => dp.linearGradNorms(Tensor.from(new Float32Array(4), [4]), G), 'E_SHAPE', /^A: expected shape/],
    [() => dp.linearGradNorms(A, G, { method: 'fast' as never }), 'E_RANGE', /options\.method/],
    [() => dp.linearGradNorms(new Float32Array(4) as never, G), 'E_DTYPE', /^A: expected a Tensor/],
    [() => dp.clipFactors([1, 2], -1), 'E_RANGE', /^C:/],
    [() => dp.clipFactors([1, 2], NaN), 'E_RANGE', /^C:/],
    [() => dp.clipFactors([1, 2], 1, { rule: 'hard' as never }), 'E_RANGE', /options\.rule/],
    [() => dp.clippedLinearGrad(A, G, [1, 1, 1]), 'E_SHAPE', /^factors: expected shape \[2\]/],
    [() => dp.clippedLinearGrad(A, G, 'x' as never), 'E_DTYPE', /^factors/],
    [() => dp.clipRows(A, 1), 'E_SHAPE', /^rows: expected shape \[B, p\]/],
    [() => dp.clipRows(Tensor.from(new Float32Array(4), [2, 2]), -0.5), 'E_RANGE', /^C:/],
    [() => dp.addNoise(A, { std: -1, seed: 1 }), 'E_RANGE', /options\.std/],
    [() => dp.addNoise(A, { std: 1 }), 'E_CONFIG', /options\.seed/],
    [() => dp.addNoise(A, { std: 1, seed: 1, secure: true }), 'E_CONFIG', /options\.seed/],
    [() => dp.addNoise(A, { std: 1, seed: -1 }), 'E_RANGE', /options\.seed/],
    [() => dp.addNoise(A, { std: 1, seed: 1, step: 2 ** 32 }), 'E_RANGE', /options\.step/],
    [() => dp.addNoise(A, undefined as never), 'E_CONFIG', /options/],
    [() => dp.sampleNorms(new Float32Array(2), new Float32Array(3)), 'E_SHAPE', /squared\[1\]/],
  ];
  for (const [fn, code, msg] of cases) {
    const e = t.throws(fn, { instanceOf: FrugalError });
    t.is(e!.code as string, code, msg.source);
    t.regex(e!.message, msg);
  }
});

test('CUDA equals the CPU (skipped without a device)', (t) => {
  if (!info().cuda.available) {
    t.pass('no CUDA device');
    return;
  }
  const [B, T, din, dout] = [7, 33, 17, 255];
  const A = Tensor.from(randn(B * T * din, 1), [B, T, din]);
  const G = Tensor.from(randn(B * T * dout, 2), [B, T, dout]);
  const Ad = A.to('cuda');
  const Gd = G.to('cuda');
  for (const method of ['gram', 'materialize'] as const) {
    const cpu = dp.linearGradNorms(A, G, { bias: true, method });
    const gpu = dp.linearGradNorms(Ad, Gd, { bias: true, method });
    close(t, gpu.weight, cpu.weight, 1e-5, 1e-4, `${method} weight`);
    close(t, gpu.bias!, cpu.bias!, 1e-5, 1e-4, `${method} bias`);
  }
  const f = Float32Array.from(randn(B, 3), Math.abs);
  const cpu = dp.clippedLinearGrad(A, G, f, { bias: true });
  const gpu = dp.clippedLinearGrad(Ad, Gd, f, { bias: true });
  close(t, gpu.weight.to('cpu').data, cpu.weight.data, 1e-5 * B * T, 1e-4, 'clipped weight');
  close(t, gpu.bias!.to('cpu').data, cpu.bias!.data, 1e-5 * B * T, 1e-4, 'clipped bias');
  const keptGpu = dp.linearGradNorms(Ad, Gd, { keepPerSample: true });
  t.is(keptGpu.perSample!.device, 'cuda');
  const fromKept = dp.clippedLinearGrad(Ad, Gd, f, { perSample: keptGpu.perSample });
  close(t, fromKept.weight.to('cpu').data, cpu.weight.data, 1e-5 * B * T, 1e-4, 'clipped weight from kept per-sample gradients');
  const x = Tensor.from(new Float32Array(1000), [1000]);
  const xd = x.to('cuda');
  close(t, dp.addNoise(xd, { std: 1, seed: 3, step: 2 }).to('cpu').data, dp.addNoise(x, { std: 1, seed: 3, step: 2 }).data, 1e-5, 1e-5, 'noise');
});

test('noise offsets take disjoint ranges of one stream', (t) => {
  const long = dp.addNoise(Tensor.from(new Float32Array(300), [300]), { std: 1, seed: 9, step: 2 }).data;
  for (const secure of [false]) {
    const tail = dp.addNoise(Tensor.from(new Float32Array(17), [17]), { std: 1, seed: 9, step: 2, offset: 255, secure }).data;
    t.deepEqual(tail, long.slice(255, 272));
  }
  t.throws(() => dp.addNoise(Tensor.from(new Float32Array(1), [1]), { std: 1, seed: 1, offset: -1 }), { code: 'E_RANGE' } as never);
});

// ---- PrivacyEngine ---------------------------------------------------------------

/** Clipping one example at a time: the plain loop the engine must equal with σ = 0. */
function perExampleStep(layers: Array<{ A: Float32Array; G: Float32Array; T: number; din: number; dout: number }>, rows: Float32Array, p: number, B: number, C: number, scale: number) {
  const per: Float64Array[][] = [];
  for (let i = 0; i < B; i++) {
    const grads: Float64Array[] = layers.map(({ A, G, T, din, dout }) => {
      const w = new Float64Array(dout * din + dout);
      for (let t = 0; t < T; t++) {
        for (let d = 0; d < dout; d++) {
          const g = G[(i * T + t) * dout + d];
          w[dout * din + d] += g;
          for (let k = 0; k < din; k++) w[d * din + k] += g * A[(i * T + t) * din + k];
        }
      }
      return w;
    });
    grads.push(Float64Array.from(rows.subarray(i * p, (i + 1) * p)));
    per.push(grads);
  }
  const sums = per[0]?.map((g) => new Float64Array(g.length)) ?? [];
  for (const grads of per) {
    let sq = 0;
    for (const g of grads) for (const x of g) sq += x * x;
    const c = Math.min(1, C / (Math.sqrt(sq) + 1e-6));
    grads.forEach((g, k) => g.forEach((x, j) => (sums[k][j] += c * x * scale)));
  }
  return sums;
}

test('PrivacyEngine with σ = 0 equals clipping a per-example loop (linear layers and per-sample rows)', (t) => {
  const B = 9;
  const N = 100;
  const q = 0.1;
  const C = 0.8;
  const shapes = [
    { T: 5, din: 7, dout: 3 },
    { T: 5, din: 3, dout: 17 },
  ];
  const layers = shapes.map((s, k) => ({ ...s, A: randn(B * s.T * s.din, 10 + k), G: randn(B * s.T * s.dout, 20 + k) }));
  const p = 33;
  const rows = randn(B * p, 30);
  const want = perExampleStep(layers, rows, p, B, C, 1 / (q * N));
  // Both layers materialize their norms (T² (din + dout) > T·din·dout): kept per-sample
  // gradients for both (default budget), for the first only (its bytes), and for none.
  t.is(dp.chooseNormMethod(5, 7, 3), 'materialize');
  for (const keepPerSampleBytes of [undefined, 4 * B * 7 * 3, 0]) {
    const engine = new PrivacyEngine({ datasetSize: N, sampleRate: q, noiseMultiplier: 0, maxGradNorm: C, delta: 1e-5, seed: 1, keepPerSampleBytes });
    const out = engine.step([
      ...layers.map((l) => ({ A: Tensor.from(l.A, [B, l.T, l.din]), G: Tensor.from(l.G, [B, l.T, l.dout]), bias: true })),
      { rows: Tensor.from(rows, [B, p]) },
    ]);
    layers.forEach((_, k) => {
      const got = [...out.grads[k].weight!.data, ...out.grads[k].bias!.data];
      close(t, got, want[k], 1e-6, 1e-4, `layer ${k}, keepPerSampleBytes ${keepPerSampleBytes}`);
    });
    close(t, out.grads[2].sum!.data, want[2], 1e-6, 1e-4, 'rows');
    t.is(out.epsilon, Infinity);
    // The next step reuses the kept buffers: same inputs, same gradients.
    const again = engine.step([
      ...layers.map((l) => ({ A: Tensor.from(l.A, [B, l.T, l.din]), G: Tensor.from(l.G, [B, l.T, l.dout]), bias: true })),
      { rows: Tensor.from(rows, [B, p]) },
    ]);
    layers.forEach((_, k) => t.deepEqual(again.grads[k].weight!.data, out.grads[k].weight!.data));
  }
});

test('kept per-sample gradients: linearGradNorms returns GᵢᵀAᵢ, clippedLinearGrad sums them', (t) => {
  const [B, T, din, dout] = [5, 17, 9, 33];
  const a = randn(B * T * din, 41), g = randn(B * T * dout, 42);
  const A = Tensor.from(a, [B, T, din]), G = Tensor.from(g, [B, T, dout]);
  const f = Float32Array.from(randn(B, 43), Math.abs);
  const ref = reference(a, g, B, T, din, dout, f);
  for (const level of isaLevels()) {
    setIsa(level);
    const n = dp.linearGradNorms(A, G, { bias: true, keepPerSample: true });
    t.deepEqual(n.perSample!.shape, [B, dout, din]);
    const ps = n.perSample!.data;
    for (let i = 0; i < B; i++) {
      let sq = 0;
      for (let j = 0; j < dout * din; j++) sq += ps[i * dout * din + j] ** 2;
      close(t, [sq], [ref.wsq[i]], 1e-6, 1e-4, `‖perSample[${i}]‖² (${level})`);
    }
    close(t, n.weight, ref.wsq, 1e-6, 1e-4, `norms (${level})`);
    const kept = dp.clippedLinearGrad(A, G, f, { bias: true, perSample: n.perSample });
    close(t, kept.weight.data, ref.sumW, 1e-5 * B * T, 1e-4, `weight from kept (${level})`);
    close(t, kept.bias!.data, ref.sumB, 1e-5 * B * T, 1e-4, `bias with kept (${level})`);
  }
  setIsa(info().maxIsa);
  // A given tensor is filled in place (callers reuse it across steps).
  const into = Tensor.from(new Float32Array(B * dout * din), [B, dout, din]);
  const n = dp.linearGradNorms(A, G, { keepPerSample: into });
  t.is(n.perSample, into);
  close(t, n.weight, ref.wsq, 1e-6, 1e-4, 'norms into a given tensor');
  t.throws(() => dp.linearGradNorms(A, G, { keepPerSample: Tensor.from(new Float32Array(B * din * dout), [B, din, dout]) }), { instanceOf: FrugalError, code: 'E_SHAPE' });
  // Bad uses are refused before any work.
  t.throws(() => dp.linearGradNorms(A, G, { method: 'gram', keepPerSample: true }), { instanceOf: FrugalError, code: 'E_CONFIG' });
  t.throws(() => dp.linearGradNorms(A, G, { keepPerSample: 1 as never }), { instanceOf: FrugalError, code: 'E_DTYPE' });
  t.throws(() => dp.clippedLinearGrad(A, G, f, { perSample: Tensor.from(new Float32Array(B * din * dout), [B, din, dout]) }), { instanceOf: FrugalError, code: 'E_SHAPE' });
  t.throws(() => dp.clippedLinearGrad(A, G, f, { perSample: new Float32Array(B * din * dout) as never }), { instanceOf: FrugalError, code: 'E_DTYPE' });
  t.throws(() => dp.chooseNormMethod(-1, 2, 2), { instanceOf: FrugalError, code: 'E_RANGE' });
  t.throws(() => dp.chooseNormMethod(2.5, 2, 2), { instanceOf: FrugalError, code: 'E_RANGE' });
  t.throws(() => dp.chooseNormMethod('8' as never, 2, 2), { instanceOf: FrugalError, code: 'E_DTYPE' });
  t.is(dp.chooseNormMethod(128, 768, 768), 'gram');
  t.is(dp.chooseNormMethod(512, 768, 768), 'materialize');
  t.throws(
    () => new PrivacyEngine({ datasetSize: 10, sampleRate: 0.1, noiseMultiplier: 1, maxGradNorm: 1, delta: 1e-5, keepPerSampleBytes: -1 }),
    { instanceOf: FrugalError, code: 'E_RANGE' },
  );
});

test('PrivacyEngine tracks ε, refuses a step past the budget, and takes empty batches', (t) => {
  const opts = { datasetSize: 1000, sampleRate: 0.01, noiseMultiplier: 1.0, maxGradNorm: 1, delta: 1e-5, seed: 42, accountant: 'rdp' as const };
  const budget = dp.rdp.epsilon({ q: 0.01, sigma: 1, steps: 3, delta: 1e-5 }).epsilon;
  const engine = new PrivacyEngine({ ...opts, epsilonBudget: budget * 1.0000001 });
  const empty = { A: Tensor.from(new Float32Array(0), [0, 4]), G: Tensor.from(new Float32Array(0), [0, 2]), bias: true };
  for (let s = 1; s <= 3; s++) {
    const r = engine.step([empty]);
    t.is(r.steps, s);
    t.true(Math.abs(r.epsilon - dp.rdp.epsilon({ q: 0.01, sigma: 1, steps: s, delta: 1e-5 }).epsilon) < 1e-9);
    t.deepEqual(r.grads[0].weight!.shape, [2, 4]);
    t.true(r.grads[0].weight!.data.some((x) => x !== 0), 'an empty batch still gets noise');
  }
  const e = t.throws(() => engine.step([empty]), { instanceOf: FrugalError });
  t.is(e!.code, 'E_RANGE');
  t.regex(e!.message, /privacy budget exhausted: step 4 would bring ε to/);
  t.is(engine.steps, 3);
  // Same seed, same batches and noise; the noise std is σC/(qN).
  const a = new PrivacyEngine(opts);
  const b = new PrivacyEngine(opts);
  t.deepEqual(a.sampleBatch(), b.sampleBatch());
  const big = { A: Tensor.from(new Float32Array(0), [0, 200]), G: Tensor.from(new Float32Array(0), [0, 100]) };
  const ga = a.step([big]).grads[0].weight!.data;
  t.deepEqual(b.step([big]).grads[0].weight!.data, ga);
  let v = 0;
  for (const x of ga) v += x * x;
  const sd = Math.sqrt(v / ga.length);
  t.true(Math.abs(sd - 0.1) < 0.005, `noise sd ${sd}, want σC/(qN) = 0.1`);
  // Poisson batches: about qN examples, different per step.
  let total = 0;
  for (let s = 0; s < 50; s++) {
    total += a.sampleBatch().length;
    a.step([big]);
  }
  t.true(Math.abs(total / 50 - 10) < 2, `mean batch ${total / 50}`);
  t.throws(() => new PrivacyEngine({ ...opts, sampleRate: 0 }), { code: 'E_RANGE' } as never);
  t.throws(() => new PrivacyEngine({ ...opts, delta: 1 }), { code: 'E_RANGE' } as never);
  t.throws(() => new PrivacyEngine({ ...opts, maxGradNorm: -1 }), { code: 'E_RANGE' } as never);
  t.throws(() => a.step([big, { A: Tensor.from(new Float32Array(4), [1, 4]), G: Tensor.from(new Float32Array(2), [1, 2]) }]), { code: 'E_SHAPE' } as never);
});
