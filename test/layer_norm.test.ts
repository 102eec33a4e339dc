// layerNorm / layerNormBackward against a plain float64 JS reference, at awkward
// sizes and every ISA level; bad inputs each give a FrugalError with its code.
import test from 'ava';
import {
  FrugalError, Tensor, info, isaLevels, layerNorm, layerNormAsync, layerNormBackward, layerNormBackwardAsync,
  setIsa, setNumThreads,
} from '../lib';
import { mismatch as close, seededFloats as random } from './helpers';

interface Ref { y: Float64Array; mean: Float64Array; rstd: Float64Array }

function refForward(x: Float32Array, gamma: Float32Array, beta: Float32Array, rows: number, cols: number, eps: number): Ref {
  const y = new Float64Array(rows * cols), mean = new Float64Array(rows), rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += x[r * cols + c];
    const mu = s / cols;
    let ss = 0;
    for (let c = 0; c < cols; c++) ss += (x[r * cols + c] - mu) ** 2;
    const rs = 1 / Math.sqrt(ss / cols + Math.fround(eps));
    for (let c = 0; c < cols; c++) y[r * cols + c] = gamma[c] * (x[r * cols + c] - mu) * rs + beta[c];
    mean[r] = mu;
    rstd[r] = rs;
  }
  return { y, mean, rstd };
}

function refBackward(dy: Float32Array, x: Float32Array, gamma: Float32Array, mean: Float32Array, rstd: Float32Array,
  rows: number, cols: number): { dx: Float64Array; dGamma: Float64Array; dBeta: Float64Array } {
  const dx = new Float64Array(rows * cols), dGamma = new Float64Array(cols), dBeta = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    let sg = 0, sgx = 0;
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c, xhat = (x[i] - mean[r]) * rstd[r], g = gamma[c] * dy[i];
      sg += g;
      sgx += g * xhat;
    }
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c, xhat = (x[i] - mean[r]) * rstd[r];
      dx[i] = rstd[r] * (gamma[c] * dy[i] - sg / cols - xhat * sgx / cols);
      dGamma[c] += dy[i] * xhat;
      dBeta[c] += dy[i];
    }
  }
  return { dx, dGamma, dBeta };
}

// x with a per-row offset and scale (LayerNorm removes both), gamma around 1.
function data(rows: number, cols: number, seed: number) {
  const x = random(rows * cols, seed);
  for (let i = 0; i < x.length; i++) x[i] = 2 + (1 + (Math.floor(i / cols) % 4)) * x[i];
  const gamma = random(cols, seed + 1).map((g) => g + 1);
  return { x, gamma, beta: random(cols, seed + 2), dy: random(rows * cols, seed + 3) };
}

const COLS = [1, 7, 17, 33, 255, 257, 768];
const ROWS = [1, 3, 17];

// Tolerances vs float64: y 2e-5 abs + rel; dx 5e-5 abs + 1e-4 rel; dGamma/dBeta 1e-4 abs + rel
// (sums over rows of float32 terms).
test.serial('layerNorm and its backward match the float64 reference at every ISA level', (t) => {
  for (const level of isaLevels()) {
    setIsa(level);
    for (const rows of ROWS) {
      for (const cols of COLS) {
        const d = data(rows, cols, rows * 1000 + cols);
        const x = Tensor.from(d.x, [rows, cols]);
        const gamma = Tensor.from(d.gamma, [cols]);
        const fwd = layerNorm(x, gamma, Tensor.from(d.beta, [cols]));
        const want = refForward(d.x, d.gamma, d.beta, rows, cols, 1e-5);
        const where = `${level} ${rows}x${cols}`;
        t.is(close(fwd.y.data, want.y, 2e-5, 2e-5), '', `y ${where}`);
        t.is(close(fwd.mean.data, want.mean, 1e-5, 1e-6), '', `mean ${where}`);
        t.is(close(fwd.rstd.data, want.rstd, 0, 1e-5), '', `rstd ${where}`);
        const g = layerNormBackward(Tensor.from(d.dy, [rows, cols]), x, gamma, fwd);
        const wb = refBackward(d.dy, d.x, d.gamma, fwd.mean.data, fwd.rstd.data, rows, cols);
        t.is(close(g.dx.data, wb.dx, 5e-5, 1e-4), '', `dx ${where}`);
        t.is(close(g.dGamma.data, wb.dGamma, 1e-4, 1e-4), '', `dGamma ${where}`);
        t.is(close(g.dBeta.data, wb.dBeta, 1e-4, 1e-4), '', `dBeta ${where}`);
      }
    }
  }
  setIsa(info().maxIsa);
});

test.serial('any rank: statistics are shaped like x without its last axis; eps is used', (t) => {
  const d = data(6, 5, 9);
  const x3 = Tensor.from(d.x, [2, 3, 5]);
  const r3 = layerNorm(x3, Tensor.from(d.gamma, [5]), Tensor.from(d.beta, [5]), { eps: 0.5 });
  t.deepEqual(r3.y.shape, [2, 3, 5]);
  t.deepEqual(r3.mean.shape, [2, 3]);
  t.is(close(r3.y.data, refForward(d.x, d.gamma, d.beta, 6, 5, 0.5).y, 2e-5, 2e-5), '');
  const x1 = Tensor.from(d.x.slice(0, 5), [5]);
  const r1 = layerNorm(x1, Tensor.from(d.gamma, [5]), Tensor.from(d.beta, [5]));
  t.deepEqual(r1.mean.shape, []);
  t.is(close(r1.y.data, refForward(d.x.slice(0, 5), d.gamma, d.beta, 1, 5, 1e-5).y, 2e-5, 2e-5), '');
  // `out` receives y (in place here) and dx.
  const xin = Tensor.from(d.x.slice(), [2, 3, 5]);
  const rin = layerNorm(xin, Tensor.from(d.gamma, [5]), Tensor.from(d.beta, [5]), { eps: 0.5, out: xin });
  t.is(rin.y, xin);
  t.deepEqual(xin.data, r3.y.data);
  const dxOut = Tensor.from(new Float32Array(30), [2, 3, 5]);
  const gOut = layerNormBackward(Tensor.from(d.dy, [2, 3, 5]), x3, Tensor.from(d.gamma, [5]), r3, { out: dxOut });
  t.is(gOut.dx, dxOut);
  t.deepEqual(dxOut.data, layerNormBackward(Tensor.from(d.dy, [2, 3, 5]), x3, Tensor.from(d.gamma, [5]), r3).dx.data);
  const empty = layerNorm(Tensor.from(new Float32Array(0), [0, 5]), Tensor.from(d.gamma, [5]), Tensor.from(d.beta, [5]));
  t.deepEqual(empty.mean.shape, [0]);
  const g = layerNormBackward(Tensor.from(new Float32Array(0), [0, 5]), Tensor.from(new Float32Array(0), [0, 5]),
    Tensor.from(d.gamma, [5]), empty);
  t.deepEqual(Array.from(g.dGamma.data), [0, 0, 0, 0, 0]);
});

test.serial('results are identical at any thread count, and async matches sync', async (t) => {
  const rows = 300, cols = 768;
  const d = data(rows, cols, 4);
  const x = Tensor.from(d.x, [rows, cols]), gamma = Tensor.from(d.gamma, [cols]), beta = Tensor.from(d.beta, [cols]);
  const dy = Tensor.from(d.dy, [rows, cols]);
  const saved = info().threads;
  const runs = [1, 2, 3].map((n) => {
    setNumThreads(n);
    const f = layerNorm(x, gamma, beta);
    return { f, g: layerNormBackward(dy, x, gamma, f) };
  });
  for (const r of runs.slice(1)) {
    t.deepEqual(r.f.y.data, runs[0].f.y.data);
    t.deepEqual(r.g.dx.data, runs[0].g.dx.data);
    t.deepEqual(r.g.dGamma.data, runs[0].g.dGamma.data);
    t.deepEqual(r.g.dBeta.data, runs[0].g.dBeta.data);
  }
  const fa = await layerNormAsync(x, gamma, beta);
  t.deepEqual(fa.y.data, runs[2].f.y.data);
  const ga = await layerNormBackwardAsync(dy, x, gamma, fa);
  t.deepEqual(ga.dGamma.data, runs[2].g.dGamma.data);
  setNumThreads(saved);
});

test('NaN and Infinity in the data stay in their row; the process lives on', (t) => {
  const x = Tensor.from(new Float32Array([1, NaN, 3, 1, 2, 3, Infinity, 0, 1]), [3, 3]);
  const g = Tensor.from([1, 1, 1], [3]);
  const b = Tensor.from([0, 0, 0], [3]);
  const { y, mean, rstd } = layerNorm(x, g, b);
  t.true(Array.from(y.data.slice(0, 3)).every(Number.isNaN));
  t.true(Array.from(y.data.slice(3, 6)).every(Number.isFinite));
  t.true(Array.from(y.data.slice(6, 9)).every((v) => !Number.isFinite(v)));
  const { dx } = layerNormBackward(Tensor.from(new Float32Array(9).fill(1), [3, 3]), x, g, { mean, rstd });
  t.true(Array.from(dx.data.slice(3, 6)).every(Number.isFinite));
});

test('bad inputs give a FrugalError with the right code', async (t) => {
  const x = Tensor.from(new Float32Array(12), [3, 4]);
  const g4 = Tensor.from(new Float32Array(4), [4]);
  const g3 = Tensor.from(new Float32Array(3), [3]);
  const fwd = layerNorm(x, g4, g4);
  const cases: Array<[() => unknown, string, RegExp]> = [
    [() => layerNorm(new Float32Array(12) as never, g4, g4), 'E_DTYPE', /^x:/],
    [() => layerNorm(x, g3, g4), 'E_SHAPE', /^gamma:/],
    [() => layerNorm(x, g4, g3), 'E_SHAPE', /^beta:/],
    [() => layerNorm(Tensor.from(new Float32Array(0), [3, 0]), g4, g4), 'E_SHAPE', /^x:/],
    [() => layerNorm(x, g4, g4, { eps: 0 }), 'E_RANGE', /^options\.eps:/],
    [() => layerNorm(x, g4, g4, { eps: -1 }), 'E_RANGE', /^options\.eps:/],
    [() => layerNorm(x, g4, g4, { eps: NaN }), 'E_RANGE', /^options\.eps:/],
    [() => layerNorm(x, g4, g4, { eps: Infinity }), 'E_RANGE', /^options\.eps:/],
    [() => layerNorm(x, g4, g4, { eps: 1e-50 }), 'E_RANGE', /^options\.eps:/],
    [() => layerNorm(x, g4, g4, { eps: '1e-5' as never }), 'E_DTYPE', /^options\.eps:/],
    [() => layerNorm(x, g4, g4, 5 as never), 'E_DTYPE', /^options:/],
    [() => layerNorm(x, g4, g4, { out: g4 }), 'E_SHAPE', /^options\.out:/],
    [() => layerNorm(x, g4, g4, { out: new Float32Array(12) as never }), 'E_DTYPE', /^options\.out:/],
    [() => layerNormBackward(x, x, g4, fwd, { out: g3 }), 'E_SHAPE', /^options\.out:/],
    [() => layerNormBackward(Tensor.from(new Float32Array(8), [2, 4]), x, g4, fwd), 'E_SHAPE', /^dy:/],
    [() => layerNormBackward(x, x, g3, fwd), 'E_SHAPE', /^gamma:/],
    [() => layerNormBackward(x, x, g4, { mean: g4, rstd: fwd.rstd }), 'E_SHAPE', /^saved\.mean:/],
    [() => layerNormBackward(x, x, g4, { mean: fwd.mean } as never), 'E_DTYPE', /^saved\.rstd:/],
    [() => layerNormBackward(x, x, g4, undefined as never), 'E_DTYPE', /^saved\.mean:/],
  ];
  for (const [fn, code, message] of cases) {
    const e = t.throws(fn, { instanceOf: FrugalError });
    t.is(e!.code, code as never, e!.message);
    t.regex(e!.message, message);
  }
  await t.throwsAsync(layerNormAsync(x, g4, g4, { eps: 0 }), { instanceOf: FrugalError, code: 'E_RANGE' } as never);
  await t.throwsAsync(layerNormBackwardAsync(x, x, g3, fwd), { instanceOf: FrugalError, code: 'E_SHAPE' } as never);
  // A detached input buffer.
  const f = new Float32Array(12);
  const xd = Tensor.from(f, [3, 4]);
  structuredClone(f.buffer, { transfer: [f.buffer] });
  t.throws(() => layerNorm(xd, g4, g4), { instanceOf: FrugalError, code: 'E_SHAPE' } as never);
  if (info().cuda.available) {
    t.throws(() => layerNorm(x.to('cuda'), g4, g4), { instanceOf: FrugalError, code: 'E_DEVICE' } as never);
  }
});
