// Benchmark suite 'pathattention', at LightPath's shapes: B = 64 paths of 50
// edges, width 128, 8 heads of 16.
//   - packed attention forward and backward at ratio 0.7 (15 kept edges + CLS = 16
//     tokens a path) beside dense attention over the padded [64·8, 16, 16] layout
//     built from Frugal's batched matmul and softmax, and beside the dense padded
//     full-length case (51 tokens) that the released code runs;
//   - the whole encoder forward + backward at ratio 0.8 beside the same encoder on
//     all 51 tokens (aim: ≥ 4× faster);
//   - GFLOP/s of every case; the notes give the machine's nominal fp32 peak.
// The dense baselines get q, k, v already in their [B·heads, T, headDim] layout
// (their transposes are not timed); their softmax backward, for which Frugal has
// no op, is one JS loop over the probabilities.
import * as fs from 'node:fs';
import * as os from 'node:os';

import { PathEncoder, Tensor, info, matmul, pathAttention, softmax } from '../lib';
import { filled } from './data';
import type { BenchCase, BenchOptions, BenchSuite } from './suite';

const HEADS = 8, HEAD_DIM = 16, WIDTH = HEADS * HEAD_DIM;

const tensor = (shape: number[], seed: number, scale = 1) => {
  const v = filled(shape.reduce((a, b) => a * b, 1), seed);
  for (let i = 0; i < v.length; i++) v[i] *= scale;
  return Tensor.from(v, shape);
};

// The clock in MHz: os.cpus(), or /proc/cpuinfo where a VM reports 0 there; 0 when neither knows.
function clockMhz(): number {
  const speed = os.cpus()[0]?.speed ?? 0;
  if (speed > 0) return speed;
  try {
    return Number(/cpu MHz\s*:\s*([\d.]+)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Nominal fp32 peak of the threads in use: lanes × 2 FMA pipes × 2 flops × the base clock (0: unknown). */
function nominalPeakGflops(): number {
  const { isa, threads } = info();
  const lanes = isa === 'avx512' ? 16 : isa === 'avx2' ? 8 : 1;
  return Math.round(threads * lanes * 2 * 2 * clockMhz() / 1000);
}

// Dense attention over [bh, T, hd] from Frugal's batched matmul and softmax: forward and backward.
function denseAttention(bh: number, T: number) {
  const q = tensor([bh, T, HEAD_DIM], 1), k = tensor([bh, T, HEAD_DIM], 2), v = tensor([bh, T, HEAD_DIM], 3);
  const dout = tensor([bh, T, HEAD_DIM], 4);
  const scale = 1 / Math.sqrt(HEAD_DIM);
  const s = Tensor.from(new Float32Array(bh * T * T), [bh, T, T]);
  const out = Tensor.from(new Float32Array(bh * T * HEAD_DIM), [bh, T, HEAD_DIM]);
  const ds = Tensor.from(new Float32Array(bh * T * T), [bh, T, T]);
  const dq = Tensor.from(new Float32Array(bh * T * HEAD_DIM), [bh, T, HEAD_DIM]);
  const dk = Tensor.from(new Float32Array(bh * T * HEAD_DIM), [bh, T, HEAD_DIM]), dv = Tensor.from(new Float32Array(bh * T * HEAD_DIM), [bh, T, HEAD_DIM]);
  const forward = () => {
    matmul(q, k, { transB: true, alpha: scale, out: s });
    const p = softmax(s, { out: s });
    matmul(p, v, { out });
    return p;
  };
  const p = forward();
  const backward = () => {
    matmul(p, dout, { transA: true, out: dv });
    matmul(dout, v, { transB: true, out: ds });
    // dS = P ⊙ (dP − rowsum(dP ⊙ P)), the softmax backward, times the scale.
    const P = p.data, D = ds.data;
    for (let r = 0; r < bh * T; r++) {
      let dot = 0;
      for (let j = 0; j < T; j++) dot += P[r * T + j] * D[r * T + j];
      for (let j = 0; j < T; j++) D[r * T + j] = scale * P[r * T + j] * (D[r * T + j] - dot);
    }
    matmul(ds, k, { out: dq });
    matmul(ds, q, { transA: true, out: dk });
  };
  return { forward, backward };
}

function attentionCases(B: number): BenchCase[] {
  const kept = Math.floor(50 * (1 - 0.7)) + 1;  // 15 edges + CLS
  const offsets = Int32Array.from({ length: B + 1 }, (_, b) => b * kept);
  const total = B * kept;
  const q = tensor([total, HEADS, HEAD_DIM], 1), k = tensor([total, HEADS, HEAD_DIM], 2), v = tensor([total, HEADS, HEAD_DIM], 3);
  const dout = tensor([total, HEADS, HEAD_DIM], 4);
  const f = pathAttention.attention({ q, k, v, offsets });
  const padded = denseAttention(B * HEADS, kept), full = denseAttention(B * HEADS, 51);
  // QKᵀ and PV: 4·T²·hd a head; the backward recomputes S and does four more products: 10·T²·hd.
  const flops = (T: number, per: number) => per * B * HEADS * T * T * HEAD_DIM;
  const notes = { 'nominal fp32 peak GFLOP/s': nominalPeakGflops(), 'full-length flops ratio': +(flops(51, 4) / flops(kept, 4)).toFixed(1) };
  const shape = `B ${B}, ${kept} of 51 tokens, ${HEADS} heads of ${HEAD_DIM}`;
  return [{
    name: `pathAttention.attention ${shape}`,
    flops: flops(kept, 4),
    frugal: () => pathAttention.attention({ q, k, v, offsets }),
    baselines: [
      { name: `dense padded [${B * HEADS}, ${kept}, ${kept}] (matmul + softmax)`, fn: padded.forward },
      { name: `dense padded full length [${B * HEADS}, 51, 51]`, fn: full.forward },
    ],
    notes,
  }, {
    name: `pathAttention.attentionBackward ${shape}`,
    flops: flops(kept, 10),
    frugal: () => pathAttention.attentionBackward({ q, k, v, out: f.out, lse: f.lse, dout, offsets }),
    baselines: [
      { name: `dense padded [${B * HEADS}, ${kept}, ${kept}] backward`, fn: padded.backward },
      { name: `dense padded full length [${B * HEADS}, 51, 51] backward`, fn: full.backward },
    ],
    notes,
  }];
}

// The encoder (12 blocks of width 128) forward + backward on the kept tokens of 64 paths.
function encoderCase(B: number, depth: number): BenchCase {
  const encoder = new PathEncoder({ dim: WIDTH, heads: HEADS, depth, seed: 0 });
  const lengths = new Int32Array(B).fill(50);
  const { offsets } = pathAttention.keep(lengths, { ratio: 0.8, seed: 1 });
  const tokens = tensor([offsets[B], WIDTH], 5, 0.5);
  const all = Int32Array.from({ length: B + 1 }, (_, b) => b * 50), everything = tensor([B * 50, WIDTH], 6, 0.5);
  const step = (x: Tensor, o: Int32Array) => () => {
    const { cls } = encoder.forward(x, o);
    encoder.backward({ dCls: cls });
  };
  // Per block: qkv, proj, fc1, fc2 (12·W² a token, ×2 flops) and attention (4·T²·W a path); backward ≈ 2× that.
  const tokensPerPath = offsets[1] - offsets[0] + 1;
  const flops = 3 * depth * B * (tokensPerPath * 24 * WIDTH * WIDTH + 4 * tokensPerPath * tokensPerPath * WIDTH);
  return {
    name: `PathEncoder forward + backward, depth ${depth}, B ${B}, ratio 0.8 (${tokensPerPath} of 51 tokens)`,
    flops,
    frugal: step(tokens, offsets),
    baselines: [{ name: 'the same encoder on all 51 tokens', fn: step(everything, all) }],
  };
}

function cases(opts: BenchOptions): BenchCase[] {
  if (opts.device !== 'cpu') return [];
  const B = opts.quick ? 16 : 64;
  return [...attentionCases(B), encoderCase(B, opts.quick ? 2 : 12)];
}

export const pathattentionSuite: BenchSuite = { name: 'pathattention', cases };
