// Benchmark suite 'gemm': fp32 matmul in GFLOP/s beside onnxruntime-node's MatMul
// (same threads, same run), a naive JS triple loop at small sizes, and the fused
// bias + GELU epilogue against the plain product.
import { Tensor, info, matmul } from '../lib';
import { loadOrt, ortMatmul } from './onnx_matmul';
import type { BenchCase, BenchOptions, BenchSuite } from './suite';
import { filled } from './data';

function naive(a: Float32Array, b: Float32Array, c: Float32Array, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += a[i * K + k] * b[k * N + j];
      c[i * N + j] = acc;
    }
  }
}

async function cases(opts: BenchOptions): Promise<BenchCase[]> {
  if (opts.device !== 'cpu') return [];
  const ort = loadOrt();
  const threads = info().threads;
  const square = opts.quick ? [64, 128, 256, 512] : [64, 128, 256, 512, 1024, 2048];
  const shapes: Array<[number, number, number]> = square.map((n) => [n, n, n]);
  shapes.push([4096, 768, 3072]);
  if (!opts.quick) shapes.push([4096, 3072, 768]);
  const out: BenchCase[] = [];
  for (const [M, K, N] of shapes) {
    const a = filled(M * K, 1), b = filled(K * N, 2);
    const A = Tensor.from(a, [M, K]), B = Tensor.from(b, [K, N]), C = Tensor.from(new Float32Array(M * N), [M, N]);
    const baselines: BenchCase['baselines'] = [];
    if (ort) baselines.push({ name: 'onnxruntime-node MatMul', fn: await ortMatmul(ort, a, b, M, K, N, threads) });
    if (M <= 128) {
      const c = new Float32Array(M * N);
      baselines.push({ name: 'naive JS loop', fn: () => naive(a, b, c, M, K, N) });
    }
    const name = `matmul ${M}x${K}x${N}`;
    out.push({ name, flops: 2 * M * K * N, frugal: () => matmul(A, B, { out: C }), baselines });
    if (M === 4096 && K === 768) {
      const bias = Tensor.from(filled(N, 3), [N]);
      out.push({
        name: `matmul+bias+gelu ${M}x${K}x${N}`,
        flops: 2 * M * K * N,
        frugal: () => matmul(A, B, { out: C, bias, activation: 'gelu' }),
        baselines: [{ name: 'frugal plain matmul', fn: () => matmul(A, B, { out: C }) }],
      });
    }
  }
  return out;
}

export const gemmSuite: BenchSuite = { name: 'gemm', cases };
