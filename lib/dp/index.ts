// Per-sample clipping for DP-SGD: the `dp` namespace.
import * as rdp from './rdp';

/** Differential privacy: per-sample clipping kernels, noise and the RDP accountant. */
export const dp = { rdp };
