// Benchmark suite 'hadamard': EGE-UNet's modules and network on the CPU.
//   - GHPA(32, 48) at B 8, 32×32; GHPA(24, 32) at B 8, 64×64; GAB(48, 32) with
//     xh 8×48×16×16, xl 8×32×32×32, mask 8×1×32×32. Each module's training
//     forward, forward + backward, and inference (GHPA with its precomputed maps),
//     the fused one-call hadamard.ghpa/gab beside the same module composed from
//     separate featureMap ops (bench/hadamard_unfused.ts: what a user composing the
//     primitives writes) and, for inference, beside onnxruntime-node running the
//     module's ONNX export (bench/onnx, whose weights the modules load; ORT folds
//     GHPA's parameter maps at session creation, so its run is inference with
//     precomputed maps too). Targets: fused inference ≥ 1.5× faster than ORT,
//     fused forward + backward ≥ 2× faster than the unfused composition.
//   - The whole EgeUNet inference forward at B 1 and 8, 256×256, beside ORT.
//   - Memory-bound pieces at GHPA(24, 32)'s 64×64 map in GB/s (bytes read + written),
//     beside a copy of the same bytes (ratio: the fraction of copy bandwidth).
// ORT runs with intraOpNumThreads = Frugal's thread count, at graph optimization
// 'all' (the default of scripts/reference/onnx_check.mjs; its 'extended' and 'basic'
// times were within noise of it on the dev box) and, but with --quick, 'basic'. ORT
// and Frugal get the same input data; their outputs are compared once, on each ORT
// baseline's first (untimed) call (max abs diff in the notes).
// The per-kind stage times of the unfused composition (run op by op, timed with
// performance.now) are filled in on a case's first, untimed call.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { EgeUNet, Gab, Ghpa, Tensor, featureMap, hadamard, info, loadSafetensors } from '../lib';
import { filled } from './data';
import {
  gabBackwardUnfused, gabUnfused, ghpaBackwardUnfused, ghpaMapsUnfused, ghpaUnfused, type Stage,
} from './hadamard_unfused';
import { loadOrt } from './onnx_matmul';
import type { BenchCase, BenchOptions, BenchSuite, Timed } from './suite';

// The compiled suite runs from dist/bench; the models stay in the source tree.
const ONNX_DIR = path.join(__dirname, '..', '..', 'bench', 'onnx');

type OrtOutputs = Record<string, { data: Float32Array; dims: readonly number[] }>;
interface OrtSession { run(feeds: object): Promise<OrtOutputs> }
type Ort = NonNullable<ReturnType<typeof loadOrt>>;

const levelsFor = (quick: boolean) => (quick ? ['all'] : ['all', 'basic']);

async function ortSession(ort: Ort, name: string, level: string): Promise<OrtSession> {
  const model = fs.readFileSync(path.join(ONNX_DIR, `${name}.onnx`));
  return (await ort.InferenceSession.create(model, {
    intraOpNumThreads: info().threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: level,
  })) as unknown as OrtSession;
}

/** The exported module's weights (PyTorch state_dict keys), or undefined when the file is absent. */
function weights(name: string): Record<string, Tensor> | undefined {
  const file = path.join(ONNX_DIR, `${name}.safetensors`);
  return fs.existsSync(file) ? loadSafetensors(file).tensors : undefined;
}

const hasModel = (name: string) => fs.existsSync(path.join(ONNX_DIR, `${name}.onnx`));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
const sci = (v: number) => v.toExponential(2);

/** A thunk that runs `f` once, on first use, and keeps its value. */
function lazy<T>(f: () => T): () => T {
  let v: { value: T } | undefined;
  return () => (v ??= { value: f() }).value;
}

/**
 * ORT baselines of a model, one per optimization level. Nothing is loaded until a
 * baseline's first (untimed probe) call, which creates its session, runs it once and
 * writes the max abs difference of its outputs from `want` (Frugal's) in the notes;
 * so building the suite's cases stays cheap when the suite is filtered out.
 */
function ortBaselines(ort: Ort | undefined, name: string, feeds: Record<string, Tensor>, want: () => Record<string, Float32Array>,
  notes: Record<string, string | number>, levels: readonly string[]): BenchCase['baselines'] {
  if (!ort || !hasModel(name)) {
    notes['onnxruntime-node'] = ort ? `no ${name}.onnx in bench/onnx` : 'not installed (a devDependency): no ORT baseline';
    return [];
  }
  const ortFeeds = lazy(() => Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor('float32', t.data, [...t.shape])])));
  return levels.map((level) => {
    let session: OrtSession | undefined;
    return {
      name: `onnxruntime-node (${info().threads} threads, graph opt '${level}')`,
      fn: async () => {
        if (!session) {
          session = await ortSession(ort, name, level);
          const got = await session.run(ortFeeds());
          notes[`max |frugal − ORT ${level}|`] = Object.entries(want()).map(([k, w]) => `${k} ${sci(maxAbsDiff(got[k].data, w))}`).join(', ');
        }
        return session.run(ortFeeds());
      },
    };
  });
}

// ---- stage breakdown ------------------------------------------------------------------

/** Median ms per stage label over `reps` runs of `run` (each label summed within a run). */
function stageTimes(run: (st: Stage) => void, reps: number): Map<string, number> {
  const perRun: Array<Map<string, number>> = [];
  for (let r = 0; r < reps; r++) {
    const acc = new Map<string, number>();
    const st: Stage = (label, fn) => {
      const t0 = performance.now();
      try {
        return fn();
      } finally {
        acc.set(label, (acc.get(label) ?? 0) + performance.now() - t0);
      }
    };
    run(st);
    perRun.push(acc);
  }
  const out = new Map<string, number>();
  for (const label of perRun[0].keys()) {
    const v = perRun.map((m) => m.get(label) ?? 0).sort((a, b) => a - b);
    out.set(label, v[v.length >> 1]);
  }
  return out;
}

const formatStages = (m: Map<string, number>) =>
  [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(' · ') + ` (ms; sum ${[...m.values()].reduce((a, b) => a + b, 0).toFixed(2)})`;

/** fn, whose first call (the runner's untimed probe) first runs `fill`. */
function firstCall(fn: Timed, fill: () => void): Timed {
  let pending = true;
  return () => {
    if (pending) {
      pending = false;
      fill();
    }
    return fn();
  };
}

// ---- GHPA -----------------------------------------------------------------------------

interface GhpaSpec { C: number; O: number; B: number; H: number; W: number }

function ghpaCases(ort: Ort | undefined, s: GhpaSpec, quick: boolean): BenchCase[] {
  const name = `ghpa_${s.C}_${s.O}_b${s.B}_${s.H}x${s.W}`;
  const tag = `GHPA(${s.C}, ${s.O}) B ${s.B}, ${s.H}×${s.W}`;
  const module = new Ghpa({ dimIn: s.C, dimOut: s.O });
  const dict = weights(name);
  if (dict) module.loadStateDict(dict);
  const params = module.params;
  const x = Tensor.from(filled(s.B * s.C * s.H * s.W, 11), [s.B, s.C, s.H, s.W]);
  const dy = Tensor.from(filled(s.B * s.O * s.H * s.W, 12), [s.B, s.O, s.H, s.W]);
  const maps = hadamard.ghpaMaps({ params, H: s.H, W: s.W });
  const umaps = ghpaMapsUnfused(params, s.H, s.W);  // two small [c, H, W]-sized sets of ops at setup
  const reps = quick ? 3 : 9;

  // A training loop's steady state: each forward overwrites the last one's saved buffer.
  let saved = hadamard.ghpa({ x, params }).saved!;
  const fusedTrain = () => {
    const r = hadamard.ghpa({ x, params, reuse: saved });
    saved = r.saved!;
    return r;
  };
  const fusedStep = () => {
    saved = hadamard.ghpa({ x, params, reuse: saved }).saved!;
    return hadamard.ghpaBackward({ x, params, saved, dy });
  };
  const unfusedStep = (st?: Stage) => {
    const r = ghpaUnfused(x, params, undefined, st);
    return ghpaBackwardUnfused(x, params, r.saved, dy, st);
  };
  const fusedInfer = () => hadamard.ghpa({ x, params, maps, train: false });

  const weightsNote = dict ? `bench/onnx/${name}.safetensors` : 'default init (no safetensors file)';
  const trainNotes: Record<string, string | number> = { weights: weightsNote };
  const stepNotes: Record<string, string | number> = { target: 'unfused ÷ fused ≥ 2' };
  const inferNotes: Record<string, string | number> = { target: 'ORT ÷ fused ≥ 1.5' };
  const inferY = lazy(() => fusedInfer().y.data);
  const ortRows = ortBaselines(ort, name, { x }, () => ({ y: inferY() }), inferNotes, levelsFor(quick));

  return [{
    name: `${tag} forward (training: maps + saved)`,
    frugal: firstCall(fusedTrain, () => {
      const f = fusedTrain().y.data;
      trainNotes['max |fused − unfused| y'] = sci(maxAbsDiff(ghpaUnfused(x, params).y.data, f));
      trainNotes['unfused stages'] = formatStages(stageTimes((st) => ghpaUnfused(x, params, undefined, st), reps));
    }),
    baselines: [{ name: 'unfused featureMap ops', fn: () => ghpaUnfused(x, params) }],
    notes: trainNotes,
  }, {
    name: `${tag} forward + backward`,
    frugal: firstCall(fusedStep, () => {
      const f = fusedStep(), u = unfusedStep();
      stepNotes['max |fused − unfused| dx'] = sci(maxAbsDiff(u.dx.data, f.dx.data));
      stepNotes['unfused backward stages'] = formatStages(stageTimes((st) => {
        const r = ghpaUnfused(x, params);
        ghpaBackwardUnfused(x, params, r.saved, dy, st);
      }, reps));
    }),
    baselines: [{ name: 'unfused featureMap ops', fn: () => unfusedStep() }],
    notes: stepNotes,
  }, {
    name: `${tag} inference, precomputed maps`,
    frugal: firstCall(fusedInfer, () => {
      inferNotes['max |fused − unfused| y'] = sci(maxAbsDiff(ghpaUnfused(x, params, umaps).y.data, inferY()));
      inferNotes['unfused stages'] = formatStages(stageTimes((st) => ghpaUnfused(x, params, umaps, st), reps));
    }),
    baselines: [
      ...ortRows,
      { name: 'unfused featureMap ops, precomputed maps', fn: () => ghpaUnfused(x, params, umaps) },
      { name: 'fused, maps computed in the call (train: false)', fn: () => hadamard.ghpa({ x, params, train: false }) },
    ],
    notes: inferNotes,
  }];
}

// ---- GAB ------------------------------------------------------------------------------

interface GabSpec { Ch: number; Cl: number; B: number; h: number; w: number; H: number; W: number }

function gabCases(ort: Ort | undefined, s: GabSpec, quick: boolean): BenchCase[] {
  const name = `gab_${s.Ch}_${s.Cl}_b${s.B}_${s.H}x${s.W}`;
  const tag = `GAB(${s.Ch}, ${s.Cl}) xh ${s.B}×${s.Ch}×${s.h}×${s.w}, xl ${s.B}×${s.Cl}×${s.H}×${s.W}`;
  const module = new Gab({ dimXh: s.Ch, dimXl: s.Cl });
  const dict = weights(name);
  if (dict) module.loadStateDict(dict);
  const params = module.params;
  const xh = Tensor.from(filled(s.B * s.Ch * s.h * s.w, 21), [s.B, s.Ch, s.h, s.w]);
  const xl = Tensor.from(filled(s.B * s.Cl * s.H * s.W, 22), [s.B, s.Cl, s.H, s.W]);
  const mask = Tensor.from(filled(s.B * s.H * s.W, 23), [s.B, 1, s.H, s.W]);
  const dy = Tensor.from(filled(s.B * s.Cl * s.H * s.W, 24), [s.B, s.Cl, s.H, s.W]);
  const reps = quick ? 3 : 9;

  let saved = hadamard.gab({ xh, xl, mask, params }).saved!;
  const fusedTrain = () => {
    const r = hadamard.gab({ xh, xl, mask, params, reuse: saved });
    saved = r.saved!;
    return r;
  };
  const fusedStep = () => {
    saved = hadamard.gab({ xh, xl, mask, params, reuse: saved }).saved!;
    return hadamard.gabBackward({ xh, xl, mask, params, saved, dy });
  };
  const unfusedStep = (st?: Stage) => {
    const r = gabUnfused(xh, xl, mask, params, st);
    return gabBackwardUnfused(xh, xl, params, r.saved, dy, st);
  };
  const fusedInfer = () => hadamard.gab({ xh, xl, mask, params, train: false });

  const trainNotes: Record<string, string | number> = { weights: dict ? `bench/onnx/${name}.safetensors` : 'default init (no safetensors file)' };
  const stepNotes: Record<string, string | number> = { target: 'unfused ÷ fused ≥ 2' };
  const inferNotes: Record<string, string | number> = { target: 'ORT ÷ fused ≥ 1.5' };
  const inferY = lazy(() => fusedInfer().y.data);
  const ortRows = ortBaselines(ort, name, { xh, xl, mask }, () => ({ y: inferY() }), inferNotes, levelsFor(quick));

  return [{
    name: `${tag} forward (training: saved)`,
    frugal: firstCall(fusedTrain, () => {
      trainNotes['max |fused − unfused| y'] = sci(maxAbsDiff(gabUnfused(xh, xl, mask, params).y.data, inferY()));
      trainNotes['unfused stages'] = formatStages(stageTimes((st) => gabUnfused(xh, xl, mask, params, st), reps));
    }),
    baselines: [{ name: 'unfused featureMap ops', fn: () => gabUnfused(xh, xl, mask, params) }],
    notes: trainNotes,
  }, {
    name: `${tag} forward + backward`,
    frugal: firstCall(fusedStep, () => {
      const f = fusedStep(), u = unfusedStep();
      stepNotes['max |fused − unfused| dxl, dxh'] = `${sci(maxAbsDiff(u.dxl.data, f.dxl.data))}, ${sci(maxAbsDiff(u.dxh.data, f.dxh.data))}`;
      stepNotes['unfused backward stages'] = formatStages(stageTimes((st) => {
        const r = gabUnfused(xh, xl, mask, params);
        gabBackwardUnfused(xh, xl, params, r.saved, dy, st);
      }, reps));
    }),
    baselines: [{ name: 'unfused featureMap ops', fn: () => unfusedStep() }],
    notes: stepNotes,
  }, {
    name: `${tag} inference`,
    frugal: fusedInfer,
    baselines: [...ortRows, { name: 'unfused featureMap ops', fn: () => gabUnfused(xh, xl, mask, params) }],
    notes: inferNotes,
  }];
}

// ---- the network ----------------------------------------------------------------------

function networkCase(ort: Ort | undefined, B: number, size: number, quick: boolean): BenchCase {
  const name = `egeunet_b${B}_${size}`;
  const net = new EgeUNet();
  const dict = weights(name);
  if (dict) net.loadStateDict(dict);
  const x = Tensor.from(filled(B * 3 * size * size, 31), [B, 3, size, size]);
  const forward = () => net.forward(x, { train: false });
  const want = lazy(() => {
    const out = forward();
    const w: Record<string, Float32Array> = { mask: out.mask.data };
    out.ds.forEach((d, i) => (w[`ds${i + 1}`] = d.data));
    return w;
  });
  const notes: Record<string, string | number> = { weights: dict ? `bench/onnx/${name}.safetensors` : 'default init (no safetensors file)',
    target: 'ORT ÷ fused ≥ 1.5' };
  return {
    name: `EgeUNet inference forward B ${B}, ${size}×${size} (mask + 5 deep-supervision maps)`,
    frugal: forward,
    baselines: ortBaselines(ort, name, { x }, want, notes, levelsFor(quick)),
    notes,
  };
}

// ---- memory-bound pieces in GB/s ------------------------------------------------------------

/** Copies of `bytes` bytes (half read, half written) with Float32Array.prototype.set. */
function copyOf(bytes: number): Timed {
  const n = Math.max(1, Math.round(bytes / 8));
  const src = filled(n, 41), dst = new Float32Array(n);
  return () => dst.set(src);
}

/** Copy bandwidth of a large (64 MiB + 64 MiB) buffer, out of cache: median GB/s of 7 copies. */
function dramCopyGBs(): number {
  const n = 16 * 2 ** 20, src = new Float32Array(n).fill(1), dst = new Float32Array(n);
  const t: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    dst.set(src);
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return +((8 * n) / (t[3] / 1e3) / 1e9).toFixed(1);
}

function bandwidthCases(): BenchCase[] {
  const B = 8, C = 24, H = 64, W = 64, P = H * W, N = B * C * P, q = C / 4;
  const tag = `[${B}, ${C}, ${H}, ${W}] (GHPA(24, 32)'s map)`;
  const x = Tensor.from(filled(N, 51), [B, C, H, W]), dy = Tensor.from(filled(N, 52), [B, C, H, W]);
  const gamma = Tensor.from(filled(C, 53), [C]), beta = Tensor.from(filled(C, 54), [C]);
  const dw = Tensor.from(filled(C * 9, 55), [C, 1, 3, 3]), db = Tensor.from(filled(C, 56), [C]);
  const group = Tensor.from(filled(B * q * P, 57), [B, q, H, W]), plane = Tensor.from(filled(q * P, 58), [q, H, W]);
  const saved = featureMap.channelNorm({ x, weight: gamma, bias: beta });
  const notes: Record<string, string | number> = { bytes: 'read + written once (compulsory traffic)' };
  const copyName = 'Float32Array.set copy of the same bytes (ratio: fraction of copy bandwidth)';
  const piece = (name: string, bytes: number, fn: Timed, extra?: Record<string, string | number>): BenchCase =>
    ({ name, bytes, frugal: fn, baselines: [{ name: copyName, fn: copyOf(bytes) }], notes: extra ?? notes });
  const first: Record<string, string | number> = { ...notes };
  return [
    piece(`featureMap.channelNorm ${tag}`, 4 * (2 * N + 2 * B * P),
      firstCall(() => featureMap.channelNorm({ x, weight: gamma, bias: beta }), () => (first['copy GB/s of a 64 MiB buffer (DRAM)'] = dramCopyGBs())), first),
    piece(`featureMap.channelNormBackward ${tag}`, 4 * (3 * N + 2 * B * P),
      () => featureMap.channelNormBackward({ dy, x, weight: gamma, mean: saved.mean, rstd: saved.rstd })),
    piece(`featureMap.depthwiseConv2d 3×3 ${tag}`, 4 * 2 * N, () => featureMap.depthwiseConv2d({ x, weight: dw, bias: db })),
    piece(`featureMap.depthwiseConv2d 3×3 + GELU (keeps pre) ${tag}`, 4 * 3 * N, () => featureMap.depthwiseConv2d({ x, weight: dw, bias: db, gelu: true })),
    piece(`featureMap.hadamard plane [${B}, ${q}, ${H}, ${W}]`, 4 * (2 * B * q * P + q * P), () => featureMap.hadamard({ x: group, map: plane })),
  ];
}

// ---- the suite --------------------------------------------------------------------------

function cases(opts: BenchOptions): BenchCase[] {
  if (opts.device !== 'cpu') return [];
  const ort = loadOrt();
  // --quick keeps one case of each kind: its whole run must stay short.
  const out: BenchCase[] = [
    ...ghpaCases(ort, { C: 32, O: 48, B: 8, H: 32, W: 32 }, opts.quick),
    ...(opts.quick ? [] : ghpaCases(ort, { C: 24, O: 32, B: 8, H: 64, W: 64 }, opts.quick)),
    ...gabCases(ort, { Ch: 48, Cl: 32, B: 8, h: 16, w: 16, H: 32, W: 32 }, opts.quick),
  ];
  for (const B of opts.quick ? [1] : [1, 8]) out.push(networkCase(ort, B, 256, opts.quick));
  if (!opts.quick) out.push(...bandwidthCases());
  return out;
}

export const hadamardSuite: BenchSuite = { name: 'hadamard', cases };
