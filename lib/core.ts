// Build and machine information, threads and the ISA switch.
import { native } from './binding';
import { callNative } from './call';
import { checkEnum, checkInt } from './validate';

/** A CPU instruction-set level the kernels can dispatch to. */
export type IsaLevel = 'ref' | 'avx2' | 'avx512';

interface CoreNative {
  info(): { isa: IsaLevel; maxIsa: IsaLevel; threads: number; cudaCompiled: boolean; cudaDevices: string[] };
  setNumThreads(args: { threads: number }): void;
  setIsa(args: { level: IsaLevel }): void;
}

/** What {@link info} reports. */
export interface FrugalInfo {
  /** Package version. */
  version: string;
  /** ISA level kernels dispatch to now. */
  isa: IsaLevel;
  /** Best level this CPU and OS support. */
  maxIsa: IsaLevel;
  /** Threads in the CPU pool. */
  threads: number;
  cuda: {
    /** True when the backend is compiled in and at least one device answers. */
    available: boolean;
    /** True when this build contains the CUDA backend. */
    compiled: boolean;
    /** Names of the visible devices. */
    devices: string[];
  };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = require('../../package.json').version;

/**
 * Version, ISA level, threads and CUDA devices of this build and machine.
 * @throws FrugalError E_NATIVE (the addon cannot be loaded).
 */
export function info(): FrugalInfo {
  const n = native<CoreNative>().info();
  return {
    version: VERSION,
    isa: n.isa,
    maxIsa: n.maxIsa,
    threads: n.threads,
    cuda: { available: n.cudaDevices.length > 0, compiled: n.cudaCompiled, devices: n.cudaDevices },
  };
}

/**
 * Sets the size of the CPU thread pool (1 to 1024). Results do not depend on it.
 * @throws FrugalError E_DTYPE (not a number), E_RANGE (not an integer in [1, 1024]), E_NATIVE (no addon).
 */
export function setNumThreads(n: number): void {
  checkInt(n, 'n', 1, 1024);
  callNative(() => native<CoreNative>().setNumThreads({ threads: n }));
}

/**
 * Selects the ISA level kernels dispatch to ('ref' is the scalar reference). A
 * level above what the CPU supports is refused with E_RANGE. The environment
 * variable FRUGAL_FORCE_ISA sets the starting level.
 * @throws FrugalError E_RANGE (unknown level, or above what the CPU supports), E_NATIVE (no addon).
 */
export function setIsa(level: IsaLevel): void {
  checkEnum(level, 'level', ['ref', 'avx2', 'avx512'] as const);
  callNative(() => native<CoreNative>().setIsa({ level }));
}

/**
 * The ISA levels this machine supports, lowest first.
 * @throws FrugalError E_NATIVE (the addon cannot be loaded).
 */
export function isaLevels(): IsaLevel[] {
  const all: IsaLevel[] = ['ref', 'avx2', 'avx512'];
  return all.slice(0, all.indexOf(info().maxIsa) + 1);
}
