// Job type 'dp-epsilon': ε of a DP-SGD run (RDP accountant, Balle et al. 2020 conversion).
// The sampling rate is `q` or batchSize/datasetSize; the length is `steps` or
// ⌈epochs/q⌉; several `phases` compose.
import { FrugalError } from '../errors';
import { epsilon } from '../dp/rdp';
import type { JobType } from './job';

/** One phase of a DP-SGD run as a job file gives it (q or batchSize, steps or epochs). */
export interface DpPhaseConfig {
  q?: number;
  batchSize?: number;
  sigma: number;
  steps?: number;
  epochs?: number;
}

/** Config of a 'dp-epsilon' job (defaults filled in by the schema). */
export interface DpEpsilonConfig extends Partial<DpPhaseConfig> {
  type: 'dp-epsilon';
  datasetSize?: number;
  phases?: DpPhaseConfig[];
  delta: number;
  orders?: number[];
}

const phaseProperties = {
  q: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
  batchSize: { type: 'integer', minimum: 1 },
  sigma: { type: 'number', exclusiveMinimum: 0 },
  steps: { type: 'integer', minimum: 0 },
  epochs: { type: 'number', minimum: 0 },
};

/** Resolves q and steps of a phase; `where` is the JSON path for errors. */
export function resolvePhase(p: Partial<DpPhaseConfig>, datasetSize: number | undefined, where: string): { q: number; steps?: number } {
  if ((p.q === undefined) === (p.batchSize === undefined)) {
    throw new FrugalError('E_CONFIG', `${where}: give exactly one of q and batchSize`);
  }
  let q = p.q;
  if (q === undefined) {
    if (datasetSize === undefined) throw new FrugalError('E_CONFIG', `/datasetSize: required with ${where}/batchSize`);
    if (p.batchSize! > datasetSize) throw new FrugalError('E_CONFIG', `${where}/batchSize: ${p.batchSize} is larger than datasetSize ${datasetSize}`);
    q = p.batchSize! / datasetSize;
  }
  if (p.steps !== undefined && p.epochs !== undefined) throw new FrugalError('E_CONFIG', `${where}: give steps or epochs, not both`);
  const steps = p.epochs !== undefined ? Math.ceil(p.epochs / q - 1e-9) : p.steps;
  return { q, steps };
}

/**
 * `frugal run` job 'dp-epsilon'. Example job file:
 * `{ "type": "dp-epsilon", "datasetSize": 60000, "batchSize": 256, "epochs": 60, "sigma": 1.1 }`
 * → `{ "epsilon": 2.5967, "order": 8.1, "delta": 1e-5, "phases": [...] }`.
 */
export const dpEpsilonJob: JobType<DpEpsilonConfig> = {
  type: 'dp-epsilon',
  description: 'ε of DP-SGD with Poisson sampling for a given noise multiplier (RDP accountant, Balle et al. 2020 conversion)',
  schema: {
    type: 'object',
    properties: {
      type: { const: 'dp-epsilon' },
      ...phaseProperties,
      datasetSize: { type: 'integer', minimum: 1 },
      phases: {
        type: 'array',
        minItems: 1,
        items: { type: 'object', properties: phaseProperties, required: ['sigma'], additionalProperties: false },
      },
      delta: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, default: 1e-5 },
      orders: { type: 'array', minItems: 1, items: { type: 'number', exclusiveMinimum: 1 } },
    },
    required: ['type'],
    additionalProperties: false,
  },
  async run(config, ctx) {
    ctx.progress(0, 'accounting');
    const single = config.phases === undefined;
    const given = single ? [{ q: config.q, batchSize: config.batchSize, sigma: config.sigma, steps: config.steps, epochs: config.epochs }] : config.phases!;
    if (!single && [config.q, config.batchSize, config.sigma, config.steps, config.epochs].some((v) => v !== undefined)) {
      throw new FrugalError('E_CONFIG', '/phases: give either phases or q/batchSize, sigma, steps/epochs at the top level, not both');
    }
    const phases = given.map((p, i) => {
      const where = single ? '' : `/phases/${i}`;
      if (p.sigma === undefined) throw new FrugalError('E_CONFIG', `${where}/sigma: required field missing`);
      const { q, steps } = resolvePhase(p, config.datasetSize, where || '/');
      if (steps === undefined) throw new FrugalError('E_CONFIG', `${where || '/'}: give steps or epochs`);
      return { q, sigma: p.sigma, steps };
    });
    const result = epsilon({ phases, delta: config.delta, orders: config.orders });
    ctx.progress(1);
    return { epsilon: result.epsilon, order: result.order, delta: config.delta, phases, accountant: 'rdp', conversion: 'balle2020' };
  },
};
