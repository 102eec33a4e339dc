// The modules' parameters as the addon lays them out: one flat buffer per module,
// each state_dict key a slice of it. The keys and shapes come from the C++ lists
// (native/include/frugal/hadamard.h), so they are written once.
import { native } from '../binding';
import { callNative } from '../call';
import { FrugalError, describe } from '../errors';
import { Tensor, checkFinite, checkTensor, zeros, type DeviceName, type Memory } from '../tensor';
import { checkInt, isPlainObject, shapeText } from '../validate';

/** One tensor of a module: its state_dict key, PyTorch shape and place in the flat buffer. */
export interface LayoutEntry {
  key: string;
  shape: number[];
  offset: number;
  size: number;
}

/** A module's tensors in buffer order, and the buffer's length. */
export interface ModuleLayout {
  entries: readonly LayoutEntry[];
  floats: number;
}

/** A module's parameters (or their gradients) by state_dict key. */
export type ModuleParams = Record<string, Tensor>;

interface LayoutNative {
  ghpaLayout(args: { C: number; O: number }): LayoutEntry[];
  gabLayout(args: { Ch: number; Cl: number }): LayoutEntry[];
}

const cache = new Map<string, ModuleLayout>();

function cached(id: string, read: () => LayoutEntry[]): ModuleLayout {
  let layout = cache.get(id);
  if (!layout) {
    const entries = Object.freeze(callNative(read).map((e) => Object.freeze({ ...e, shape: Object.freeze(e.shape) as number[] })));
    const last = entries[entries.length - 1];
    layout = Object.freeze({ entries, floats: last.offset + last.size });
    cache.set(id, layout);
  }
  return layout;
}

/** Checks a channel count that the four channel groups split evenly. */
function checkQuarterChannels(value: unknown, name: string): number {
  const c = checkInt(value, name, 4);
  if (c % 4 !== 0) throw new FrugalError('E_SHAPE', `${name}: expected a multiple of 4 (four channel groups), got ${c}`);
  return c;
}

/** GHPA(dimIn → dimOut)'s tensors. @throws FrugalError E_SHAPE / E_RANGE (bad channel counts). */
export function ghpaLayout(dimIn: number, dimOut: number): ModuleLayout {
  const C = checkQuarterChannels(dimIn, 'dimIn');
  const O = checkInt(dimOut, 'dimOut', 1);
  return cached(`ghpa ${C} ${O}`, () => native<LayoutNative>().ghpaLayout({ C, O }));
}

/** GAB(dimXh, dimXl)'s tensors. @throws FrugalError E_SHAPE / E_RANGE (bad channel counts). */
export function gabLayout(dimXh: number, dimXl: number): ModuleLayout {
  const Ch = checkInt(dimXh, 'dimXh', 1);
  const Cl = checkQuarterChannels(dimXl, 'dimXl');
  return cached(`gab ${Ch} ${Cl}`, () => native<LayoutNative>().gabLayout({ Ch, Cl }));
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The flat buffer of `params` (every key of the layout, no other, each of its
 * shape, finite, on one device) for the addon: a copy unless `params` are views
 * of one such buffer already ({@link viewsOf}). `scan` false skips the finiteness scan
 * (callers whose parameters are their own, like the network's modules).
 * @throws FrugalError E_CONFIG (a missing or unknown key), E_DTYPE (not Tensors),
 *   E_SHAPE (a wrong shape), E_RANGE (NaN or Inf), E_DEVICE (mixed devices).
 */
export function packParams(layout: ModuleLayout, params: unknown, name: string, scan = true): { memory: Memory; device: DeviceName } {
  if (!isPlainObject(params)) throw new FrugalError('E_DTYPE', `${name}: expected a record of Tensors keyed by state_dict names, got ${describe(params)}`);
  const known = new Set(layout.entries.map((e) => e.key));
  for (const key of Object.keys(params)) {
    if (!known.has(key)) throw new FrugalError('E_CONFIG', `${name}: unknown parameter '${key}' (expected the keys ${[...known].join(', ')})`);
  }
  const tensors = layout.entries.map((e) => {
    if (!(e.key in params)) throw new FrugalError('E_CONFIG', `${name}: missing parameter '${e.key}' (shape ${shapeText(e.shape)})`);
    const t = checkTensor(params[e.key], `${name}['${e.key}']`);
    if (!sameShape(t.shape, e.shape)) {
      throw new FrugalError('E_SHAPE', `${name}['${e.key}']: expected shape ${shapeText(e.shape)}, got ${shapeText(t.shape)}`);
    }
    if (scan) checkFinite(t, `${name}['${e.key}']`);
    return t;
  });
  const device = tensors[0].device;
  for (let i = 1; i < tensors.length; i++) {
    if (tensors[i].device !== device) {
      throw new FrugalError('E_DEVICE', `${name}['${layout.entries[i].key}']: expected a tensor on '${device}' like '${layout.entries[0].key}', got '${tensors[i].device}'`);
    }
  }
  const flat = flatOf.get(params);
  if (flat && flat.layout === layout && tensors.every((t, i) => t === flat.views[layout.entries[i].key])) return { memory: flat.buffer.memory, device };
  const host = tensors.map((t) => (device === 'cpu' ? t.data : t.to('cpu').data));
  const buffer = zeros([layout.floats]);
  layout.entries.forEach((e, i) => buffer.data.set(host[i], e.offset));
  return { memory: (device === 'cpu' ? buffer : buffer.to(device)).memory, device };
}

// Records made by viewsOf, with the flat buffer under them.
const flatOf = new WeakMap<object, { layout: ModuleLayout; buffer: Tensor; views: ModuleParams }>();

/**
 * The record of views, one per key, into a host flat buffer laid out by `layout`
 * (a new zero one when none is given): they share its memory, and passing the
 * record back to an op skips the packing copy.
 */
export function viewsOf(layout: ModuleLayout, buffer: Tensor = zeros([layout.floats])): ModuleParams {
  const views: ModuleParams = {};
  for (const e of layout.entries) views[e.key] = Tensor.from(buffer.data.subarray(e.offset, e.offset + e.size), [...e.shape]);
  flatOf.set(views, { layout, buffer, views });
  return views;
}

/** A flat buffer as a record by key: host views, or separate device tensors for a CUDA buffer. */
export function unpack(layout: ModuleLayout, flat: Tensor): ModuleParams {
  if (flat.device === 'cpu') return viewsOf(layout, flat);
  const host = viewsOf(layout, flat.to('cpu'));
  return Object.fromEntries(Object.entries(host).map(([k, t]) => [k, t.to(flat.device)]));
}
