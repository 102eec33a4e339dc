// Benchmark suite 'dp': per-sample clipping at B = 32, din = dout = 768 and
// T ∈ {16, 128, 512} (the bars), each beside its baselines from the same run:
//   norms:   'auto' against always-Gram and always-materialize
//            (bar: ≥ 2× faster than materialize at T = 128, within 10% of the better everywhere);
//   DP step: norms + clip factors + clipped sum, as PrivacyEngine runs it (per-sample gradients
//            kept where the norms materialize them, T = 512), against the non-private weight
//            gradient GᵀA over all B·T tokens (bar: DP step ≤ 1.5× non-private at T = 128, i.e.
//            ratio ≥ 0.67), and where kept, against the step without keeping them.
//   accountants (CPU only, device-independent): dp.pld.epsilon at Abadi's MNIST setting and
//            at q = 1e-4, σ = 1, 100,000 steps (goal ≤ 50 ms), against dp.rdp.epsilon, with
//            both ε in the notes; noiseMultiplier by PLD against RDP at q ∈ {0.01, 0.5}.
// Norm rates are nominal: 2× the cheaper cost of the model, min(T²(din+dout), T·din·dout)
// per sample (the CPU Gram kernel skips the symmetric half, so it does about half of that);
// every rate of a case divides Frugal's nominal work by that implementation's time.
import { Tensor, dp, zeros } from '../lib';
import { matmul } from '../lib/matmul';
import type { BenchCase, BenchOptions, BenchSuite } from './suite';
import { filled } from './data';

function accountantCases(): BenchCase[] {
  const list: BenchCase[] = [];
  const settings = [
    { label: "Abadi MNIST q=256/60000 σ=1.1 T=14063 δ=1e-5", q: 256 / 60000, sigma: 1.1, steps: 14063, delta: 1e-5 },
    { label: 'q=1e-4 σ=1 T=100000 δ=1e-8', q: 1e-4, sigma: 1, steps: 100000, delta: 1e-8 },
  ];
  for (const { label, ...c } of settings) {
    list.push({
      name: `pld.epsilon ${label}`,
      frugal: () => dp.pld.epsilon(c),
      baselines: [{ name: 'rdp.epsilon', fn: () => dp.rdp.epsilon(c) }],
      notes: { 'ε PLD': dp.pld.epsilon(c).epsilon.toFixed(4), 'ε RDP': dp.rdp.epsilon(c).epsilon.toFixed(4) },
    });
  }
  for (const c of [{ q: 0.01, steps: 1000, targetEpsilon: 1, delta: 1e-5 }, { q: 0.5, steps: 100, targetEpsilon: 5, delta: 1e-5 }]) {
    list.push({
      name: `pld.noiseMultiplier q=${c.q} T=${c.steps} ε=${c.targetEpsilon}`,
      frugal: () => dp.pld.noiseMultiplier(c),
      baselines: [{ name: 'rdp.noiseMultiplier', fn: () => dp.rdp.noiseMultiplier(c) }],
      notes: { 'σ PLD': dp.pld.noiseMultiplier(c).toFixed(4), 'σ RDP': dp.rdp.noiseMultiplier(c).toFixed(4) },
    });
  }
  return list;
}

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
  if (opts.device === 'cpu') list.push(...accountantCases());
  return list;
}

export const dpSuite: BenchSuite = { name: 'dp', cases };
