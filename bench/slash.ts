// Benchmark suite 'slash': the random-projection layers at the shapes, each
// beside its baselines from the same run:
//   project    L = 24, d = H = 1024, W_l regenerated on the fly, against random.normal
//              writing the same L·d·H values alone (bar: ratio ≥ 0.8) and a GEMV over the
//              stored W_l (its time and the bytes it needs);
//   ∂z         per-sample for B = 32 against the batch ∂z (bar: ratio ≥ 1/1.5);
//   block      fused output block N = 4096, F = 3072, H = 768 against the plain matmul
//              (bar: ratio ≥ 1/1.15) and the unfused matmul, add, add, layerNorm
//              (bar: ratio ≥ 1.3); the backward against LayerNorm backward + column sums
//              (+ the same dA GEMM) with and without dA.
import { Tensor, layerNorm, layerNormBackward, matmul, random, slash } from '../lib';
import { filledTensor } from './data';
import type { BenchCase, BenchOptions, BenchSuite } from './suite';

function projectionCases(opts: BenchOptions): BenchCase[] {
  const L = opts.quick ? 4 : 24, d = 1024, H = 1024, seed = 7;
  const device = opts.device;
  const z = filledTensor([d], 1, device);
  const count = L * d * H;
  const shape = `L=${L} d=${d} H=${H}`;
  const list: BenchCase[] = [];
  const generated = new Float32Array(count);
  const baselines: BenchCase['baselines'] = [{
    name: 'random.normal alone (same count)',
    fn: () => random.normal(count, { seed, sub: 0, tag: random.tags.projection, out: generated }),
  }];
  if (device === 'cpu') {
    // The stored alternative: all W_l side by side, [d, L·H], one GEMV.
    const stored = Tensor.from(generated, [d, L * H]);
    const zRow = z.reshape([1, d]);
    baselines.push({ name: 'GEMV over stored W', fn: () => matmul(zRow, stored) });
  }
  list.push({
    name: `project ${shape}`,
    items: { count, unit: 'W values' },
    frugal: () => slash.project({ z, layers: L, hidden: H, seed }),
    baselines,
    notes: { 'bytes stored': 0, 'stored W bytes': count * 4 },
  });
  const B = opts.quick ? 8 : 32;
  const g = filledTensor([L, H], 2, device);
  const gB = filledTensor([B, L, H], 3, device);
  list.push({
    name: `projectBackward per-sample B=${B} ${shape}`,
    items: { count, unit: 'W values' },
    frugal: () => slash.projectBackward({ g: gB, dim: d, seed }),
    baselines: [{ name: 'batch ∂z', fn: () => slash.projectBackward({ g, dim: d, seed }) }],
  });
  return list;
}

function blockCases(opts: BenchOptions): BenchCase[] {
  const N = opts.quick ? 1024 : 4096, F = 3072, H = 768, T = 128;
  const device = opts.device;
  const a = filledTensor([N, F], 1, device);
  const Wo = filledTensor([H, F], 2, device);
  const c = filledTensor([H], 3, device);
  const h = filledTensor([N, H], 4, device);
  const shift = filledTensor([H], 5, device);
  const gamma = filledTensor([H], 6, device);
  const beta = filledTensor([H], 7, device);
  const dy = filledTensor([N, H], 8, device);
  const block = { a, Wo, c, h, shift, gamma, beta };
  const flops = 2 * N * F * H;
  const shape = `N=${N} F=${F} H=${H}`;
  const plain = () => matmul(a, Wo, { transB: true });
  const list: BenchCase[] = [];
  const fwd = slash.outputBlock(block);
  if (device !== 'cpu') {
    list.push({ name: `outputBlock ${shape}`, flops, frugal: () => slash.outputBlock(block), baselines: [{ name: 'plain matmul', fn: plain }] });
    return list;
  }
  // The unfused sequence: each step a separate pass over [N, H]. Two forms: adds in
  // place into one reused buffer (the best a caller can do by hand), and every op
  // returning a new tensor as separate ops do.
  const pre = new Float32Array(N * H);
  const preT = Tensor.from(pre, [N, H]);
  const unfusedForward = () => {
    const p = matmul(a, Wo, { transB: true }).data;
    const cs = c.data, sh = shift.data, hd = h.data;
    for (let r = 0; r < N; r++) for (let j = 0; j < H; j++) pre[r * H + j] = p[r * H + j] + cs[j] + sh[j];
    for (let k = 0; k < N * H; k++) pre[k] += hd[k];
    return layerNorm(preT, gamma, beta);
  };
  const unfusedNewTensors = () => {
    const p = matmul(a, Wo, { transB: true }).data;
    const cs = c.data, sh = shift.data, hd = h.data;
    const biased = new Float32Array(N * H);
    for (let r = 0; r < N; r++) for (let j = 0; j < H; j++) biased[r * H + j] = p[r * H + j] + cs[j] + sh[j];
    const summed = new Float32Array(N * H);
    for (let k = 0; k < N * H; k++) summed[k] = biased[k] + hd[k];
    return layerNorm(Tensor.from(summed, [N, H]), gamma, beta);
  };
  list.push({
    name: `outputBlock ${shape}`,
    flops,
    frugal: () => slash.outputBlock(block),
    baselines: [
      { name: 'plain matmul', fn: plain },
      { name: 'unfused matmul+add+add+LN, in place', fn: unfusedForward },
      { name: 'unfused, a new tensor per op', fn: unfusedNewTensors },
    ],
  });
  const saved = unfusedForward();
  const columnSums = (x: Float32Array, rows: number, out: Float32Array) => {
    out.fill(0);
    for (let r = 0; r < rows; r++) for (let j = 0; j < H; j++) out[j] += x[r * H + j];
  };
  const dc = new Float32Array(H), dshift = new Float32Array(H), perSample = new Float32Array((N / T) * H);
  const unfusedBackward = (withA: boolean) => () => {
    const { dx } = layerNormBackward(dy, preT, gamma, saved);
    const x = dx.data;
    columnSums(x, N, dc);
    columnSums(x, N, dshift);
    for (let s = 0; s < N / T; s++) columnSums(x.subarray(s * T * H, (s + 1) * T * H), T, perSample.subarray(s * H, (s + 1) * H));
    return withA ? matmul(dx, Wo) : dx;
  };
  for (const withA of [false, true]) {
    list.push({
      name: `outputBlockBackward ${withA ? 'with dA' : 'no dA'} ${shape} T=${T}`,
      flops: withA ? flops : undefined,
      bytes: withA ? undefined : 4 * N * H * 3,
      frugal: () => slash.outputBlockBackward({ ...block, dy, ...fwd, tokensPerSample: T, needA: withA }),
      baselines: [{ name: `unfused LN bwd + sums${withA ? ' + dA' : ''}`, fn: unfusedBackward(withA) }],
    });
  }
  return list;
}

export const slashSuite: BenchSuite = {
  name: 'slash',
  cases: (opts) => [...projectionCases(opts), ...blockCases(opts)],
};
