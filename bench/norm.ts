// Benchmark suite 'norm': LayerNorm forward/backward, GELU forward/backward and
// softmax at transformer shapes. These kernels are memory-bound, so the rate is
// GB/s of compulsory traffic (inputs read once, outputs written once); compare
// with the machine's memory bandwidth (about 70 GB/s on the 2-core dev box).
// Baselines in the same run: plain-JS loops, and Frugal's AVX2 path when the
// CPU has AVX-512.
import { Tensor, layerNorm, layerNormBackward, gelu, geluBackward, softmax } from '../lib';
import type { BenchCase, BenchOptions, BenchSuite } from './suite';
import { avx2Baseline, filled } from './data';

// ---- plain-JS baselines (float64 arithmetic on Float32Arrays) -----------------

function jsLayerNorm(x: Float32Array, g: Float32Array, b: Float32Array, rows: number, cols: number, y: Float32Array,
  mean: Float32Array, rstd: Float32Array): void {
  for (let r = 0, o = 0; r < rows; r++, o += cols) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += x[o + c];
    const mu = s / cols;
    let ss = 0;
    for (let c = 0; c < cols; c++) ss += (x[o + c] - mu) * (x[o + c] - mu);
    const rs = 1 / Math.sqrt(ss / cols + 1e-5);
    for (let c = 0; c < cols; c++) y[o + c] = g[c] * (x[o + c] - mu) * rs + b[c];
    mean[r] = mu;
    rstd[r] = rs;
  }
}

function jsLayerNormBackward(dy: Float32Array, x: Float32Array, g: Float32Array, mean: Float32Array, rstd: Float32Array,
  rows: number, cols: number, dx: Float32Array, dg: Float32Array, db: Float32Array): void {
  dg.fill(0);
  db.fill(0);
  for (let r = 0, o = 0; r < rows; r++, o += cols) {
    const mu = mean[r], rs = rstd[r];
    let sg = 0, sgx = 0;
    for (let c = 0; c < cols; c++) {
      const gd = g[c] * dy[o + c];
      sg += gd;
      sgx += gd * (x[o + c] - mu) * rs;
    }
    sg /= cols;
    sgx /= cols;
    for (let c = 0; c < cols; c++) {
      const xhat = (x[o + c] - mu) * rs;
      dx[o + c] = rs * (g[c] * dy[o + c] - sg - xhat * sgx);
      dg[c] += dy[o + c] * xhat;
      db[c] += dy[o + c];
    }
  }
}

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): JS has no Math.erf.
function erf(x: number): number {
  const a = Math.abs(x), t = 1 / (1 + 0.3275911 * a);
  const p = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const r = 1 - p * Math.exp(-a * a);
  return x < 0 ? -r : r;
}

function jsGelu(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i++) y[i] = 0.5 * x[i] * (1 + erf(x[i] * Math.SQRT1_2));
}

function jsGeluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array): void {
  const k = 1 / Math.sqrt(2 * Math.PI);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    dx[i] = dy[i] * (0.5 * (1 + erf(v * Math.SQRT1_2)) + v * k * Math.exp(-0.5 * v * v));
  }
}

function jsSoftmax(x: Float32Array, rows: number, cols: number, y: Float32Array): void {
  for (let r = 0, o = 0; r < rows; r++, o += cols) {
    let max = -Infinity;
    for (let c = 0; c < cols; c++) if (x[o + c] > max) max = x[o + c];
    let sum = 0;
    for (let c = 0; c < cols; c++) {
      const e = Math.exp(x[o + c] - max);
      y[o + c] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let c = 0; c < cols; c++) y[o + c] *= inv;
  }
}

// ---- cases ---------------------------------------------------------------------

function casesFor(rows: number, cols: number): BenchCase[] {
  const n = rows * cols, shape = [rows, cols], tag = `[${rows}, ${cols}]`;
  const x = Tensor.from(filled(n, 1), shape), dy = Tensor.from(filled(n, 2), shape);
  const gamma = Tensor.from(filled(cols, 3).map((v) => v + 1), [cols]), beta = Tensor.from(filled(cols, 4), [cols]);
  const out = Tensor.from(new Float32Array(n), shape);
  const saved = layerNorm(x, gamma, beta);
  const js = {
    y: new Float32Array(n), mean: new Float32Array(rows), rstd: new Float32Array(rows),
    dg: new Float32Array(cols), db: new Float32Array(cols),
  };
  const bytes2 = 2 * 4 * n, bytes3 = 3 * 4 * n;
  const notes = { 'memory bandwidth': 'about 70 GB/s on the 2-core dev box' };

  const lnF = () => layerNorm(x, gamma, beta, { out });
  const lnB = () => layerNormBackward(dy, x, gamma, saved, { out });
  const gF = () => gelu(x, { out });
  const gB = () => geluBackward(x, dy, { out });
  const sm = () => softmax(x, { out });
  return [
    {
      name: `layerNorm forward ${tag}`, bytes: bytes2, frugal: lnF, notes,
      baselines: [
        { name: 'plain JS', fn: () => jsLayerNorm(x.data, gamma.data, beta.data, rows, cols, js.y, js.mean, js.rstd) },
        ...avx2Baseline(lnF),
      ],
    },
    {
      name: `layerNorm backward ${tag}`, bytes: bytes3, frugal: lnB,
      baselines: [
        {
          name: 'plain JS',
          fn: () => jsLayerNormBackward(dy.data, x.data, gamma.data, saved.mean.data, saved.rstd.data, rows, cols, js.y, js.dg, js.db),
        },
        ...avx2Baseline(lnB),
      ],
    },
    {
      name: `gelu ${tag}`, bytes: bytes2, frugal: gF,
      baselines: [{ name: 'plain JS (A&S erf)', fn: () => jsGelu(x.data, js.y) }, ...avx2Baseline(gF)],
    },
    {
      name: `geluBackward ${tag}`, bytes: bytes3, frugal: gB,
      baselines: [{ name: 'plain JS (A&S erf)', fn: () => jsGeluBackward(x.data, dy.data, js.y) }, ...avx2Baseline(gB)],
    },
    {
      name: `softmax ${tag}`, bytes: bytes2, frugal: sm,
      baselines: [{ name: 'plain JS', fn: () => jsSoftmax(x.data, rows, cols, js.y) }, ...avx2Baseline(sm)],
    },
  ];
}

/** LayerNorm, GELU and softmax on the CPU, in GB/s against plain JS and the AVX2 path. */
export const normSuite: BenchSuite = {
  name: 'norm',
  cases(opts: BenchOptions): BenchCase[] {
    if (opts.device !== 'cpu') return [];
    const shapes: Array<[number, number]> = opts.quick ? [[1024, 768]] : [[4096, 768], [4096, 3072]];
    return shapes.flatMap(([rows, cols]) => casesFor(rows, cols));
  },
};
