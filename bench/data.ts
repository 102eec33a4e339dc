// Helpers shared by the suites: deterministic inputs (an LCG: fast for the large
// inputs; the values do not affect the timing of these kernels) and the AVX2 baseline.
import { Tensor, info, setIsa, type DeviceName } from '../lib';
import type { BenchCase, Timed } from './suite';

/** n floats in [-1, 1) from a 32-bit seed. */
export function filled(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** A tensor of {@link filled} values on `device`. */
export function filledTensor(shape: number[], seed: number, device: DeviceName = 'cpu'): Tensor {
  const t = Tensor.from(filled(shape.reduce((a, b) => a * b, 1), seed), shape);
  return device === 'cpu' ? t : t.to(device);
}

/** Frugal's own AVX2 path as a baseline, when the CPU runs AVX-512 above it (else none). */
export function avx2Baseline(fn: Timed): BenchCase['baselines'] {
  const active = info().isa;
  if (active !== 'avx512') return [];
  return [{
    name: 'frugal avx2',
    fn: () => {
      setIsa('avx2');
      try {
        return fn();
      } finally {
        setIsa(active);
      }
    },
  }];
}
