// pathAttention against the PyTorch float64 fixture (keep, out, lse, dq, dk, dv)
// and a plain float64 JS reference at awkward sizes, at every ISA level; the fused
// qkv form against the separate one; gather / scatter / restore against plain
// loops; thread-count independence; bad inputs each a FrugalError with its code.
// Tolerances: fixture within 1e-5 + 1e-4·|want| (the 1e-4; observed ~1e-6);
// JS reference out/lse within 2e-6 + 2e-5·|want|, gradients 2e-5 + 1e-4·|want|.
import test from 'ava';
import { FrugalError, Tensor, pathAttention as pa, setNumThreads, type ErrorCode } from '../lib';
import { assertClose, eachIsa, fixture, seededFloats as random } from './helpers';

interface Case {
  lengths: number[]; ratio: number; seed: number; keep: number[][]; offsets: number[]; heads: number; head_dim: number;
  scale: number; q: number[]; k: number[]; v: number[]; out: number[]; lse: number[]; dout: number[]; dq: number[];
  dk: number[]; dv: number[];
}
const cases = fixture<{ cases: Case[] }>('path_attention.json').cases;

const prefix = (lengths: number[]): Int32Array => {
  const o = new Int32Array(lengths.length + 1);
  lengths.forEach((L, b) => { o[b + 1] = o[b] + L; });
  return o;
};

// softmax(q·kᵀ·scale)·v per path and head in float64, and its backward.
function reference(q: Float32Array, k: Float32Array, v: Float32Array, dout: Float32Array, offsets: Int32Array,
  heads: number, hd: number, scale: number) {
  const total = offsets[offsets.length - 1], w = heads * hd;
  const out = new Float64Array(total * w), lse = new Float64Array(total * heads);
  const dq = new Float64Array(total * w), dk = new Float64Array(total * w), dv = new Float64Array(total * w);
  const dot = (a: ArrayLike<number>, ia: number, b: ArrayLike<number>, ib: number) => {
    let s = 0;
    for (let d = 0; d < hd; d++) s += a[ia + d] * b[ib + d];
    return s;
  };
  for (let b = 0; b + 1 < offsets.length; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = offsets[b]; i < offsets[b + 1]; i++) {
        const qi = i * w + h * hd;
        const s: number[] = [];
        for (let j = offsets[b]; j < offsets[b + 1]; j++) s.push(scale * dot(q, qi, k, j * w + h * hd));
        const m = Math.max(...s);
        const l = s.reduce((a, x) => a + Math.exp(x - m), 0);
        const p = s.map((x) => Math.exp(x - m) / l);
        lse[i * heads + h] = m + Math.log(l);
        p.forEach((pj, jj) => { for (let d = 0; d < hd; d++) out[qi + d] += pj * v[(offsets[b] + jj) * w + h * hd + d]; });
        const D = dot(dout, qi, out, qi);
        p.forEach((pj, jj) => {
          const kj = (offsets[b] + jj) * w + h * hd;
          const ds = pj * (dot(dout, qi, v, kj) - D);
          for (let d = 0; d < hd; d++) {
            dq[qi + d] += scale * ds * k[kj + d];
            dk[kj + d] += scale * ds * q[qi + d];
            dv[kj + d] += pj * dout[qi + d];
          }
        });
      }
    }
  }
  return { out, lse, dq, dk, dv };
}

test('keep matches the fixture (stable argsort of stream tag 4), empty and one-edge paths included', (t) => {
  for (const c of cases) {
    const { keep, offsets } = pa.keep(c.lengths, { ratio: c.ratio, seed: c.seed });
    t.deepEqual(Array.from(offsets), c.offsets);
    t.deepEqual(Array.from(keep), c.keep.flat());
  }
  // LightPath's int(50 · (1 − 0.8)) = 9.
  t.is(pa.keep([50], { ratio: 0.8 }).offsets[1], 9);
  t.deepEqual(Array.from(pa.keep([0, 1, 3], { ratio: 0.99, seed: 1n }).offsets), [0, 0, 1, 2]);
});

test('attention and its backward match the PyTorch float64 fixture at every ISA level', (t) => {
  eachIsa((level) => {
    for (const c of cases) {
      const total = c.offsets[c.offsets.length - 1], shape = [total, c.heads, c.head_dim];
      const mk = (a: number[]) => Tensor.from(Float32Array.from(a), shape);
      const q = mk(c.q), k = mk(c.k), v = mk(c.v);
      const { out, lse } = pa.attention({ q, k, v, offsets: c.offsets, scale: c.scale });
      const g = pa.attentionBackward({ q, k, v, out, lse, dout: mk(c.dout), offsets: c.offsets, scale: c.scale });
      const what = `${level} hd ${c.head_dim}`;
      assertClose(t, out.data, c.out, 1e-5, 1e-4, `out ${what}`);
      assertClose(t, lse.data, c.lse, 1e-5, 1e-4, `lse ${what}`);
      assertClose(t, g.dq.data, c.dq, 1e-5, 1e-4, `dq ${what}`);
      assertClose(t, g.dk.data, c.dk, 1e-5, 1e-4, `dk ${what}`);
      assertClose(t, g.dv.data, c.dv, 1e-5, 1e-4, `dv ${what}`);
    }
  });
});

test('awkward head dims and path lengths match the JS reference; fused qkv equals separate q, k, v', (t) => {
  const lengths = [0, 1, 2, 17, 50, 300, 0];
  const offsets = prefix(lengths), total = offsets[offsets.length - 1];
  eachIsa((level) => {
    for (const hd of [1, 7, 16, 33, 64]) {
      const heads = 2, w = heads * hd, shape = [total, heads, hd];
      const q = random(total * w, hd, 1.5), k = random(total * w, hd + 1, 1.5), v = random(total * w, hd + 2), dout = random(total * w, hd + 3);
      const want = reference(q, k, v, dout, offsets, heads, hd, 1 / Math.sqrt(hd));
      const T = (a: Float32Array) => Tensor.from(a, shape);
      const f = pa.attention({ q: T(q), k: T(k), v: T(v), offsets });
      const what = `${level} hd ${hd}`;
      assertClose(t, f.out.data, want.out, 2e-6, 2e-5, `out ${what}`);
      assertClose(t, f.lse.data, want.lse, 2e-6, 2e-5, `lse ${what}`);
      const g = pa.attentionBackward({ q: T(q), k: T(k), v: T(v), out: f.out, lse: f.lse, dout: T(dout), offsets });
      assertClose(t, g.dq.data, want.dq, 2e-5, 1e-4, `dq ${what}`);
      assertClose(t, g.dk.data, want.dk, 2e-5, 1e-4, `dk ${what}`);
      assertClose(t, g.dv.data, want.dv, 2e-5, 1e-4, `dv ${what}`);
      // The same numbers read out of one [total, 3·w] tensor, and the gradient written back into one.
      const qkv = new Float32Array(total * 3 * w);
      for (let r = 0; r < total; r++) {
        qkv.set(q.subarray(r * w, (r + 1) * w), r * 3 * w);
        qkv.set(k.subarray(r * w, (r + 1) * w), r * 3 * w + w);
        qkv.set(v.subarray(r * w, (r + 1) * w), r * 3 * w + 2 * w);
      }
      const qkvT = Tensor.from(qkv, [total, 3 * w]);
      const ff = pa.attention({ qkv: qkvT, heads, offsets });
      t.deepEqual(ff.out.data, f.out.data, `fused out ${what}`);
      const { dqkv } = pa.attentionBackward({ qkv: qkvT, heads, out: ff.out, lse: ff.lse, dout: T(dout), offsets });
      for (let r = 0; r < total; r += 37) {
        t.deepEqual(dqkv.data.subarray(r * 3 * w, r * 3 * w + w), g.dq.data.subarray(r * w, (r + 1) * w), `fused dq row ${r} ${what}`);
        t.deepEqual(dqkv.data.subarray(r * 3 * w + 2 * w, (r + 1) * 3 * w), g.dv.data.subarray(r * w, (r + 1) * w), `fused dv row ${r} ${what}`);
      }
    }
  });
});

test('fewer kept tokens than paths, and a path of one token: out = v', (t) => {
  const offsets = [0, 0, 1, 1, 1, 2, 2];
  const v = random(2 * 3 * 4, 5);
  const T = (a: Float32Array) => Tensor.from(a, [2, 3, 4]);
  const { out } = pa.attention({ q: T(random(24, 6)), k: T(random(24, 7)), v: T(v), offsets });
  t.deepEqual(out.data, v);
});

test('the same bits at 1 and 2 threads', (t) => {
  const offsets = prefix([50, 17, 3, 300]), total = offsets[4], shape = [total, 8, 16];
  const T = (s: number) => Tensor.from(random(total * 128, s), shape);
  const run = () => {
    const q = T(1), k = T(2), v = T(3);
    const f = pa.attention({ q, k, v, offsets });
    const g = pa.attentionBackward({ q, k, v, out: f.out, lse: f.lse, dout: T(4), offsets });
    return [f.out.data, f.lse.data, g.dq.data, g.dk.data, g.dv.data];
  };
  try {
    setNumThreads(1);
    const one = run();
    setNumThreads(2);
    t.deepEqual(run(), one);
  } finally {
    setNumThreads(2);
  }
});

test('async forms equal the sync ones', async (t) => {
  const offsets = prefix([5, 9]), shape = [14, 2, 8];
  const T = (s: number) => Tensor.from(random(14 * 16, s), shape);
  const q = T(1), k = T(2), v = T(3);
  const f = pa.attention({ q, k, v, offsets });
  const fa = await pa.attentionAsync({ q, k, v, offsets });
  t.deepEqual(fa.out.data, f.out.data);
  const g = await pa.attentionBackwardAsync({ q, k, v, out: f.out, lse: f.lse, dout: T(4), offsets });
  t.deepEqual(g.dq.data, pa.attentionBackward({ q, k, v, out: f.out, lse: f.lse, dout: T(4), offsets }).dq.data);
  t.deepEqual((await pa.keepAsync([7, 3], { ratio: 0.5, seed: 3 })).keep, pa.keep([7, 3], { ratio: 0.5, seed: 3 }).keep);
});

test('gather, scatter, restore and restoreBackward move rows as plain loops do', async (t) => {
  const lengths = [4, 0, 1, 7], dim = 3;
  const lengthsOffsets = prefix(lengths), { keep, offsets } = pa.keep(lengths, { ratio: 0.5, seed: 2 });
  const x = Tensor.from(random(12 * dim, 1), [12, dim]), mask = Tensor.from(random(dim, 2), [dim]);
  const layout = { lengthsOffsets, keep, offsets };
  const kept = pa.gather(x, layout);
  const full = pa.restore(kept, { ...layout, maskToken: mask });
  const scattered = pa.scatter(kept, layout);
  const isKept = new Array(12).fill(false);
  for (let b = 0; b < lengths.length; b++) {
    for (let j = offsets[b]; j < offsets[b + 1]; j++) {
      const row = lengthsOffsets[b] + keep[j];
      isKept[row] = true;
      t.deepEqual(kept.data.subarray(j * dim, (j + 1) * dim), x.data.subarray(row * dim, (row + 1) * dim));
    }
  }
  const dMask = new Float32Array(dim);
  for (let r = 0; r < 12; r++) {
    t.deepEqual(full.data.subarray(r * dim, (r + 1) * dim), isKept[r] ? x.data.subarray(r * dim, (r + 1) * dim) : mask.data);
    t.deepEqual(Array.from(scattered.data.subarray(r * dim, (r + 1) * dim)), isKept[r] ? Array.from(x.data.subarray(r * dim, (r + 1) * dim)) : [0, 0, 0]);
    if (!isKept[r]) for (let c = 0; c < dim; c++) dMask[c] += x.data[r * dim + c];
  }
  const back = pa.restoreBackward(x, layout);
  t.deepEqual(back.dKept.data, kept.data);
  t.deepEqual(back.dMaskToken.data, dMask);
  t.deepEqual((await pa.restoreBackwardAsync(x, layout)).dMaskToken.data, dMask);
});

test('bad inputs are FrugalErrors naming the argument', (t) => {
  const code = (fn: () => unknown, c: ErrorCode, what: RegExp) => {
    const e = t.throws(fn, { instanceOf: FrugalError });
    t.is(e?.code, c, e?.message);
    t.regex(e?.message ?? '', what);
  };
  const T = (shape: number[]) => Tensor.from(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  const q = T([5, 2, 4]);
  code(() => pa.keep([3, -1], { ratio: 0.5 }), 'E_SHAPE', /lengths\[1\]/);
  code(() => pa.keep([3], { ratio: 1 }), 'E_RANGE', /ratio/);
  code(() => pa.keep([3], { ratio: NaN }), 'E_RANGE', /ratio/);
  code(() => pa.keep([3], {} as never), 'E_CONFIG', /ratio/);
  code(() => pa.keep('3' as never, { ratio: 0.5 }), 'E_DTYPE', /lengths/);
  code(() => pa.keep([3], { ratio: 0.5, seed: -1 }), 'E_RANGE', /seed/);
  code(() => pa.attention({ q, k: q, v: q, offsets: [0, 2, 4] }), 'E_SHAPE', /last offset/);
  code(() => pa.attention({ q, k: q, v: q, offsets: [1, 5] }), 'E_SHAPE', /offsets/);
  code(() => pa.attention({ q, k: q, v: q, offsets: [0, 3, 2, 5] }), 'E_SHAPE', /offsets\[2\]/);
  code(() => pa.attention({ q, k: T([5, 2, 3]), v: q, offsets: [0, 5] }), 'E_SHAPE', /inputs\.k/);
  code(() => pa.attention({ q: T([5, 1, 257]), k: T([5, 1, 257]), v: T([5, 1, 257]), offsets: [0, 5] }), 'E_SHAPE', /head dimension/);
  code(() => pa.attention({ q, k: q, v: q, offsets: [0, 5], scale: Infinity }), 'E_RANGE', /scale/);
  code(() => pa.attention({ q, k: q, v: q, offsets: [0, 5], bogus: 1 } as never), 'E_CONFIG', /bogus/);
  code(() => pa.attention({ qkv: T([5, 16]), heads: 3, offsets: [0, 5] }), 'E_SHAPE', /qkv/);
  code(() => pa.attention({ qkv: T([5, 24]), heads: 0, offsets: [0, 5] }), 'E_RANGE', /heads/);
  const f = pa.attention({ q, k: q, v: q, offsets: [0, 5] });
  code(() => pa.attentionBackward({ q, k: q, v: q, out: f.out, lse: T([5, 3]), dout: f.out, offsets: [0, 5] }), 'E_SHAPE', /lse/);
  code(() => pa.attentionBackward({ q, k: q, v: q, out: f.out, lse: f.lse, dout: T([4, 2, 4]), offsets: [0, 5] }), 'E_SHAPE', /dout/);
  const layout = { lengthsOffsets: [0, 3, 5], keep: [0, 2, 1], offsets: [0, 2, 3] };
  const x = T([5, 2]);
  code(() => pa.gather(x, { ...layout, keep: [0, 3, 1] }), 'E_RANGE', /keep\[1\]/);
  code(() => pa.gather(x, { ...layout, keep: [0, 0, 1] }), 'E_RANGE', /keep\[1\]/);
  code(() => pa.gather(x, { ...layout, lengthsOffsets: [0, 3, 4] }), 'E_SHAPE', /lengthsOffsets/);
  code(() => pa.gather(x, { ...layout, offsets: [0, 3] }), 'E_SHAPE', /offsets/);
  code(() => pa.gather(T([5]), layout), 'E_SHAPE', /x/);
  code(() => pa.restore(T([3, 2]), { ...layout, maskToken: T([3]) }), 'E_SHAPE', /maskToken/);
  code(() => pa.scatter(T([2, 2]), layout), 'E_SHAPE', /keep/);
});
