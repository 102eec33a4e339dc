// Job type 'slash-project': the per-layer shifts of a saved SLaSh / JR-WARP task for a
// backbone shape, what a serving system folds into its output biases (c_l + z·W_l).
import { FrugalError } from '../errors';
import { encodeSafetensors } from '../safetensors';
import { loadTask } from '../slash/task';
import type { JobType } from './job';

/** Config of a 'slash-project' job. */
export interface SlashProjectConfig {
  type: 'slash-project';
  /** The task file (safetensors written by slash.saveTask). */
  task: string;
  /** The backbone's layer count and hidden size: checked against the task's. */
  layers?: number;
  hidden?: number;
  /** Also write the shifts as a safetensors file (tensor "shifts" [L, H]) here. */
  shifts?: string;
  device: 'cpu' | 'cuda';
}

/**
 * `frugal run` job 'slash-project'. Example job file:
 * `{ "type": "slash-project", "task": "sst2.safetensors", "layers": 24, "hidden": 1024, "shifts": "sst2-shifts.safetensors", "output": "sst2-shifts.json" }`
 * → `{ "kind": "slash", "layers": 24, "hidden": 1024, "dim": 1024, "seed": "7", "dist": "normal", "shifts": [[…], …] }`.
 */
export const slashProjectJob: JobType<SlashProjectConfig> = {
  type: 'slash-project',
  description: "The per-layer shifts z·W_l of a saved SLaSh / JR-WARP task (to fold into a backbone's output biases)",
  schema: {
    type: 'object',
    properties: {
      type: { const: 'slash-project' },
      task: { type: 'string', minLength: 1 },
      layers: { type: 'integer', minimum: 0 },
      hidden: { type: 'integer', minimum: 0 },
      shifts: { type: 'string', minLength: 1 },
      device: { enum: ['cpu', 'cuda'], default: 'cpu' },
    },
    required: ['type', 'task'],
    additionalProperties: false,
  },
  outputs: (config) => (config.shifts ? [config.shifts] : []),
  async run(config, ctx) {
    ctx.progress(0, 'loading the task');
    const { kind, shift } = loadTask(config.task);
    for (const key of ['layers', 'hidden'] as const) {
      if (config[key] !== undefined && config[key] !== shift[key]) {
        throw new FrugalError('E_CONFIG', `/${key}: the backbone has ${config[key]} but the task ${config.task} was trained for ${shift[key]}`);
      }
    }
    if (config.device === 'cuda') shift.setZ(shift.z.to('cuda'));
    ctx.progress(0.5, 'projecting');
    const t = await shift.shiftsAsync();
    const shifts = t.device === 'cpu' ? t : t.to('cpu');
    if (config.shifts) {
      ctx.writeFile(config.shifts, encodeSafetensors({ shifts }, { task: config.task, seed: shift.seed.toString(), dist: shift.dist }));
    }
    ctx.progress(1);
    const rows = Array.from({ length: shift.layers }, (_, l) => Array.from(shifts.data.subarray(l * shift.hidden, (l + 1) * shift.hidden)));
    return { kind, layers: shift.layers, hidden: shift.hidden, dim: shift.dim, seed: shift.seed.toString(), dist: shift.dist, shifts: rows };
  },
};
