// Job type 'dp-epsilon': ε of a DP-SGD run by the PLD accountant, the RDP accountant
// (Balle et al. 2020 conversion) or both (the default: each is a valid upper bound, so
// the smaller is reported as `epsilon`). The sampling rate is `q` or
// batchSize/datasetSize; the length is `steps` or ⌈epochs/q⌉; several `phases` compose.
import { FrugalError } from '../errors';
import { epsilon as pldEpsilon, DEFAULT_DISCRETIZATION } from '../dp/pld';
import { epsilon as rdpEpsilon } from '../dp/rdp';
import type { JobType } from './job';

/** Which accountant a dp job uses: one of the two, or both side by side. */
export type JobAccountant = 'rdp' | 'pld' | 'both';

/** The schema of a dp job's `accountant` and `discretization` fields. */
export const accountantProperties = {
  accountant: { enum: ['rdp', 'pld', 'both'], default: 'both' },
  discretization: { type: 'number', minimum: 1e-6, maximum: 1, default: DEFAULT_DISCRETIZATION },
};

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
  accountant: JobAccountant;
  discretization: number;
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
 * → `{ "epsilon": 2.3818, "accountant": "both", "delta": 1e-5, "phases": [...],
 *      "rdp": { "epsilon": 2.5967, "order": 8.1, … }, "pld": { "epsilon": 2.3818, "discretization": 1e-4 } }`.
 */
export const dpEpsilonJob: JobType<DpEpsilonConfig> = {
  type: 'dp-epsilon',
  description: 'ε of DP-SGD with Poisson sampling for a given noise multiplier (PLD and/or RDP accountant)',
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
      ...accountantProperties,
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
    if (config.orders !== undefined && config.accountant === 'pld') throw new FrugalError('E_CONFIG', '/orders: only the rdp accountant takes orders');
    const { delta, accountant, discretization } = config;
    const rdp = accountant === 'pld' ? undefined : { ...rdpEpsilon({ phases, delta, orders: config.orders }), conversion: 'balle2020' };
    const pld = accountant === 'rdp' ? undefined : { ...pldEpsilon({ phases, delta, discretization }), discretization };
    ctx.progress(1);
    const epsilon = Math.min(rdp?.epsilon ?? Infinity, pld?.epsilon ?? Infinity);
    return { epsilon, accountant, delta, phases, ...(rdp && { rdp }), ...(pld && { pld }) };
  },
};
