// featureMap against plain float64 JS references written here, at awkward sizes (H or
// W of 1, 2, 7, 33; C not a multiple of 8; dilations larger than the image), at every
// ISA level; async = sync; the same bits at 1 and 2 threads; bad inputs each a
// FrugalError with its code, the process living on.
// Tolerances (|got − want| ≤ atol + rtol·|want|, want in float64 from the same float32
// inputs): outputs of one short sum (norms, convolutions, resize, Hadamard) 2e-5 +
// 2e-5·|want|; gradients summed over the batch and pixels (dweight, dbias, dmap, and the
// norm's dx) 1e-4 + 1e-4·|want|. Max-pool is exact.
import test, { type ExecutionContext } from 'ava';
import { FrugalError, Tensor, featureMap as fm, info, setNumThreads, type ErrorCode } from '../lib';
import { assertClose, eachIsa, seededFloats as random } from './helpers';

const OUT = [2e-5, 2e-5] as const;
const GRAD = [1e-4, 1e-4] as const;

const T = (data: Float32Array, shape: number[]) => Tensor.from(data, shape);
const R = (shape: number[], seed: number, scale = 1) => T(random(shape.reduce((a, b) => a * b, 1), seed, scale), shape);

// ---- float64 references ------------------------------------------------------------------

// erf to ~1e-14: its Taylor series below 3, the continued fraction of erfc above.
function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    let term = x, sum = x;
    for (let n = 1; n < 80; n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (a > 7) return Math.sign(x);
  let f = a;
  for (let n = 60; n >= 1; n--) f = a + n / 2 / f;
  const erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}
const gelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));
const geluGrad = (v: number) => 0.5 * (1 + erf(v / Math.SQRT2)) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI);

// Normalisation over index sets: `groups[g]` lists the flat indices of one statistic.
function normForward(x: Float32Array, sets: number[][], channelOf: (i: number) => number, w: Float32Array, b: Float32Array, eps: number) {
  const y = new Float64Array(x.length), mean = new Float64Array(sets.length), rstd = new Float64Array(sets.length);
  sets.forEach((set, s) => {
    const mu = set.reduce((a, i) => a + x[i], 0) / set.length;
    const v = set.reduce((a, i) => a + (x[i] - mu) ** 2, 0) / set.length;
    mean[s] = mu;
    rstd[s] = 1 / Math.sqrt(v + eps);
    for (const i of set) y[i] = w[channelOf(i)] * (x[i] - mu) * rstd[s] + b[channelOf(i)];
  });
  return { y, mean, rstd };
}

function normBackward(dy: Float32Array, x: Float32Array, sets: number[][], channelOf: (i: number) => number, w: Float32Array, C: number, eps: number) {
  const dx = new Float64Array(x.length), dw = new Float64Array(C), db = new Float64Array(C);
  for (const set of sets) {
    const mu = set.reduce((a, i) => a + x[i], 0) / set.length;
    const rs = 1 / Math.sqrt(set.reduce((a, i) => a + (x[i] - mu) ** 2, 0) / set.length + eps);
    let mg = 0, mgx = 0;
    for (const i of set) {
      const xh = (x[i] - mu) * rs, g = w[channelOf(i)] * dy[i];
      mg += g / set.length;
      mgx += (g * xh) / set.length;
      dw[channelOf(i)] += dy[i] * xh;
      db[channelOf(i)] += dy[i];
    }
    for (const i of set) dx[i] = rs * (w[channelOf(i)] * dy[i] - mg - (x[i] - mu) * rs * mgx);
  }
  return { dx, dw, db };
}

// The index sets of a channel norm (one per pixel) and a GroupNorm (one per batch and group).
function pixelSets(B: number, C: number, P: number): number[][] {
  const sets: number[][] = [];
  for (let b = 0; b < B; b++) for (let p = 0; p < P; p++) sets.push(Array.from({ length: C }, (_, c) => (b * C + c) * P + p));
  return sets;
}
function groupSets(B: number, C: number, P: number, G: number): number[][] {
  const sets: number[][] = [];
  const per = C / G;
  for (let b = 0; b < B; b++) {
    for (let g = 0; g < G; g++) sets.push(Array.from({ length: per * P }, (_, k) => (b * C + g * per) * P + k));
  }
  return sets;
}

interface Geom { B: number; C: number; O: number; H: number; W: number; kh: number; kw: number; dh: number; dw: number; ph: number; pw: number; depthwise: boolean }
const outSize = (g: Geom) => [g.H + 2 * g.ph - g.dh * (g.kh - 1), g.W + 2 * g.pw - g.dw * (g.kw - 1)];

// Every (output, input, weight) index triple of a stride-1 convolution whose tap lands inside x.
function eachTap(g: Geom, fn: (yi: number, xi: number, wi: number, o: number) => void): void {
  const [Ho, Wo] = outSize(g);
  const inC = g.depthwise ? 1 : g.C;
  for (let b = 0; b < g.B; b++) for (let o = 0; o < g.O; o++) for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) {
    const yi = ((b * g.O + o) * Ho + i) * Wo + j;
    for (let c = 0; c < inC; c++) for (let p = 0; p < g.kh; p++) for (let q = 0; q < g.kw; q++) {
      const r = i - g.ph + p * g.dh, s = j - g.pw + q * g.dw;
      if (r < 0 || r >= g.H || s < 0 || s >= g.W) continue;
      const xc = g.depthwise ? o : c;
      fn(yi, ((b * g.C + xc) * g.H + r) * g.W + s, ((o * inC + c) * g.kh + p) * g.kw + q, o);
    }
  }
}

function convForward(g: Geom, x: Float32Array, w: Float32Array, bias: Float32Array | undefined, withGelu: boolean) {
  const [Ho, Wo] = outSize(g);
  const plane = Ho * Wo;
  const pre = new Float64Array(g.B * g.O * plane);
  if (bias) for (let k = 0; k < pre.length; k++) pre[k] = bias[Math.floor(k / plane) % g.O];
  eachTap(g, (yi, xi, wi) => { pre[yi] += w[wi] * x[xi]; });
  return { pre, y: withGelu ? pre.map(gelu) : pre };
}

function convBackward(g: Geom, dy: Float32Array, x: Float32Array, w: Float32Array, pre: Float32Array | undefined) {
  const gy = pre ? Float64Array.from(dy, (v, k) => v * geluGrad(pre[k])) : Float64Array.from(dy);
  const dx = new Float64Array(x.length), dw = new Float64Array(w.length), db = new Float64Array(g.O);
  eachTap(g, (yi, xi, wi) => {
    dx[xi] += w[wi] * gy[yi];
    dw[wi] += x[xi] * gy[yi];
  });
  const [Ho, Wo] = outSize(g);
  gy.forEach((v, k) => { db[Math.floor(k / (Ho * Wo)) % g.O] += v; });
  return { dx, dw, db };
}

// Bilinear align_corners = true: the two neighbours and weights of output i of n on an input axis of m.
function taps(i: number, n: number, m: number): [number, number, number] {
  const pos = n === 1 ? 0 : (i * (m - 1)) / (n - 1);
  const lo = Math.min(Math.floor(pos), m - 1), hi = Math.min(lo + 1, m - 1);
  return [lo, hi, pos - lo];
}
function resizeRef(x: Float32Array, B: number, C: number, H: number, W: number, h: number, w: number, dy?: Float32Array) {
  const y = new Float64Array(B * C * h * w), dx = new Float64Array(B * C * H * W);
  for (let bc = 0; bc < B * C; bc++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    const [r0, r1, fr] = taps(i, h, H), [c0, c1, fc] = taps(j, w, W);
    const base = bc * H * W, yi = (bc * h + i) * w + j;
    const four: Array<[number, number]> = [[r0 * W + c0, (1 - fr) * (1 - fc)], [r0 * W + c1, (1 - fr) * fc], [r1 * W + c0, fr * (1 - fc)], [r1 * W + c1, fr * fc]];
    for (const [k, wt] of four) {
      y[yi] += wt * x[base + k];
      if (dy) dx[base + k] += wt * dy[yi];
    }
  }
  return { y, dx };
}

// ---- the ops -------------------------------------------------------------------------------

const PLANES: Array<[number, number]> = [[1, 1], [1, 7], [2, 33], [7, 2], [33, 7], [2, 2]];

test('channelNorm and its backward match the float64 reference (C = 1, 3, 13; planes 1×1 to 33×7)', (t) => {
  eachIsa((level) => {
    for (const C of [1, 3, 13]) for (const [H, W] of PLANES) {
      const B = 2, shape = [B, C, H, W], what = `${level} C ${C} ${H}×${W}`;
      const x = R(shape, C * 100 + H, 2), w = R([C], 7), b = R([C], 8), dy = R(shape, 9);
      const sets = pixelSets(B, C, H * W), ch = (i: number) => Math.floor(i / (H * W)) % C;
      const want = normForward(x.data, sets, ch, w.data, b.data, 1e-6);
      const f = fm.channelNorm({ x, weight: w, bias: b });
      t.deepEqual(f.mean.shape, [B, H, W]);
      assertClose(t, f.y.data, want.y, ...OUT, `y ${what}`);
      assertClose(t, f.mean.data, want.mean, ...OUT, `mean ${what}`);
      assertClose(t, f.rstd.data, want.rstd, 1e-4, 1e-4, `rstd ${what}`);
      const g = fm.channelNormBackward({ dy, x, weight: w, mean: f.mean, rstd: f.rstd });
      const wg = normBackward(dy.data, x.data, sets, ch, w.data, C, 1e-6);
      assertClose(t, g.dx.data, wg.dx, ...GRAD, `dx ${what}`);
      assertClose(t, g.dweight.data, wg.dw, ...GRAD, `dweight ${what}`);
      assertClose(t, g.dbias.data, wg.db, ...GRAD, `dbias ${what}`);
    }
  });
});

// A grouped channel norm's sets: per batch, per block of C/G channels, per pixel (the [B, G, P] order of mean).
function channelGroupSets(B: number, C: number, P: number, G: number): number[][] {
  const sets: number[][] = [];
  const per = C / G;
  for (let b = 0; b < B; b++) for (let k = 0; k < G; k++) for (let p = 0; p < P; p++) {
    sets.push(Array.from({ length: per }, (_, c) => (b * C + k * per + c) * P + p));
  }
  return sets;
}

test('channelNorm with groups normalises each block of C/groups channels per pixel (mean [B, groups, H, W])', (t) => {
  eachIsa((level) => {
    for (const [C, G] of [[12, 4], [12, 3], [8, 2], [5, 5], [6, 1], [68, 4]]) for (const [H, W] of [[1, 1], [7, 2], [2, 33], [32, 32]]) {
      if (C === 68 && H === 1) continue;
      // Blocks of a few random channels can have σ² ≪ 1e-6 (fp32 x̂ then loses digits against
      // float64): those take eps 1e-3; one channel per block keeps the default (x̂ = 0 exactly).
      const B = 2, shape = [B, C, H, W], P = H * W, what = `${level} C ${C} groups ${G} ${H}×${W}`;
      const eps = C / G === 1 ? 1e-6 : 1e-3;
      const x = R(shape, C * 10 + G + H, 2), w = R([C], 5), b = R([C], 6), dy = R(shape, 7);
      const sets = channelGroupSets(B, C, P, G), ch = (i: number) => Math.floor(i / P) % C;
      const want = normForward(x.data, sets, ch, w.data, b.data, eps);
      const f = fm.channelNorm({ x, weight: w, bias: b, groups: G, ...(eps === 1e-6 ? {} : { eps }) });
      t.deepEqual(f.mean.shape, G > 1 ? [B, G, H, W] : [B, H, W], what);
      t.deepEqual(f.rstd.shape, f.mean.shape, what);
      assertClose(t, f.y.data, want.y, ...OUT, `y ${what}`);
      assertClose(t, f.mean.data, want.mean, ...OUT, `mean ${what}`);
      assertClose(t, f.rstd.data, want.rstd, 1e-4, 1e-4, `rstd ${what}`);
      const g = fm.channelNormBackward({ dy, x, weight: w, groups: G, mean: f.mean, rstd: f.rstd });
      const wg = normBackward(dy.data, x.data, sets, ch, w.data, C, eps);
      assertClose(t, g.dx.data, wg.dx, ...GRAD, `dx ${what}`);
      assertClose(t, g.dweight.data, wg.dw, ...GRAD, `dweight ${what}`);
      assertClose(t, g.dbias.data, wg.db, ...GRAD, `dbias ${what}`);
      if (G === 1) {
        // groups: 1 is the default op, bit for bit.
        const d = fm.channelNorm({ x, weight: w, bias: b, ...(eps === 1e-6 ? {} : { eps }) });
        t.deepEqual(d.y.data, f.y.data, what);
      }
    }
  });
});

test('groupNorm and its backward match the float64 reference (groups 1, C and between; eps given)', (t) => {
  eachIsa((level) => {
    for (const [C, G] of [[6, 1], [6, 3], [5, 5], [12, 4]]) for (const [H, W] of [[1, 1], [7, 2], [2, 33]]) {
      const B = 3, shape = [B, C, H, W], what = `${level} C ${C} G ${G} ${H}×${W}`, eps = 1e-3;
      const x = R(shape, C + G + H, 3), w = R([C], 1), b = R([C], 2), dy = R(shape, 3);
      const sets = groupSets(B, C, H * W, G), ch = (i: number) => Math.floor(i / (H * W)) % C;
      const want = normForward(x.data, sets, ch, w.data, b.data, eps);
      const f = fm.groupNorm({ x, groups: G, weight: w, bias: b, eps });
      t.deepEqual(f.mean.shape, [B, G]);
      assertClose(t, f.y.data, want.y, ...OUT, `y ${what}`);
      assertClose(t, f.mean.data, want.mean, ...OUT, `mean ${what}`);
      assertClose(t, f.rstd.data, want.rstd, 1e-4, 1e-4, `rstd ${what}`);
      const g = fm.groupNormBackward({ dy, x, groups: G, weight: w, mean: f.mean, rstd: f.rstd });
      const wg = normBackward(dy.data, x.data, sets, ch, w.data, C, eps);
      assertClose(t, g.dx.data, wg.dx, ...GRAD, `dx ${what}`);
      assertClose(t, g.dweight.data, wg.dw, ...GRAD, `dweight ${what}`);
      assertClose(t, g.dbias.data, wg.db, ...GRAD, `dbias ${what}`);
    }
  });
});

// One depthwise case: forward (with and without bias and gelu) and backward against the reference.
function depthwiseCase(t: ExecutionContext, g: Geom, withGelu: boolean, withBias: boolean, what: string, explicit: boolean) {
  const x = R([g.B, g.C, g.H, g.W], g.H * 31 + g.W, 2), w = R([g.C, 1, g.kh, g.kw], g.kh + g.dh), b = withBias ? R([g.C], 5) : undefined;
  const opts = explicit ? { dilation: [g.dh, g.dw] as [number, number], padding: [g.ph, g.pw] as [number, number] } : { dilation: g.dh };
  const f = fm.depthwiseConv2d({ x, weight: w, ...(b ? { bias: b } : {}), ...opts, gelu: withGelu });
  const want = convForward(g, x.data, w.data, b?.data, withGelu);
  const [Ho, Wo] = outSize(g);
  t.deepEqual(f.y.shape, [g.B, g.C, Ho, Wo], what);
  t.is(f.pre !== undefined, withGelu, `pre only with gelu ${what}`);
  assertClose(t, f.y.data, want.y, ...OUT, `y ${what}`);
  if (f.pre) assertClose(t, f.pre.data, want.pre, ...OUT, `pre ${what}`);
  const dy = R(f.y.shape as number[], 77);
  const d = fm.depthwiseConv2dBackward({ dy, x, weight: w, ...opts, gelu: withGelu, ...(f.pre ? { pre: f.pre } : {}) });
  const wg = convBackward(g, dy.data, x.data, w.data, f.pre?.data);
  assertClose(t, d.dx.data, wg.dx, ...GRAD, `dx ${what}`);
  assertClose(t, d.dweight.data, wg.dw, ...GRAD, `dweight ${what}`);
  assertClose(t, d.dbias.data, wg.db, ...GRAD, `dbias ${what}`);
  t.deepEqual(d.dweight.shape, [g.C, 1, g.kh, g.kw]);
}

test('depthwiseConv2d and its backward: 3×3 at dilations 1, 2, 5, 7 ("same" padding), dilations beyond the image, gelu and bias', (t) => {
  eachIsa((level) => {
    for (const [H, W] of PLANES) for (const dil of [1, 2, 5, 7]) {
      const C = 5, g: Geom = { B: 2, C, O: C, H, W, kh: 3, kw: 3, dh: dil, dw: dil, ph: dil, pw: dil, depthwise: true };
      depthwiseCase(t, g, dil % 2 === 1, dil !== 2, `${level} ${H}×${W} dilation ${dil}`, false);
    }
    // Uneven kernels, dilations and paddings per axis; a tap far outside the image.
    const odd: Geom[] = [
      { B: 1, C: 3, O: 3, H: 7, W: 33, kh: 1, kw: 5, dh: 1, dw: 3, ph: 0, pw: 2, depthwise: true },
      { B: 2, C: 9, O: 9, H: 2, W: 7, kh: 3, kw: 2, dh: 11, dw: 1, ph: 11, pw: 0, depthwise: true },
      { B: 1, C: 1, O: 1, H: 33, W: 1, kh: 7, kw: 1, dh: 2, dw: 9, ph: 1, pw: 0, depthwise: true },
    ];
    for (const g of odd) for (const gl of [false, true]) depthwiseCase(t, g, gl, true, `${level} ${JSON.stringify(g)} gelu ${gl}`, true);
  });
});

test('depthwiseConv1d is the 2-D conv at H = 1, [B, C, L] in and out', (t) => {
  for (const L of [1, 2, 7, 33]) for (const dil of [1, 3, 40]) {
    const B = 2, C = 6, k = 3, g: Geom = { B, C, O: C, H: 1, W: L, kh: 1, kw: k, dh: 1, dw: dil, ph: 0, pw: dil, depthwise: true };
    const x = R([B, C, L], L + dil), w = R([C, 1, k], 3), b = R([C], 4);
    const f = fm.depthwiseConv1d({ x, weight: w, bias: b, dilation: dil, gelu: true });
    const want = convForward(g, x.data, w.data, b.data, true);
    t.deepEqual(f.y.shape, [B, C, L]);
    assertClose(t, f.y.data, want.y, ...OUT, `y L ${L} dilation ${dil}`);
    const dy = R([B, C, L], 9);
    const d = fm.depthwiseConv1dBackward({ dy, x, weight: w, dilation: dil, gelu: true, pre: f.pre });
    const wg = convBackward(g, dy.data, x.data, w.data, f.pre!.data);
    t.deepEqual(d.dweight.shape, [C, 1, k]);
    assertClose(t, d.dx.data, wg.dx, ...GRAD, `dx L ${L} dilation ${dil}`);
    assertClose(t, d.dweight.data, wg.dw, ...GRAD, `dweight L ${L} dilation ${dil}`);
    assertClose(t, d.dbias.data, wg.db, ...GRAD, `dbias L ${L} dilation ${dil}`);
    // An explicit padding shrinks the output: L + 2·0 − dil·2.
    if (L > 2 * dil) t.deepEqual(fm.depthwiseConv1d({ x, weight: w, dilation: dil, padding: 0 }).y.shape, [B, C, L - 2 * dil]);
  }
});

test('conv2d (1×1 and 3×3 with padding 0, 1, 2) and conv1d match the reference, gelu and bias included', (t) => {
  eachIsa((level) => {
    for (const [H, W] of [[1, 1], [2, 33], [7, 7], [33, 2]]) for (const [k, pad] of [[1, 0], [3, 1], [3, 0], [3, 2], [1, 1]]) {
      if (H + 2 * pad - k + 1 < 1 || W + 2 * pad - k + 1 < 1) continue;
      const B = 2, C = 5, O = 7, g: Geom = { B, C, O, H, W, kh: k, kw: k, dh: 1, dw: 1, ph: pad, pw: pad, depthwise: false };
      const withGelu = (k + pad) % 2 === 0, what = `${level} ${H}×${W} k ${k} pad ${pad} gelu ${withGelu}`;
      const x = R([B, C, H, W], H + W + k, 2), w = R([O, C, k, k], k * 10 + pad, 0.5), b = R([O], 6);
      const f = fm.conv2d({ x, weight: w, bias: b, padding: pad, gelu: withGelu });
      const want = convForward(g, x.data, w.data, b.data, withGelu);
      assertClose(t, f.y.data, want.y, ...OUT, `y ${what}`);
      const dy = R(f.y.shape as number[], 5);
      const d = fm.conv2dBackward({ dy, x, weight: w, padding: pad, gelu: withGelu, ...(f.pre ? { pre: f.pre } : {}) });
      const wg = convBackward(g, dy.data, x.data, w.data, f.pre?.data);
      assertClose(t, d.dx.data, wg.dx, ...GRAD, `dx ${what}`);
      assertClose(t, d.dweight.data, wg.dw, ...GRAD, `dweight ${what}`);
      assertClose(t, d.dbias.data, wg.db, ...GRAD, `dbias ${what}`);
    }
  });
  // conv1d: [B, C, L] with [O, C, 1], no bias.
  const B = 3, C = 13, O = 4, L = 33, g: Geom = { B, C, O, H: 1, W: L, kh: 1, kw: 1, dh: 1, dw: 1, ph: 0, pw: 0, depthwise: false };
  const x = R([B, C, L], 1), w = R([O, C, 1], 2);
  const f = fm.conv1d({ x, weight: w });
  t.deepEqual(f.y.shape, [B, O, L]);
  assertClose(t, f.y.data, convForward(g, x.data, w.data, undefined, false).y, ...OUT, 'conv1d y');
  const dy = R([B, O, L], 3);
  const d = fm.conv1dBackward({ dy, x, weight: w });
  const wg = convBackward(g, dy.data, x.data, w.data, undefined);
  assertClose(t, d.dx.data, wg.dx, ...GRAD, 'conv1d dx');
  assertClose(t, d.dweight.data, wg.dw, ...GRAD, 'conv1d dweight');
  t.deepEqual(d.dweight.shape, [O, C, 1]);
});

test('maxPool2d and its backward: first maximum in row-major order, NaN a maximum, odd edges dropped', (t) => {
  for (const [H, W] of [[2, 2], [7, 2], [2, 33], [33, 7]]) {
    const B = 2, C = 3, h = H >> 1, w = W >> 1;
    // Quantised values so that windows hold ties.
    const xs = random(B * C * H * W, H * W).map((v) => Math.round(v * 2) / 2);
    xs[0] = NaN;
    const x = T(xs, [B, C, H, W]), dy = R([B, C, h, w], 4);
    const y = new Float32Array(B * C * h * w), dx = new Float32Array(xs.length);
    for (let bc = 0; bc < B * C; bc++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
      let best = -1;
      for (const [p, q] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
        const k = (bc * H + 2 * i + p) * W + 2 * j + q;
        if (best < 0 || Number.isNaN(xs[k]) && !Number.isNaN(xs[best]) || xs[k] > xs[best]) best = k;
      }
      y[(bc * h + i) * w + j] = xs[best];
      dx[best] += dy.data[(bc * h + i) * w + j];
    }
    const f = fm.maxPool2d({ x });
    t.deepEqual(f.y.shape, [B, C, h, w]);
    t.deepEqual(f.y.data, y, `y ${H}×${W}`);
    t.deepEqual(fm.maxPool2dBackward({ dy, x }).dx.data, dx, `dx ${H}×${W}`);
  }
});

test('resize (bilinear, align_corners) and its backward: up, down, to and from one pixel', (t) => {
  const cases: Array<[number, number, number, number]> = [[1, 1, 7, 33], [7, 33, 1, 1], [2, 7, 33, 2], [33, 7, 7, 33], [7, 7, 7, 7], [1, 33, 2, 1]];
  eachIsa((level) => {
    for (const [H, W, h, w] of cases) {
      const B = 2, C = 3, what = `${level} ${H}×${W} → ${h}×${w}`;
      const x = R([B, C, H, W], H * W + h), dy = R([B, C, h, w], w);
      const want = resizeRef(x.data, B, C, H, W, h, w, dy.data);
      const { y } = fm.resize({ x, size: [h, w] });
      t.deepEqual(y.shape, [B, C, h, w]);
      assertClose(t, y.data, want.y, ...OUT, `y ${what}`);
      const { dx } = fm.resizeBackward({ dy, inputSize: [H, W] });
      t.deepEqual(dx.shape, [B, C, H, W]);
      assertClose(t, dx.data, want.dx, ...GRAD, `dx ${what}`);
    }
  });
  // Same size is the identity.
  const x = R([1, 2, 7, 33], 1);
  t.deepEqual(fm.resize({ x, size: [7, 33] }).y.data, x.data);
});

test('hadamard and its backward for plane, rows and columns maps', (t) => {
  eachIsa((level) => {
    for (const [H, W] of PLANES) for (const broadcast of ['plane', 'rows', 'columns'] as const) {
      const B = 3, C = 5, what = `${level} ${H}×${W} ${broadcast}`;
      const mapShape = broadcast === 'plane' ? [C, H, W] : broadcast === 'rows' ? [C, H] : [C, W];
      const x = R([B, C, H, W], H + W), map = R(mapShape, 2), dy = R([B, C, H, W], 3);
      const mi = (c: number, h: number, w: number) => (broadcast === 'plane' ? (c * H + h) * W + w : broadcast === 'rows' ? c * H + h : c * W + w);
      const y = new Float64Array(x.size), dx = new Float64Array(x.size), dmap = new Float64Array(map.size);
      for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
        const k = ((b * C + c) * H + h) * W + w, m = mi(c, h, w);
        y[k] = x.data[k] * map.data[m];
        dx[k] = dy.data[k] * map.data[m];
        dmap[m] += dy.data[k] * x.data[k];
      }
      const opts = broadcast === 'plane' ? {} : { broadcast };
      assertClose(t, fm.hadamard({ x, map, ...opts }).y.data, y, ...OUT, `y ${what}`);
      const g = fm.hadamardBackward({ dy, x, map, ...opts });
      assertClose(t, g.dx.data, dx, ...OUT, `dx ${what}`);
      assertClose(t, g.dmap.data, dmap, ...GRAD, `dmap ${what}`);
      t.deepEqual(g.dmap.shape, mapShape);
    }
  });
  // A PyTorch-style [1, C, H, W] parameter is the same map.
  const x = R([2, 3, 4, 5], 1), map = R([3, 4, 5], 2);
  t.deepEqual(fm.hadamard({ x, map: map.reshape([1, 3, 4, 5]) }).y.data, fm.hadamard({ x, map }).y.data);
});

test('an empty batch gives empty outputs and zero parameter gradients', (t) => {
  const x = R([0, 3, 4, 4], 1), w = R([3], 2), b = R([3], 3);
  const f = fm.channelNorm({ x, weight: w, bias: b });
  t.deepEqual(f.y.shape, [0, 3, 4, 4]);
  const g = fm.channelNormBackward({ dy: x, x, weight: w, mean: f.mean, rstd: f.rstd });
  t.deepEqual(Array.from(g.dweight.data), [0, 0, 0]);
  const d = fm.depthwiseConv2dBackward({ dy: x, x, weight: R([3, 1, 3, 3], 4) });
  t.deepEqual(Array.from(d.dbias.data), [0, 0, 0]);
});

// ---- forms, threads ------------------------------------------------------------------------

// One call of every op on shared inputs, returning all their outputs' data.
async function everyOp(asyncForm: boolean, device: 'cpu' | 'cuda' = 'cpu'): Promise<Float32Array[]> {
  const B = 2, C = 6, H = 9, W = 13;
  const D = (shape: number[], seed: number) => R(shape, seed).to(device);
  const x = D([B, C, H, W], 1), w = D([C], 2), b = D([C], 3), dy = D([B, C, H, W], 4);
  const dw = D([C, 1, 3, 3], 5), pw = D([4, C, 1, 1], 6), x1 = D([B, C, W], 7), w1 = D([C, 1, 3], 8), map = D([C, H], 9);
  const call = <A, Res>(sync: (a: A) => Res, async_: (a: A) => Promise<Res>, a: A): Promise<Res> => (asyncForm ? async_(a) : Promise.resolve(sync(a)));
  const cn = await call(fm.channelNorm, fm.channelNormAsync, { x, weight: w, bias: b });
  const cnb = await call(fm.channelNormBackward, fm.channelNormBackwardAsync, { dy, x, weight: w, mean: cn.mean, rstd: cn.rstd });
  const gn = await call(fm.groupNorm, fm.groupNormAsync, { x, groups: 3, weight: w, bias: b });
  const gnb = await call(fm.groupNormBackward, fm.groupNormBackwardAsync, { dy, x, groups: 3, weight: w, mean: gn.mean, rstd: gn.rstd });
  const dc = await call(fm.depthwiseConv2d, fm.depthwiseConv2dAsync, { x, weight: dw, bias: b, dilation: 2, gelu: true });
  const dcb = await call(fm.depthwiseConv2dBackward, fm.depthwiseConv2dBackwardAsync, { dy, x, weight: dw, dilation: 2, gelu: true, pre: dc.pre });
  const d1 = await call(fm.depthwiseConv1d, fm.depthwiseConv1dAsync, { x: x1, weight: w1, bias: b });
  const d1b = await call(fm.depthwiseConv1dBackward, fm.depthwiseConv1dBackwardAsync, { dy: x1, x: x1, weight: w1 });
  const c2 = await call(fm.conv2d, fm.conv2dAsync, { x, weight: pw, gelu: true });
  const c2b = await call(fm.conv2dBackward, fm.conv2dBackwardAsync, { dy: c2.y, x, weight: pw, gelu: true, pre: c2.pre });
  const c1 = await call(fm.conv1d, fm.conv1dAsync, { x: x1, weight: pw.reshape([4, C, 1]) });
  const c1b = await call(fm.conv1dBackward, fm.conv1dBackwardAsync, { dy: c1.y, x: x1, weight: pw.reshape([4, C, 1]) });
  const mp = await call(fm.maxPool2d, fm.maxPool2dAsync, { x });
  const mpb = await call(fm.maxPool2dBackward, fm.maxPool2dBackwardAsync, { dy: mp.y, x });
  const rs = await call(fm.resize, fm.resizeAsync, { x, size: [17, 5] });
  const rsb = await call(fm.resizeBackward, fm.resizeBackwardAsync, { dy: rs.y, inputSize: [H, W] });
  const hd = await call(fm.hadamard, fm.hadamardAsync, { x, map, broadcast: 'rows' });
  const hdb = await call(fm.hadamardBackward, fm.hadamardBackwardAsync, { dy, x, map, broadcast: 'rows' });
  return [cn.y, cn.mean, cn.rstd, cnb.dx, cnb.dweight, cnb.dbias, gn.y, gn.mean, gnb.dx, gnb.dweight, dc.y, dc.pre!, dcb.dx, dcb.dweight, dcb.dbias,
    d1.y, d1b.dx, d1b.dweight, c2.y, c2b.dx, c2b.dweight, c2b.dbias, c1.y, c1b.dx, c1b.dweight, mp.y, mpb.dx, rs.y, rsb.dx, hd.y, hdb.dx, hdb.dmap]
    .map((t) => t.to('cpu').data);
}

test('every async form equals its sync form', async (t) => {
  t.deepEqual(await everyOp(true), await everyOp(false));
});

test('on CUDA every op matches the CPU within the gradient tolerance (skipped without a device)', async (t) => {
  if (!info().cuda.available) {
    t.log('no CUDA device: skipped');
    t.pass();
    return;
  }
  const cpu = await everyOp(false), gpu = await everyOp(false, 'cuda'), gpuAsync = await everyOp(true, 'cuda');
  cpu.forEach((want, i) => {
    assertClose(t, gpu[i], want, ...GRAD, `output ${i}`);
    t.deepEqual(gpuAsync[i], gpu[i], `async output ${i}`);
  });
});

test('the same bits at 1 and 2 threads, on sizes that split into several blocks', async (t) => {
  const big = () => {
    const B = 4, C = 16, H = 67, W = 65;
    const x = R([B, C, H, W], 1), w = R([C], 2), b = R([C], 3), dy = R([B, C, H, W], 4), dw = R([C, 1, 3, 3], 5);
    const cn = fm.channelNorm({ x, weight: w, bias: b });
    const cnb = fm.channelNormBackward({ dy, x, weight: w, mean: cn.mean, rstd: cn.rstd });
    const gn = fm.groupNormBackward({ dy, x, groups: 4, weight: w, ...(({ mean, rstd }) => ({ mean, rstd }))(fm.groupNorm({ x, groups: 4, weight: w, bias: b })) });
    const dc = fm.depthwiseConv2dBackward({ dy, x, weight: dw, dilation: 7 });
    const c = fm.conv2dBackward({ dy: R([B, 8, H, W], 6), x, weight: R([8, C, 3, 3], 7), padding: 1 });
    const h = fm.hadamardBackward({ dy, x, map: R([C, W], 8), broadcast: 'columns' });
    const r = fm.resizeBackward({ dy, inputSize: [5, 7] });
    return [cnb.dweight, cnb.dbias, gn.dweight, gn.dx, dc.dweight, dc.dbias, c.dweight, c.dbias, h.dmap, r.dx].map((v) => v.data);
  };
  try {
    setNumThreads(1);
    const one = [big(), await everyOp(false)];
    setNumThreads(2);
    t.deepEqual([big(), await everyOp(false)], one);
  } finally {
    setNumThreads(2);
  }
});

// ---- bad inputs ----------------------------------------------------------------------------

test('bad inputs are FrugalErrors with their code, naming the argument', async (t) => {
  const code = (fn: () => unknown, c: ErrorCode, what: RegExp) => {
    const e = t.throws(fn, { instanceOf: FrugalError }, what.source);
    t.is(e?.code, c, e?.message);
    t.regex(e?.message ?? '', what);
  };
  const x = R([2, 6, 5, 4], 1), w = R([6], 2), dw = R([6, 1, 3, 3], 3);
  // Shapes, ranks and dtypes.
  code(() => fm.channelNorm({ x: R([6, 5, 4], 1), weight: w, bias: w }), 'E_SHAPE', /inputs\.x: expected an NCHW map/);
  code(() => fm.channelNorm({ x, weight: R([5], 1), bias: w }), 'E_SHAPE', /inputs\.weight: expected shape \[6\]/);
  code(() => fm.channelNorm({ x: x.data as never, weight: w, bias: w }), 'E_DTYPE', /inputs\.x: expected a Tensor/);
  code(() => fm.channelNorm({ x: R([2, 0, 5, 4], 1), weight: R([0], 1), bias: R([0], 1) }), 'E_SHAPE', /at least 1/);
  code(() => fm.channelNorm({ x, weight: w, bias: w, eps: 0 }), 'E_RANGE', /inputs\.eps/);
  code(() => fm.channelNorm({ x, weight: w, bias: w, eps: NaN }), 'E_RANGE', /inputs\.eps/);
  code(() => fm.channelNorm({ x, weight: w, bias: w, eps: 1e-50 }), 'E_RANGE', /nonzero as a float32/);
  code(() => fm.channelNorm({ x, weight: w, bias: w, epsilon: 1 } as never), 'E_CONFIG', /inputs\.epsilon: unknown option \(did you mean 'eps'\?\)/);
  code(() => fm.channelNorm(undefined as never), 'E_DTYPE', /inputs: expected an inputs object/);
  const cn = fm.channelNorm({ x, weight: w, bias: w });
  code(() => fm.channelNormBackward({ dy: R([2, 6, 5, 5], 1), x, weight: w, mean: cn.mean, rstd: cn.rstd }), 'E_SHAPE', /inputs\.dy/);
  code(() => fm.channelNormBackward({ dy: x, x, weight: w, mean: cn.rstd.reshape([2, 20]), rstd: cn.rstd }), 'E_SHAPE', /inputs\.mean: expected shape \[2, 5, 4\]/);
  // channelNorm's groups.
  code(() => fm.channelNorm({ x, groups: 4, weight: w, bias: w }), 'E_SHAPE', /inputs\.groups: expected a divisor of C = 6/);
  code(() => fm.channelNorm({ x, groups: 0, weight: w, bias: w }), 'E_RANGE', /inputs\.groups/);
  code(() => fm.channelNorm({ x, groups: 2.5, weight: w, bias: w }), 'E_RANGE', /inputs\.groups/);
  code(() => fm.channelNorm({ x, groups: '2' as never, weight: w, bias: w }), 'E_DTYPE', /inputs\.groups/);
  code(() => fm.channelNormBackward({ dy: x, x, weight: w, groups: 4, mean: cn.mean, rstd: cn.rstd }), 'E_SHAPE', /inputs\.groups: expected a divisor of C = 6/);
  code(() => fm.channelNormBackward({ dy: x, x, weight: w, groups: -1, mean: cn.mean, rstd: cn.rstd }), 'E_RANGE', /inputs\.groups/);
  // Statistics of the wrong group count: [B, H, W] for groups 2, and [B, 2, H, W] for groups 3.
  code(() => fm.channelNormBackward({ dy: x, x, weight: w, groups: 2, mean: cn.mean, rstd: cn.rstd }), 'E_SHAPE', /inputs\.mean: expected shape \[2, 2, 5, 4\]/);
  const cn2 = fm.channelNorm({ x, weight: w, bias: w, groups: 2 });
  code(() => fm.channelNormBackward({ dy: x, x, weight: w, groups: 3, mean: cn2.mean, rstd: cn2.rstd }), 'E_SHAPE', /inputs\.mean: expected shape \[2, 3, 5, 4\]/);
  code(() => fm.channelNormBackward({ dy: x, x, weight: w, mean: cn2.mean, rstd: cn2.rstd }), 'E_SHAPE', /inputs\.mean: expected shape \[2, 5, 4\]/);
  // GroupNorm's groups.
  code(() => fm.groupNorm({ x, groups: 4, weight: w, bias: w }), 'E_SHAPE', /inputs\.groups: expected a divisor of C = 6/);
  code(() => fm.groupNorm({ x, groups: 0, weight: w, bias: w }), 'E_RANGE', /inputs\.groups/);
  code(() => fm.groupNorm({ x, groups: 1.5, weight: w, bias: w }), 'E_RANGE', /inputs\.groups/);
  code(() => fm.groupNorm({ x, groups: '2' as never, weight: w, bias: w }), 'E_DTYPE', /inputs\.groups/);
  code(() => fm.groupNorm({ x, weight: w, bias: w } as never), 'E_DTYPE', /inputs\.groups: expected an integer, got undefined/);
  const gn = fm.groupNorm({ x, groups: 2, weight: w, bias: w });
  code(() => fm.groupNormBackward({ dy: x, x, groups: 3, weight: w, mean: gn.mean, rstd: gn.rstd }), 'E_SHAPE', /inputs\.mean: expected shape \[2, 3\]/);
  // Convolution geometry.
  code(() => fm.depthwiseConv2d({ x, weight: R([6, 3, 3], 1) }), 'E_SHAPE', /inputs\.weight: expected \[6, 1, kh, kw\]/);
  code(() => fm.depthwiseConv2d({ x, weight: R([5, 1, 3, 3], 1) }), 'E_SHAPE', /inputs\.weight/);
  code(() => fm.depthwiseConv2d({ x, weight: dw, dilation: 0 }), 'E_RANGE', /inputs\.dilation/);
  code(() => fm.depthwiseConv2d({ x, weight: dw, dilation: [1, 2.5] }), 'E_RANGE', /inputs\.dilation\[1\]/);
  code(() => fm.depthwiseConv2d({ x, weight: dw, dilation: [1, 2, 3] as never }), 'E_SHAPE', /inputs\.dilation/);
  code(() => fm.depthwiseConv2d({ x, weight: dw, padding: -1 }), 'E_RANGE', /inputs\.padding/);
  code(() => fm.depthwiseConv2d({ x, weight: dw, padding: '1' as never }), 'E_DTYPE', /inputs\.padding/);
  code(() => fm.depthwiseConv2d({ x, weight: dw, dilation: 7, padding: 0 }), 'E_SHAPE', /H axis of 5 .* leaves an output of -9/);
  code(() => fm.depthwiseConv2d({ x, weight: R([6, 1, 2, 2], 1) }), 'E_CONFIG', /inputs\.padding: the default dilation·\(k − 1\)\/2/);
  code(() => fm.depthwiseConv2d({ x, weight: dw, bias: R([5], 1) }), 'E_SHAPE', /inputs\.bias: expected shape \[6\]/);
  code(() => fm.depthwiseConv2d({ x, weight: dw, bias: null as never }), 'E_DTYPE', /inputs\.bias/);
  code(() => fm.depthwiseConv2d({ x, weight: dw, gelu: 1 as never }), 'E_DTYPE', /inputs\.gelu/);
  code(() => fm.depthwiseConv2dBackward({ dy: x, x, weight: dw, gelu: true }), 'E_CONFIG', /inputs\.pre: expected the forward's pre/);
  code(() => fm.depthwiseConv2dBackward({ dy: x, x, weight: dw, pre: x }), 'E_CONFIG', /inputs\.pre: only read with gelu/);
  code(() => fm.depthwiseConv2dBackward({ dy: R([2, 6, 3, 2], 1), x, weight: dw }), 'E_SHAPE', /inputs\.dy: expected shape \[2, 6, 5, 4\]/);
  code(() => fm.depthwiseConv1d({ x, weight: R([6, 1, 3], 1) }), 'E_SHAPE', /inputs\.x: expected an NCL map \[B, C, L\]/);
  code(() => fm.depthwiseConv1d({ x: R([2, 6, 4], 1), weight: R([6, 1, 3], 1), dilation: [1, 1] as never }), 'E_DTYPE', /inputs\.dilation/);
  code(() => fm.conv2d({ x, weight: R([3, 6, 3, 1], 1) }), 'E_SHAPE', /a square kernel/);
  code(() => fm.conv2d({ x, weight: R([3, 5, 1, 1], 1) }), 'E_SHAPE', /inputs\.weight/);
  code(() => fm.conv2d({ x, weight: R([0, 6, 1, 1], 1) }), 'E_SHAPE', /O ≥ 1/);
  code(() => fm.conv2d({ x, weight: R([3, 6, 7, 7], 1) }), 'E_SHAPE', /leaves an output of -1/);
  code(() => fm.conv2d({ x, weight: R([3, 6, 1, 1], 1), padding: [1, 1] as never }), 'E_DTYPE', /inputs\.padding/);
  code(() => fm.conv1d({ x: R([2, 6, 4], 1), weight: R([3, 6, 3], 1) }), 'E_SHAPE', /conv1d is pointwise/);
  code(() => fm.conv1d({ x: R([2, 6, 4], 1), weight: R([3, 6, 1], 1), padding: 1 } as never), 'E_CONFIG', /inputs\.padding: unknown option/);
  // Sampling and Hadamard.
  code(() => fm.maxPool2d({ x: R([1, 2, 1, 5], 1) }), 'E_SHAPE', /H, W ≥ 2/);
  code(() => fm.maxPool2dBackward({ dy: R([2, 6, 2, 3], 1), x }), 'E_SHAPE', /inputs\.dy: expected shape \[2, 6, 2, 2\]/);
  code(() => fm.resize({ x, size: [0, 3] }), 'E_RANGE', /inputs\.size\[0\]/);
  code(() => fm.resize({ x, size: [3] as never }), 'E_SHAPE', /inputs\.size: expected \[h, w\]/);
  code(() => fm.resize({ x, size: 3 as never }), 'E_DTYPE', /inputs\.size/);
  code(() => fm.resize({ x, size: [2 ** 31 - 1, 2 ** 31 - 1] }), 'E_RANGE', /elements, more than/);
  code(() => fm.resizeBackward({ dy: x, inputSize: [1.5, 2] }), 'E_RANGE', /inputs\.inputSize\[0\]/);
  code(() => fm.hadamard({ x, map: R([6, 4], 1), broadcast: 'rows' }), 'E_SHAPE', /inputs\.map: expected \[6, 5\] .* for broadcast 'rows'/);
  code(() => fm.hadamard({ x, map: R([6, 5, 4], 1), broadcast: 'diagonal' as never }), 'E_RANGE', /inputs\.broadcast: expected one of 'plane', 'rows', 'columns'/);
  code(() => fm.hadamard({ x, map: R([6, 4], 1) }), 'E_SHAPE', /inputs\.map: expected \[6, 5, 4\]/);
  // A detached buffer, and the async forms reject with the same errors.
  const f = new Float32Array(120);
  const gone = Tensor.from(f, [2, 6, 5, 2]);
  structuredClone(f.buffer, { transfer: [f.buffer] });
  code(() => fm.hadamard({ x: gone, map: R([6, 5, 2], 1) }), 'E_SHAPE', /inputs\.x: its Float32Array was detached/);
  const e = await t.throwsAsync(fm.conv2dAsync({ x, weight: R([3, 6, 7, 7], 1) }), { instanceOf: FrugalError });
  t.is(e?.code, 'E_SHAPE');
  const a = await t.throwsAsync(fm.resizeAsync({ x, size: [3, 3] }, { signal: AbortSignal.abort() }), { instanceOf: FrugalError });
  t.is(a?.code, 'E_ABORTED');
  // NaN and Inf propagate; nothing traps.
  const nan = T(Float32Array.from({ length: 24 }, (_, i) => (i === 5 ? NaN : i === 7 ? Infinity : 1)), [1, 2, 3, 4]);
  t.true(Number.isNaN(fm.channelNorm({ x: nan, weight: R([2], 1), bias: R([2], 1) }).y.data[5]));
  t.true(Number.isNaN(fm.resize({ x: nan, size: [5, 5] }).y.data.find((v) => Number.isNaN(v)) ?? 0));
});

test('the addon refuses what the TypeScript side would never send (second line)', (t) => {
  // A geometry whose output is empty, sent straight to the addon: E_SHAPE, not a crash.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { native } = require('../lib/binding') as typeof import('../lib/binding');
  const addon = native<Record<string, (a: unknown) => unknown>>();
  const small = new Float32Array(8);
  const e = t.throws(() => addon.featureMapDepthwiseConv({
    async: false, B: 1, C: 1, H: 2, W: 2, kh: 3, kw: 3, dilationH: 9, dilationW: 1, paddingH: 0, paddingW: 1, gelu: false,
    x: small, weight: new Float32Array(9), bias: null, y: small, pre: null,
  })) as { code?: string; message: string };
  t.is(e.code, 'E_SHAPE', e.message);
  const s = t.throws(() => addon.featureMapHadamard({
    async: false, B: 1, C: 2, H: 2, W: 2, broadcast: 'plane', x: small, map: new Float32Array(7), y: new Float32Array(8),
  })) as { code?: string; message: string };
  t.is(s.code, 'E_SHAPE');
  t.regex(s.message, /featureMap\.hadamard: map: expected at least 8 elements, got 7/);
});
