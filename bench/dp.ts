// Benchmark suite 'dp': per-sample clipping at B = 32, din = dout = 768 and
// T ∈ {16, 128, 512} (the bars), each beside its baselines from the same run:
//   norms:   'auto' against always-Gram and always-materialize
//            (bar: ≥ 2× faster than materialize at T = 128, within 10% of the better everywhere);
//   DP step: norms + clip factors + clipped sum, as PrivacyEngine runs it (per-sample gradients
//            kept where the norms materialize them, T = 512), against the non-private weight
//            gradient GᵀA over all B·T tokens (bar: DP step ≤ 1.5× non-private at T = 128, i.e.
//            ratio ≥ 0.67), and where kept, against the step without keeping them.
// Norm rates are nominal: 2× the cheaper cost of the model, min(T²(din+dout), T·din·dout)
// per sample (the CPU Gram kernel skips the symmetric half, so it does about half of that);
// every rate of a case divides Frugal's nominal work by that implementation's time.
import { Tensor, dp, zeros } from '../lib';
import { matmul } from '../lib/matmul';
import type { BenchCase, BenchOptions, BenchSuite } from './suite';
import { filled } from './data';

function cases(opts: BenchOptions): BenchCase[] {
  const B = opts.quick ? 8 : 32;
  const din = 768;
  const dout = 768;
  const list: BenchCase[] = [];
  for (const T of opts.quick ? [16, 128] : [16, 128, 512]) {
    let A = Tensor.from(filled(B * T * din, 1), [B, T, din]);
    let G = Tensor.from(filled(B * T * dout, 2), [B, T, dout]);
    if (opts.device === 'cuda') {
      A = A.to('cuda');
      G = G.to('cuda');
    }
    const shape = `B=${B} T=${T} ${din}x${dout}`;
    const gramFlops = 2 * B * T * T * (din + dout);
    const materializeFlops = 2 * B * T * din * dout;
    list.push({
      name: `norms auto ${shape}`,
      flops: Math.min(gramFlops, materializeFlops),
      frugal: () => dp.linearGradNorms(A, G, { method: 'auto' }),
      baselines: [
        { name: 'gram', fn: () => dp.linearGradNorms(A, G, { method: 'gram' }) },
        { name: 'materialize', fn: () => dp.linearGradNorms(A, G, { method: 'materialize' }) },
      ],
      notes: { picks: dp.chooseNormMethod(T, din, dout) },
    });
    // Non-private weight gradient: one GEMM Gᵀ (dout × B·T) · A (B·T × din).
    const G2 = G.reshape([B * T, dout]);
    const A2 = A.reshape([B * T, din]);
    const step = (keep: Tensor | false) => {
      const n = dp.linearGradNorms(A, G, { keepPerSample: keep });
      const c = dp.clipFactors(dp.sampleNorms(n.weight), 1);
      return dp.clippedLinearGrad(A, G, c, { perSample: n.perSample });
    };
    // PrivacyEngine keeps them in a buffer reused across steps when materializing is cheaper.
    const kept = dp.chooseNormMethod(T, din, dout) === 'materialize' ? zeros([B, dout, din], A.device) : false;
    const baselines: BenchCase['baselines'] = [{ name: 'non-private GᵀA', fn: () => matmul(G2, A2, { transA: true }) }];
    if (kept) baselines.push({ name: 'step without kept per-sample grads', fn: () => step(false) });
    list.push({
      name: `DP weight-grad step ${shape}`,
      // Frugal's work: the norms, then a GEMM over all tokens or (kept) a weighted sum.
      flops: Math.min(gramFlops, materializeFlops) + (kept ? 2 * B * din * dout : 2 * B * T * din * dout),
      frugal: () => step(kept),
      baselines,
    });
  }
  return list;
}

export const dpSuite: BenchSuite = { name: 'dp', cases };
