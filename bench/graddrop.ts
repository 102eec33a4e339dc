// Benchmark suite 'graddrop': the masked weight gradient mask ⊙ (Gᵀ·A) at N = 4096
// tokens (512 and 768→3072 only with --quick), 768→3072 and 3072→768, each beside the unmasked GᵀA
// (Frugal's matmul with transA) from the same run. The bars, as baseline
// time / Frugal time: block at preferredBlock() p = 0.5 ≥ 1/0.6; row p = 0.5 ≥ 1/0.6;
// element ≥ 1/1.1; tensor p = 1 ≥ 100 (no GEMM runs). GFLOP/s are nominal: the
// dense 2·N·din·dout, so a skipped half shows as twice the rate. Mask generation and
// apply are in GB/s beside a plain copy of the same floats (Float32Array.set).
import { Tensor, graddrop, matmul, zeros, type MaskOptions } from '../lib';
import { filledTensor } from './data';
import type { BenchCase, BenchOptions, BenchSuite } from './suite';

function cases(opts: BenchOptions): BenchCase[] {
  const N = opts.quick ? 512 : 4096;
  const device = opts.device;
  const list: BenchCase[] = [];
  const block = graddrop.preferredBlock();
  const base = { seed: 7, step: 1, layer: 2, rescale: 'inverse' as const };
  // --quick keeps one direction so that the whole quick run stays under a minute.
  const shapes = opts.quick ? [[768, 3072]] : [[768, 3072], [3072, 768]];
  for (const [din, dout] of shapes) {
    const A = filledTensor([N, din], 1, device), G = filledTensor([N, dout], 2, device);
    const out = { weight: zeros([dout, din], device) };
    const dense = { name: 'unmasked GᵀA (matmul transA)', fn: () => matmul(G, A, { transA: true, out: out.weight }) };
    const shape = `N=${N} ${din}->${dout}`;
    const masks: Array<[string, MaskOptions]> = [
      [`block ${block.join('x')} p=0.5`, { ...base, p: 0.5, granularity: 'block', block }],
      ['row p=0.5', { ...base, p: 0.5, granularity: 'row' }],
      ['column p=0.5', { ...base, p: 0.5, granularity: 'column' }],
      ['element p=0.5', { ...base, p: 0.5, granularity: 'element' }],
      ['element p=0.05', { ...base, p: 0.05, granularity: 'element' }],
      ['tensor p=1', { ...base, p: 1, granularity: 'tensor' }],
    ];
    for (const [what, mask] of masks) {
      list.push({
        name: `linearGrad ${what} ${shape}`,
        flops: 2 * N * din * dout,
        frugal: () => graddrop.linearGrad(A, G, { ...mask, out }),
        baselines: [dense],
      });
    }
  }
  // Mask generation writes 4 bytes per element; apply reads and writes 8; a copy moves 8.
  const rows = 3072, cols = 768, n = rows * cols;
  const grad = Tensor.from(new Float32Array(n).fill(1), [rows, cols]);
  const multipliers = zeros([rows, cols]);
  const src = new Float32Array(n).fill(1), dst = new Float32Array(n);
  const copy = { name: 'copy (Float32Array.set, 8 bytes/element)', fn: () => dst.set(src) };
  const element: MaskOptions = { ...base, p: 0.5, granularity: 'element' };
  if (device === 'cpu') {
    list.push(
      { name: `mask element ${rows}x${cols}`, bytes: 4 * n, frugal: () => graddrop.mask({ ...element, shape: [rows, cols], out: multipliers }), baselines: [copy] },
      { name: `mask row ${rows}x${cols}`, bytes: 4 * n, frugal: () => graddrop.mask({ ...element, granularity: 'row', shape: [rows, cols], out: multipliers }), baselines: [copy] },
      { name: `apply element ${rows}x${cols}`, bytes: 8 * n, frugal: () => graddrop.apply(grad, element), baselines: [copy] },
      { name: `apply block ${rows}x${cols}`, bytes: 8 * n, frugal: () => graddrop.apply(grad, { ...element, granularity: 'block', block }), baselines: [copy] },
    );
  }
  return list;
}

export const graddropSuite: BenchSuite = { name: 'graddrop', cases };
