// Benchmark suite 'random': the Philox streams on the CPU in values/s, with
// plain-JS generators over Math.random (and Node's CSPRNG for raw words) as
// baselines in the same run, plus Frugal's AVX2 path when the CPU has AVX-512
// and, for normals, Frugal's own uniform stream (the Box–Muller cost on top of
// Philox). Outputs are preallocated, so the timed call is generation and the
// write only. A 4096-value normal fill shows the per-call overhead that SLaSh's
// W_l tiles see.
import { randomFillSync } from 'node:crypto';
import { info, random } from '../lib';
import type { BenchCase, BenchOptions, BenchSuite } from './suite';
import { avx2Baseline } from './data';

function jsNormal(out: Float32Array): void {
  for (let i = 0; i + 1 < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - Math.random())), t = 2 * Math.PI * Math.random();
    out[i] = r * Math.cos(t);
    out[i + 1] = r * Math.sin(t);
  }
}

function jsUniform(out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = Math.random();
}

function jsWords(out: Uint32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = (Math.random() * 4294967296) >>> 0;
}

function casesFor(n: number): BenchCase[] {
  const f = new Float32Array(n), g = new Float32Array(n), w = new Uint32Array(n);
  const stream = { seed: 0x5eedn, sub: 1, tag: random.tags.projection, offset: 12345 };
  const size = n >= 1 << 20 ? `${n >> 20}M` : String(n);
  const notes = { threads: info().threads, isa: info().isa };
  const normal = () => random.normal(n, { ...stream, out: f });
  const uniform = () => random.uniform(n, { ...stream, out: f });
  const words = () => random.words(n, { ...stream, out: w });
  return [
    {
      name: `random.normal ${size}`, items: { count: n, unit: 'values' }, frugal: normal, notes,
      baselines: [
        { name: 'plain JS Box-Muller (Math.random)', fn: () => jsNormal(g) },
        { name: 'frugal uniform stream', fn: () => random.uniform(n, { ...stream, out: g }) },
        ...avx2Baseline(normal),
      ],
    },
    {
      name: `random.uniform ${size}`, items: { count: n, unit: 'values' }, frugal: uniform, notes,
      baselines: [{ name: 'plain JS Math.random', fn: () => jsUniform(g) }, ...avx2Baseline(uniform)],
    },
    {
      name: `random.words ${size}`, items: { count: n, unit: 'values' }, frugal: words, notes,
      baselines: [
        { name: 'plain JS Math.random', fn: () => jsWords(w) },
        { name: 'node crypto.randomFillSync', fn: () => randomFillSync(w) },
        ...avx2Baseline(words),
      ],
    },
  ];
}

function smallCase(): BenchCase {
  const n = 4096, f = new Float32Array(n), g = new Float32Array(n);
  const o = { seed: 42, sub: 3, tag: random.tags.projection, scale: 1 / 32, out: f };
  return {
    name: 'random.normal 4096 (one W_l tile)', items: { count: n, unit: 'values' }, frugal: () => random.normal(n, o),
    baselines: [{ name: 'plain JS Box-Muller (Math.random)', fn: () => jsNormal(g) }],
  };
}

/** Philox streams (normal, uniform, words) in values/s against plain JS and the AVX2 path. */
export const randomSuite: BenchSuite = {
  name: 'random',
  cases(opts: BenchOptions): BenchCase[] {
    if (opts.device !== 'cpu') return [];
    return [...casesFor(opts.quick ? 1 << 20 : 16 << 20), smallCase()];
  },
};
