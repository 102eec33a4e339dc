// Every benchmark suite, in the order `frugal bench` runs them.
import { dpSuite } from './dp';
import { gemmSuite } from './gemm';
import { graddropSuite } from './graddrop';
import { hadamardSuite } from './hadamard';
import { mlpfusionSuite } from './mlpfusion';
import { normSuite } from './norm';
import { pathattentionSuite } from './pathattention';
import { randomSuite } from './random';
import { slashSuite } from './slash';
import type { BenchSuite } from './suite';

export const suites: BenchSuite[] = [
  gemmSuite,
  normSuite,
  randomSuite,
  dpSuite,
  slashSuite,
  graddropSuite,
  mlpfusionSuite,
  pathattentionSuite,
  hadamardSuite,
];
