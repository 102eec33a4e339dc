// The `graddrop` namespace: masked-gradient backprop (GradDrop masks, the masked
// weight gradient), and the orchestration around it (schedules, freezing, replay).
import { apply, applyAsync, linearGrad, linearGradAsync, mask, maskAsync, preferredBlock } from './ops';

export type { MaskTensorOptions, LinearGradOptions, LinearGradResult } from './ops';
export {
  GradDropSchedule, GRANULARITIES, checkMaskOptions, type Granularity, type MaskOptions, type RateContext, type MaskContext,
  type LinearScheduleOptions, type DepthScheduleOptions, type UnfreezingOptions,
} from './schedule';
export { FreezePlan, type FreezePlanOptions } from './freeze';
export { ReplaySampler, type ReplaySamplerOptions, type ReplayBatch } from './replay';

/**
 * GradDrop (O'Neill & Dutta 2023): random masks on parameter gradients, drawn from
 * random streams v1 (tag 2) so no mask is stored, and a weight-gradient GEMM that
 * never computes what it drops. See README "Masked-gradient backprop".
 */
export const graddrop = { mask, maskAsync, apply, applyAsync, linearGrad, linearGradAsync, preferredBlock };
