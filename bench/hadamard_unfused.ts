// EGE-UNet's GHPA and GAB, forward and backward, composed from the separate
// featureMap ops: what a user building the modules from Frugal's primitives would
// write (scripts/reference/egeunet.py is the math). Every op is its own native call
// with its own freshly allocated output; chunk, concat and the sums of gradients
// are plain JS typed-array copies and loops; the GELUs are the convs' `gelu`
// option. The bench ('hadamard') times these beside the fused hadamard.ghpa/gab,
// and test/hadamard_unfused.test.ts checks them against it (which cross-checks both).
import { Tensor, featureMap, type ModuleParams } from '../lib';

/**
 * Runs one step of a composition: `label` names its kind ('channelNorm', 'conv 1×1',
 * 'js copies', ...). The default just calls `fn`; the bench passes a timer to see
 * where the time goes.
 */
export type Stage = <T>(label: string, fn: () => T) => T;
const direct: Stage = (_label, fn) => fn();

// ---- chunk / concat / sums over the channel axis of NCHW maps (plain JS) --------

/** Channels [from, from + n) of t [B, C, H, W] as a new [B, n, H, W] (torch.chunk's piece, copied). */
export function channelSlice(t: Tensor, from: number, n: number): Tensor {
  const [B, C, H, W] = t.shape;
  const P = H * W, src = t.data, out = new Float32Array(B * n * P);
  for (let b = 0; b < B; b++) out.set(src.subarray((b * C + from) * P, (b * C + from + n) * P), b * n * P);
  return Tensor.from(out, [B, n, H, W]);
}

/** The maps concatenated along the channels (torch.cat(parts, dim=1)). */
export function channelConcat(parts: Tensor[]): Tensor {
  const [B, , H, W] = parts[0].shape;
  const P = H * W, C = parts.reduce((s, p) => s + p.shape[1], 0), out = new Float32Array(B * C * P);
  for (let b = 0; b < B; b++) {
    let at = b * C * P;
    for (const p of parts) {
      const n = p.shape[1] * P;
      out.set(p.data.subarray(b * n, (b + 1) * n), at);
      at += n;
    }
  }
  return Tensor.from(out, [B, C, H, W]);
}

/** Splits t along the channels into pieces of the given sizes. */
function channelSplit(t: Tensor, sizes: number[]): Tensor[] {
  let from = 0;
  return sizes.map((n) => {
    const s = channelSlice(t, from, n);
    from += n;
    return s;
  });
}

/** acc += t, elementwise (a plain loop). */
function addInto(acc: Float32Array, t: Float32Array): void {
  for (let i = 0; i < acc.length; i++) acc[i] += t[i];
}

// ---- GHPA ---------------------------------------------------------------------------

/** GHPA's three attention maps and what their backward needs. */
export interface UnfusedGhpaMaps {
  /** [1, c, H, W]. */
  xy: Tensor;
  /** [c, H]: rows, broadcast over w. */
  zx: Tensor;
  /** [c, W]: columns, broadcast over h. */
  zy: Tensor;
  /** Per map: the resized parameters, the depthwise conv's pre-GELU and its GELU output. */
  inner: Record<'xy' | 'zx' | 'zy', { r: Tensor; pre: Tensor; g: Tensor }>;
}

// One axis map: params [1, 1, c, 8] resized to (c, L), as Conv1d input [1, c, L]:
// depthwise k 3 with GELU, pointwise: [c, L].
function axisMap(params: ModuleParams, axis: 'zx' | 'zy', L: number) {
  const p = params[`params_${axis}`];
  const c = p.shape[2];
  const r = featureMap.resize({ x: p, size: [c, L] }).y.reshape([1, c, L]);
  const dw = featureMap.depthwiseConv1d({ x: r, weight: params[`conv_${axis}.0.weight`], bias: params[`conv_${axis}.0.bias`], gelu: true });
  const m = featureMap.conv1d({ x: dw.y, weight: params[`conv_${axis}.2.weight`], bias: params[`conv_${axis}.2.bias`] }).y;
  return { map: m.reshape([c, L]), inner: { r, pre: dw.pre!, g: dw.y } };
}

/** GHPA's maps for an H × W feature map: resize → depthwise 3 (GELU) → 1×1, three times. */
export function ghpaMapsUnfused(params: ModuleParams, H: number, W: number): UnfusedGhpaMaps {
  const r = featureMap.resize({ x: params.params_xy, size: [H, W] }).y;
  const dw = featureMap.depthwiseConv2d({ x: r, weight: params['conv_xy.0.weight'], bias: params['conv_xy.0.bias'], gelu: true });
  const xy = featureMap.conv2d({ x: dw.y, weight: params['conv_xy.2.weight'], bias: params['conv_xy.2.bias'] }).y;
  const zx = axisMap(params, 'zx', H), zy = axisMap(params, 'zy', W);
  return { xy, zx: zx.map, zy: zy.map, inner: { xy: { r, pre: dw.pre!, g: dw.y }, zx: zx.inner, zy: zy.inner } };
}

/** What the unfused GHPA forward keeps for its backward. */
export interface UnfusedGhpaSaved {
  maps: UnfusedGhpaMaps;
  n1: { y: Tensor; mean: Tensor; rstd: Tensor };
  groups: Tensor[];            // LN₁'s output, chunked
  t: { y: Tensor; pre: Tensor };  // group 4's 1×1 + GELU
  u: Tensor;                   // the concat
  n2: { y: Tensor; mean: Tensor; rstd: Tensor };
  l: { y: Tensor; pre: Tensor };  // ldw's depthwise 3×3 + GELU
}

/**
 * GHPA forward from the featureMap ops: LN₁, chunk, three Hadamard products and the
 * depthwise branch, cat, LN₂, dw 3×3 + GELU, 1×1. `maps` (from {@link ghpaMapsUnfused})
 * skips the maps, as an inference forward with precomputed maps.
 */
export function ghpaUnfused(x: Tensor, params: ModuleParams, maps?: UnfusedGhpaMaps, st: Stage = direct): { y: Tensor; saved: UnfusedGhpaSaved } {
  const [, C, H, W] = x.shape;
  const c = C / 4;
  const m = maps ?? st('maps', () => ghpaMapsUnfused(params, H, W));
  const n1 = st('channelNorm', () => featureMap.channelNorm({ x, weight: params['norm1.weight'], bias: params['norm1.bias'] }));
  const groups = st('js copies', () => channelSplit(n1.y, [c, c, c, c]));
  const x1 = st('hadamard', () => featureMap.hadamard({ x: groups[0], map: m.xy, broadcast: 'plane' }).y);
  const x2 = st('hadamard', () => featureMap.hadamard({ x: groups[1], map: m.zx, broadcast: 'rows' }).y);
  const x3 = st('hadamard', () => featureMap.hadamard({ x: groups[2], map: m.zy, broadcast: 'columns' }).y);
  const t = st('conv 1×1', () => featureMap.conv2d({ x: groups[3], weight: params['dw.0.weight'], bias: params['dw.0.bias'], gelu: true }));
  const x4 = st('depthwise 3×3', () => featureMap.depthwiseConv2d({ x: t.y, weight: params['dw.2.weight'], bias: params['dw.2.bias'] }).y);
  const u = st('js copies', () => channelConcat([x1, x2, x3, x4]));
  const n2 = st('channelNorm', () => featureMap.channelNorm({ x: u, weight: params['norm2.weight'], bias: params['norm2.bias'] }));
  const l = st('depthwise 3×3', () => featureMap.depthwiseConv2d({ x: n2.y, weight: params['ldw.0.weight'], bias: params['ldw.0.bias'], gelu: true }));
  const y = st('conv 1×1', () => featureMap.conv2d({ x: l.y, weight: params['ldw.2.weight'], bias: params['ldw.2.bias'] }).y);
  return { y, saved: { maps: m, n1, groups, t: { y: t.y, pre: t.pre! }, u, n2, l: { y: l.y, pre: l.pre! } } };
}

// Backward of one axis map: dmap [c, L] → the grads of params_<axis> and its two convs.
function axisMapBackward(params: ModuleParams, axis: 'zx' | 'zy', inner: UnfusedGhpaMaps['inner']['zx'], dmap: Tensor, d: ModuleParams): void {
  const [c, L] = dmap.shape;
  const p = params[`params_${axis}`];
  const pw = featureMap.conv1dBackward({ x: inner.g, weight: params[`conv_${axis}.2.weight`], dy: dmap.reshape([1, c, L]) });
  const dw = featureMap.depthwiseConv1dBackward({ x: inner.r, weight: params[`conv_${axis}.0.weight`], gelu: true, pre: inner.pre, dy: pw.dx });
  d[`params_${axis}`] = featureMap.resizeBackward({ dy: dw.dx.reshape([1, 1, c, L]), inputSize: [p.shape[2], p.shape[3]] }).dx;
  d[`conv_${axis}.0.weight`] = dw.dweight, d[`conv_${axis}.0.bias`] = dw.dbias;
  d[`conv_${axis}.2.weight`] = pw.dweight, d[`conv_${axis}.2.bias`] = pw.dbias;
}

// The maps' backward: 1×1 ← depthwise 3×3 (GELU) ← resize from ∂m_xy; the two axis maps likewise.
function mapsBackward(params: ModuleParams, maps: UnfusedGhpaMaps, dxy: Tensor, dzx: Tensor, dzy: Tensor, d: ModuleParams): void {
  const xy = maps.inner.xy;
  const pw = featureMap.conv2dBackward({ x: xy.g, weight: params['conv_xy.2.weight'], dy: dxy });
  const dw = featureMap.depthwiseConv2dBackward({ x: xy.r, weight: params['conv_xy.0.weight'], gelu: true, pre: xy.pre, dy: pw.dx });
  const pxy = params.params_xy;
  d.params_xy = featureMap.resizeBackward({ dy: dw.dx, inputSize: [pxy.shape[2], pxy.shape[3]] }).dx;
  d['conv_xy.0.weight'] = dw.dweight, d['conv_xy.0.bias'] = dw.dbias;
  d['conv_xy.2.weight'] = pw.dweight, d['conv_xy.2.bias'] = pw.dbias;
  axisMapBackward(params, 'zx', maps.inner.zx, dzx, d);
  axisMapBackward(params, 'zy', maps.inner.zy, dzy, d);
}

/** GHPA backward from the featureMap backwards: ∂x and every parameter's gradient by state_dict key. */
export function ghpaBackwardUnfused(x: Tensor, params: ModuleParams, saved: UnfusedGhpaSaved, dy: Tensor, st: Stage = direct):
  { dx: Tensor; dParams: ModuleParams } {
  const c = x.shape[1] / 4;
  const s = saved, d: ModuleParams = {};
  const out = st('conv 1×1', () => featureMap.conv2dBackward({ x: s.l.y, weight: params['ldw.2.weight'], dy }));
  d['ldw.2.weight'] = out.dweight, d['ldw.2.bias'] = out.dbias;
  const ldw = st('depthwise 3×3', () => featureMap.depthwiseConv2dBackward({ x: s.n2.y, weight: params['ldw.0.weight'], gelu: true, pre: s.l.pre,
    dy: out.dx }));
  d['ldw.0.weight'] = ldw.dweight, d['ldw.0.bias'] = ldw.dbias;
  const n2 = st('channelNorm', () => featureMap.channelNormBackward({ dy: ldw.dx, x: s.u, weight: params['norm2.weight'], mean: s.n2.mean,
    rstd: s.n2.rstd }));
  d['norm2.weight'] = n2.dweight, d['norm2.bias'] = n2.dbias;
  const du = st('js copies', () => channelSplit(n2.dx, [c, c, c, c]));
  const h1 = st('hadamard', () => featureMap.hadamardBackward({ x: s.groups[0], map: s.maps.xy, broadcast: 'plane', dy: du[0] }));
  const h2 = st('hadamard', () => featureMap.hadamardBackward({ x: s.groups[1], map: s.maps.zx, broadcast: 'rows', dy: du[1] }));
  const h3 = st('hadamard', () => featureMap.hadamardBackward({ x: s.groups[2], map: s.maps.zy, broadcast: 'columns', dy: du[2] }));
  const dw2 = st('depthwise 3×3', () => featureMap.depthwiseConv2dBackward({ x: s.t.y, weight: params['dw.2.weight'], dy: du[3] }));
  d['dw.2.weight'] = dw2.dweight, d['dw.2.bias'] = dw2.dbias;
  const dw0 = st('conv 1×1', () => featureMap.conv2dBackward({ x: s.groups[3], weight: params['dw.0.weight'], gelu: true, pre: s.t.pre, dy: dw2.dx }));
  d['dw.0.weight'] = dw0.dweight, d['dw.0.bias'] = dw0.dbias;
  st('maps', () => mapsBackward(params, s.maps, h1.dmap, h2.dmap, h3.dmap, d));
  const dn1 = st('js copies', () => channelConcat([h1.dx, h2.dx, h3.dx, dw0.dx]));
  const n1 = st('channelNorm', () => featureMap.channelNormBackward({ dy: dn1, x, weight: params['norm1.weight'], mean: s.n1.mean, rstd: s.n1.rstd }));
  d['norm1.weight'] = n1.dweight, d['norm1.bias'] = n1.dbias;
  return { dx: n1.dx, dParams: d };
}

// ---- GAB ----------------------------------------------------------------------------

/** The four branches' dilations (EGE-UNet's d_list); padding = dilation keeps the size. */
export const GAB_DILATIONS = [1, 2, 5, 7] as const;

/** What the unfused GAB forward keeps for its backward. */
export interface UnfusedGabSaved {
  branches: Array<{ z: Tensor; n: { y: Tensor; mean: Tensor; rstd: Tensor } }>;
  cat: Tensor;
  tn: { y: Tensor; mean: Tensor; rstd: Tensor };
}

/**
 * GAB forward from the featureMap ops: 1×1 of xh, resize to xl's size, chunk both,
 * four branches cat(xh_k, xl_k, mask) → LN → dilated dw 3×3, cat, LN, 1×1.
 */
export function gabUnfused(xh: Tensor, xl: Tensor, mask: Tensor, params: ModuleParams, st: Stage = direct): { y: Tensor; saved: UnfusedGabSaved } {
  const [, Cl, H, W] = xl.shape;
  const q = Cl / 4;
  const p = st('conv 1×1', () => featureMap.conv2d({ x: xh, weight: params['pre_project.weight'], bias: params['pre_project.bias'] }).y);
  const r = st('resize', () => featureMap.resize({ x: p, size: [H, W] }).y);
  const [rs, ls] = st('js copies', () => [channelSplit(r, [q, q, q, q]), channelSplit(xl, [q, q, q, q])]);
  const branches = GAB_DILATIONS.map((dilation, k) => {
    const z = st('js copies', () => channelConcat([rs[k], ls[k], mask]));
    const n = st('channelNorm', () => featureMap.channelNorm({ x: z, weight: params[`g.${k}.0.weight`], bias: params[`g.${k}.0.bias`] }));
    const o = st('depthwise 3×3', () => featureMap.depthwiseConv2d({ x: n.y, weight: params[`g.${k}.1.weight`], bias: params[`g.${k}.1.bias`],
      dilation, padding: dilation }).y);
    return { z, n, o };
  });
  const cat = st('js copies', () => channelConcat(branches.map((b) => b.o)));
  const tn = st('channelNorm', () => featureMap.channelNorm({ x: cat, weight: params['tail_conv.0.weight'], bias: params['tail_conv.0.bias'] }));
  const y = st('conv 1×1', () => featureMap.conv2d({ x: tn.y, weight: params['tail_conv.1.weight'], bias: params['tail_conv.1.bias'] }).y);
  return { y, saved: { branches: branches.map(({ z, n }) => ({ z, n })), cat, tn } };
}

/** GAB backward from the featureMap backwards: ∂xh, ∂xl, ∂mask (summed over the branches), parameter grads. */
export function gabBackwardUnfused(xh: Tensor, xl: Tensor, params: ModuleParams, saved: UnfusedGabSaved, dy: Tensor, st: Stage = direct):
  { dxh: Tensor; dxl: Tensor; dmask: Tensor; dParams: ModuleParams } {
  const [B, Cl, H, W] = xl.shape;
  const q = Cl / 4, gc = 2 * q + 1, P = H * W;
  const s = saved, d: ModuleParams = {};
  const tail = st('conv 1×1', () => featureMap.conv2dBackward({ x: s.tn.y, weight: params['tail_conv.1.weight'], dy }));
  d['tail_conv.1.weight'] = tail.dweight, d['tail_conv.1.bias'] = tail.dbias;
  const tn = st('channelNorm', () => featureMap.channelNormBackward({ dy: tail.dx, x: s.cat, weight: params['tail_conv.0.weight'], mean: s.tn.mean,
    rstd: s.tn.rstd }));
  d['tail_conv.0.weight'] = tn.dweight, d['tail_conv.0.bias'] = tn.dbias;
  const dos = st('js copies', () => channelSplit(tn.dx, [gc, gc, gc, gc]));
  const drs: Tensor[] = [], dls: Tensor[] = [];
  const dmask = new Float32Array(B * P);
  GAB_DILATIONS.forEach((dilation, k) => {
    const b = s.branches[k];
    const conv = st('depthwise 3×3', () => featureMap.depthwiseConv2dBackward({ x: b.n.y, weight: params[`g.${k}.1.weight`], dilation,
      padding: dilation, dy: dos[k] }));
    d[`g.${k}.1.weight`] = conv.dweight, d[`g.${k}.1.bias`] = conv.dbias;
    const n = st('channelNorm', () => featureMap.channelNormBackward({ dy: conv.dx, x: b.z, weight: params[`g.${k}.0.weight`], mean: b.n.mean,
      rstd: b.n.rstd }));
    d[`g.${k}.0.weight`] = n.dweight, d[`g.${k}.0.bias`] = n.dbias;
    st('js copies', () => {
      const [dr, dl, dm] = channelSplit(n.dx, [q, q, 1]);
      drs.push(dr), dls.push(dl);
      addInto(dmask, dm.data);
    });
  });
  const dcat = st('js copies', () => channelConcat(drs));
  const dr = st('resize', () => featureMap.resizeBackward({ dy: dcat, inputSize: [xh.shape[2], xh.shape[3]] }).dx);
  const pre = st('conv 1×1', () => featureMap.conv2dBackward({ x: xh, weight: params['pre_project.weight'], dy: dr }));
  d['pre_project.weight'] = pre.dweight, d['pre_project.bias'] = pre.dbias;
  const dxl = st('js copies', () => channelConcat(dls));
  return { dxh: pre.dx, dxl, dmask: Tensor.from(dmask, [B, 1, H, W]), dParams: d };
}
