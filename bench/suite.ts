// What a benchmark suite is. Every suite lives in bench/<family>.ts and is
// listed in bench/suites.ts; `npm run bench` and `frugal bench` run them all.
//
// A case times the Frugal kernel and, in the same run, one or more baselines
// (onnxruntime-node, a naive JS loop, the unfused sequence, ...). The runner
// reports medians, GFLOP/s or GB/s when `flops`/`bytes` are given, and each
// baseline's time divided by Frugal's (> 1 means Frugal is faster).

/** A timed function: sync, or async (awaited). */
export type Timed = () => unknown | Promise<unknown>;

export interface BenchCase {
  /** Row name, e.g. 'matmul 1024x1024x1024'. */
  name: string;
  /** Floating-point operations of one call (for GFLOP/s). */
  flops?: number;
  /** Bytes moved by one call (for GB/s). */
  bytes?: number;
  /** Values produced by one call (for rates like values/s), with their unit. */
  items?: { count: number; unit: string };
  /** The Frugal kernel. */
  frugal: Timed;
  /** Baselines measured in the same run. */
  baselines: Array<{ name: string; fn: Timed }>;
  /** Extra facts to print and store (e.g. bytes of memory saved). */
  notes?: Record<string, string | number>;
}

export interface BenchOptions {
  /** Smaller sizes and shorter timing, so the whole `frugal bench --quick` stays under a minute. */
  quick: boolean;
  /** Where the kernels run: 'cpu' (default) or 'cuda' (suites without CUDA cases skip it). */
  device: 'cpu' | 'cuda';
}

export interface BenchSuite {
  /** Suite name used by `--filter` (e.g. 'gemm', 'random'). */
  name: string;
  /** Builds the cases (allocating inputs once, outside the timed functions). */
  cases(opts: BenchOptions): BenchCase[] | Promise<BenchCase[]>;
}
