// A SLaSh / JR-WARP task on disk: z, the task's head, and what regenerates the
// projections (seed, dist, shape) in the safetensors metadata: a few KB per task.
import { FrugalError, describe } from '../errors';
import { loadSafetensors, saveSafetensors } from '../safetensors';
import type { Tensor } from '../tensor';
import type { ProjectionDist } from './ops';
import { isPlainObject } from '../validate';
import { ReparamPrompt, SharedLayerShift } from './shared_layer_shift';

const FORMAT = 'frugal.slash-task';
const VERSION = '1';

/** Which method a task was trained with. */
export type TaskKind = 'slash' | 'jr-warp';

/** A loaded task. */
export interface SlashTask {
  kind: TaskKind;
  /** A SharedLayerShift (kind 'slash') or ReparamPrompt (kind 'jr-warp') holding the task's z. */
  shift: SharedLayerShift;
  /** The head's tensors by name (as given to {@link saveTask}). */
  head: Record<string, Tensor>;
}

/**
 * Saves a task: z as tensor "z", each head tensor as "head.<name>", and the seed,
 * dist, layers, hidden and dim in the metadata (written atomically).
 * @throws FrugalError E_DTYPE (shift not a SharedLayerShift, head not an object of Tensors), and as
 *   {@link saveSafetensors} (E_DTYPE, E_RANGE, E_CONFIG for a file that cannot be written).
 * @example saveTask('sst2.safetensors', shift, { weight: headW, bias: headB });
 */
export function saveTask(file: string, shift: SharedLayerShift, head: Record<string, Tensor> = {}): void {
  if (!(shift instanceof SharedLayerShift)) {
    throw new FrugalError('E_DTYPE', 'shift: expected a SharedLayerShift or ReparamPrompt');
  }
  if (!isPlainObject(head)) {
    throw new FrugalError('E_DTYPE', `head: expected a plain object mapping names to Tensors, got ${describe(head)}`);
  }
  const tensors: Record<string, Tensor> = { z: shift.z };
  for (const [name, t] of Object.entries(head)) tensors[`head.${name}`] = t;
  saveSafetensors(file, tensors, {
    format: FORMAT,
    version: VERSION,
    kind: shift instanceof ReparamPrompt ? 'jr-warp' : 'slash',
    seed: shift.seed.toString(),
    dist: shift.dist,
    layers: String(shift.layers),
    hidden: String(shift.hidden),
    dim: String(shift.dim),
  });
}

function metaInt(meta: Record<string, string>, key: string, file: string): number {
  const v = meta[key];
  if (v === undefined || !/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new FrugalError('E_CONFIG', `${file}: metadata "${key}": expected a non-negative integer, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
  }
  return Number(v);
}

/**
 * Loads a task saved by {@link saveTask}: the module (on the CPU) with its z, and
 * the head. E_CONFIG names the file and the field when it is not a task.
 * @throws FrugalError E_CONFIG (not a task, a bad metadata field, z not [dim], an unreadable or
 *   malformed file), and as {@link loadSafetensors} (E_DTYPE for a bad file or a non-F32 tensor).
 */
export function loadTask(file: string): SlashTask {
  const { tensors, metadata: meta } = loadSafetensors(file);
  if (meta.format !== FORMAT) throw new FrugalError('E_CONFIG', `${file}: not a Frugal task (metadata "format" is ${JSON.stringify(meta.format ?? null)})`);
  if (meta.version !== VERSION) throw new FrugalError('E_CONFIG', `${file}: task format version ${JSON.stringify(meta.version)} is not supported (expected "${VERSION}")`);
  const kind = meta.kind;
  if (kind !== 'slash' && kind !== 'jr-warp') throw new FrugalError('E_CONFIG', `${file}: metadata "kind": expected "slash" or "jr-warp", got ${JSON.stringify(kind)}`);
  const dist = meta.dist;
  if (dist !== 'normal' && dist !== 'rademacher') throw new FrugalError('E_CONFIG', `${file}: metadata "dist": expected "normal" or "rademacher", got ${JSON.stringify(dist)}`);
  if (meta.seed === undefined || !/^\d+$/.test(meta.seed) || BigInt(meta.seed) >= 1n << 64n) {
    throw new FrugalError('E_CONFIG', `${file}: metadata "seed": expected an integer below 2^64, got ${JSON.stringify(meta.seed)}`);
  }
  const z = tensors.z;
  if (!z) throw new FrugalError('E_CONFIG', `${file}: no tensor "z"`);
  const options = {
    layers: metaInt(meta, 'layers', file),
    hidden: metaInt(meta, 'hidden', file),
    dim: metaInt(meta, 'dim', file),
    seed: BigInt(meta.seed),
    dist: dist as ProjectionDist,
  };
  if (z.shape.length !== 1 || z.shape[0] !== options.dim) {
    throw new FrugalError('E_CONFIG', `${file}: tensor "z" has shape [${z.shape.join(', ')}], the metadata says dim ${options.dim}`);
  }
  const shift = kind === 'jr-warp' ? new ReparamPrompt({ ...options, z }) : new SharedLayerShift({ ...options, z });
  const head: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (name.startsWith('head.')) head[name.slice(5)] = t;
  }
  return { kind, shift, head };
}
