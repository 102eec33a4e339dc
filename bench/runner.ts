// Runs benchmark suites with benchmark.js and reports medians, rates and the
// ratio of each baseline to Frugal measured in the same run.
import * as os from 'node:os';
import Benchmark from 'benchmark';
import type { BenchCase, BenchSuite, Timed } from './suite';

// Time the functions as given (closures), never decompiled and re-inlined.
(Benchmark.support as { decompilation: boolean }).decompilation = false;

/** One timed function's outcome. */
export interface Measurement {
  name: string;
  /** Median seconds per call. */
  median: number;
  /** Samples taken. */
  samples: number;
  /** Rate derived from flops/bytes/items, with its unit (e.g. "GFLOP/s"). */
  rate?: { value: number; unit: string };
  /** Baseline only: baseline median / Frugal median (> 1: Frugal is faster). */
  ratio?: number;
}

export interface CaseResult {
  suite: string;
  case: string;
  frugal: Measurement;
  baselines: Measurement[];
  notes?: Record<string, string | number>;
}

export interface RunOptions {
  quick: boolean;
  device: 'cpu' | 'cuda';
  /** Run only suites (or cases) whose name contains one of these strings. */
  filter?: string[];
  /** Called before each timed function (progress display). */
  onProgress?: (done: number, total: number, label: string) => void;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// Seconds per call of every sample benchmark.js takes of fn within maxTime.
function sample(fn: Timed, maxTime: number, minSamples: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    // Probe once: async functions are timed as deferred benchmarks.
    const probe = fn();
    const isAsync = probe instanceof Promise;
    const start = (probe instanceof Promise ? probe : Promise.resolve()).then(() => {
      const bench = new Benchmark({
        defer: isAsync,
        fn: isAsync
          ? (deferred: { resolve(): void }) => void (fn() as Promise<unknown>).then(() => deferred.resolve())
          : fn,
        minSamples,
        maxTime,
        initCount: 1,
      } as Benchmark.Options);
      bench.on('complete', () => {
        if (bench.error) reject(bench.error);
        else resolve(bench.stats.sample);
      });
      bench.on('error', () => reject(bench.error));
      bench.run({ async: false });
    });
    start.catch(reject);
  });
}

function rateOf(c: BenchCase, seconds: number): Measurement['rate'] {
  if (c.flops) return { value: c.flops / seconds / 1e9, unit: 'GFLOP/s' };
  if (c.bytes) return { value: c.bytes / seconds / 1e9, unit: 'GB/s' };
  if (c.items) return { value: c.items.count / seconds / 1e9, unit: `G ${c.items.unit}/s` };
  return undefined;
}

const matches = (name: string, filter?: string[]) => !filter || filter.length === 0 || filter.some((f) => name.includes(f));

/** Runs the selected suites; returns one result per case. */
export async function runSuites(suites: BenchSuite[], opts: RunOptions): Promise<CaseResult[]> {
  const plan: Array<{ suite: string; c: BenchCase }> = [];
  for (const suite of suites) {
    const suiteSelected = matches(suite.name, opts.filter);
    for (const c of await suite.cases({ quick: opts.quick, device: opts.device })) {
      if (suiteSelected || matches(c.name, opts.filter)) plan.push({ suite: suite.name, c });
    }
  }
  const total = plan.reduce((n, p) => n + 1 + p.c.baselines.length, 0);
  let done = 0;
  const results: CaseResult[] = [];
  // Frugal and its baselines take turns over several rounds, so a slow spell of
  // a shared machine lands on all of them instead of on whichever ran then.
  const rounds = opts.quick ? 1 : 3;
  const maxTime = (opts.quick ? 0.25 : 1.5) / rounds;
  // --quick promises a run under a minute: three samples of the slowest cases.
  const minSamples = opts.quick ? 3 : 5;
  for (const { suite, c } of plan) {
    const timed: Array<{ name: string; fn: Timed }> = [{ name: 'frugal', fn: c.frugal }, ...c.baselines];
    const samples: number[][] = timed.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < timed.length; i++) {
        opts.onProgress?.(done, total * rounds, `${c.name} (${timed[i].name})`);
        done++;
        samples[i].push(...(await sample(timed[i].fn, maxTime, minSamples)));
      }
    }
    const [frugal, ...baselines]: Measurement[] = timed.map((t, i) => {
      const m = median(samples[i]);
      return { name: t.name, median: m, samples: samples[i].length, rate: rateOf(c, m) };
    });
    for (const b of baselines) b.ratio = b.median / frugal.median;
    results.push({ suite, case: c.name, frugal, baselines, notes: c.notes });
  }
  opts.onProgress?.(total * rounds, total * rounds, 'done');
  return results;
}

function fmtTime(s: number): string {
  if (s < 1e-3) return `${(s * 1e6).toFixed(1)} µs`;
  if (s < 1) return `${(s * 1e3).toFixed(2)} ms`;
  return `${s.toFixed(2)} s`;
}
const fmtRate = (m: Measurement) => (m.rate ? `${m.rate.value.toFixed(m.rate.value < 10 ? 2 : 1)} ${m.rate.unit}` : '');

/** A plain-text table: one row for Frugal and one per baseline, with ratios. */
export function formatTable(results: CaseResult[]): string {
  const rows: string[][] = [['suite', 'case', 'impl', 'median', 'rate', 'baseline ÷ frugal time']];
  for (const r of results) {
    rows.push([r.suite, r.case, 'frugal', fmtTime(r.frugal.median), fmtRate(r.frugal), '']);
    for (const b of r.baselines) {
      rows.push(['', '', b.name, fmtTime(b.median), fmtRate(b), `${b.ratio!.toFixed(2)}x`]);
    }
    if (r.notes) {
      for (const [k, v] of Object.entries(r.notes)) rows.push(['', '', `  ${k}`, String(v), '', '']);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

/** Machine facts stored with every JSON report. */
export function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}
