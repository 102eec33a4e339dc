// Job type 'dp-noise': the smallest noise multiplier σ that keeps a DP-SGD run within a
// target ε (bisection over the RDP accountant).
import { FrugalError } from '../errors';
import { epsilon, noiseMultiplier } from '../dp/rdp';
import type { JobType } from './job';
import { resolvePhase } from './dp_epsilon';

/** Config of a 'dp-noise' job (defaults filled in by the schema). */
export interface DpNoiseConfig {
  type: 'dp-noise';
  q?: number;
  batchSize?: number;
  datasetSize?: number;
  steps?: number;
  epochs?: number;
  targetEpsilon: number;
  delta: number;
  tol: number;
}

/**
 * `frugal run` job 'dp-noise'. Example job file:
 * `{ "type": "dp-noise", "datasetSize": 60000, "batchSize": 256, "epochs": 60, "targetEpsilon": 3 }`
 * → `{ "sigma": …, "epsilon": ≤ 3, "order": …, "q": …, "steps": 14063, "delta": 1e-5 }`.
 */
export const dpNoiseJob: JobType<DpNoiseConfig> = {
  type: 'dp-noise',
  description: 'The noise multiplier σ that reaches a target ε for DP-SGD with Poisson sampling',
  schema: {
    type: 'object',
    properties: {
      type: { const: 'dp-noise' },
      q: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
      batchSize: { type: 'integer', minimum: 1 },
      datasetSize: { type: 'integer', minimum: 1 },
      steps: { type: 'integer', minimum: 1 },
      epochs: { type: 'number', exclusiveMinimum: 0 },
      targetEpsilon: { type: 'number', exclusiveMinimum: 0 },
      delta: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, default: 1e-5 },
      tol: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 1e-6 },
    },
    required: ['type', 'targetEpsilon'],
    additionalProperties: false,
  },
  async run(config, ctx) {
    ctx.progress(0, 'searching σ');
    const { q, steps } = resolvePhase(config, config.datasetSize, '/');
    if (steps === undefined || steps < 1) throw new FrugalError('E_CONFIG', '/: give steps or epochs (at least one step)');
    const sigma = noiseMultiplier({ q, steps, targetEpsilon: config.targetEpsilon, delta: config.delta, tol: config.tol });
    const reached = epsilon({ q, sigma, steps, delta: config.delta });
    ctx.progress(1);
    return { sigma, epsilon: reached.epsilon, order: reached.order, q, steps, delta: config.delta, targetEpsilon: config.targetEpsilon };
  },
};
