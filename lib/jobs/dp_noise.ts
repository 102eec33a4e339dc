// Job type 'dp-noise': the smallest noise multiplier σ that keeps a DP-SGD run within a
// target ε (bisection over the PLD accountant, the RDP accountant, or both: the default,
// reporting the smaller σ, valid under the accountant that found it).
import { FrugalError } from '../errors';
import * as pld from '../dp/pld';
import * as rdp from '../dp/rdp';
import type { JobType } from './job';
import { accountantProperties, resolvePhase, type JobAccountant } from './dp_epsilon';

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
  /** σ tolerance (default: each accountant's own, 1e-6 for RDP and 1e-4 for PLD). */
  tol?: number;
  accountant: JobAccountant;
  discretization: number;
}

/**
 * `frugal run` job 'dp-noise'. Example job file:
 * `{ "type": "dp-noise", "datasetSize": 60000, "batchSize": 256, "epochs": 60, "targetEpsilon": 3 }`
 * → `{ "sigma": …, "accountant": "both", "q": …, "steps": 14063, "delta": 1e-5, "targetEpsilon": 3,
 *      "rdp": { "sigma": …, "epsilon": ≤ 3, "order": … }, "pld": { "sigma": …, "epsilon": ≤ 3 } }`
 * (`sigma` is the smaller of the two).
 */
export const dpNoiseJob: JobType<DpNoiseConfig> = {
  type: 'dp-noise',
  description: 'The noise multiplier σ that reaches a target ε for DP-SGD with Poisson sampling (PLD and/or RDP accountant)',
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
      tol: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
      ...accountantProperties,
    },
    required: ['type', 'targetEpsilon'],
    additionalProperties: false,
  },
  async run(config, ctx) {
    ctx.progress(0, 'searching σ');
    const { q, steps } = resolvePhase(config, config.datasetSize, '/');
    if (steps === undefined || steps < 1) throw new FrugalError('E_CONFIG', '/: give steps or epochs (at least one step)');
    const { targetEpsilon, delta, tol, accountant, discretization } = config;
    const byRdp = () => {
      const sigma = rdp.noiseMultiplier({ q, steps, targetEpsilon, delta, tol });
      return { sigma, ...rdp.epsilon({ q, sigma, steps, delta }) };
    };
    const byPld = () => {
      const sigma = pld.noiseMultiplier({ q, steps, targetEpsilon, delta, tol, discretization });
      return { sigma, ...pld.epsilon({ q, sigma, steps, delta, discretization }) };
    };
    const r = accountant === 'pld' ? undefined : byRdp();
    const p = accountant === 'rdp' ? undefined : byPld();
    ctx.progress(1);
    const sigma = Math.min(r?.sigma ?? Infinity, p?.sigma ?? Infinity);
    return { sigma, accountant, q, steps, delta, targetEpsilon, ...(r && { rdp: r }), ...(p && { pld: { ...p, discretization } }) };
  },
};
