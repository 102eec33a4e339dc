// The hostile sweep: every export called with valid arguments in which one
// argument (or one option) is replaced by a hostile value of the wrong kind. Each
// case must end in a FrugalError: no crash, no hang, no other error, and no bad
// value silently accepted. `npm test` runs every case, batched per export in child
// processes (test/hostile.test.ts); `node scripts/hostile-sweep.js` runs each case
// in a process of its own and prints the tally.
import * as lib from '../../lib';

const { Tensor, dp, random, slash } = lib;
type Value = unknown;

/** What an argument is, which decides the values that must be refused in its place. */
type Kind = 'tensor' | 'float' | 'size' | 'bool' | 'seed' | 'enum' | 'options' | 'floats' | 'offsets' | 'ints' | 'shape' | 'record';

/**
 * One argument: its kind and a valid value; for options, its keys (each its own
 * argument); `optional` when it may be omitted; `accepts`, hostile values of its
 * kind that are valid here (a σ of 1e300 is a legal, useless noise multiplier).
 */
interface Arg {
  kind: Kind;
  valid: () => Value;
  keys?: Record<string, Arg>;
  optional?: boolean;
  accepts?: Value[];
}

/** One export: how to call it, and its arguments. */
interface Entry {
  name: string;
  call: (...args: Value[]) => unknown;
  args: Arg[];
}

const t2 = () => Tensor.from([1, 2, 3, 4], [2, 2]);
const detached = () => {
  const f = new Float32Array(4);
  const t = Tensor.from(f, [2, 2]);
  structuredClone(f.buffer, { transfer: [f.buffer] });
  return t;
};

// Values that are never valid for an argument of each kind.
const common = [undefined, Symbol('s'), () => 1, new Map(), new Date(0)];
const BAD: Record<Kind, () => Value[]> = {
  tensor: () => [null, 3, 'x', {}, [], [1, 2], new Float32Array(4), detached(), ...common],
  float: () => [NaN, Infinity, -Infinity, 1e300, -1e39, '1', null, {}, [], 1n, ...common],
  size: () => [-1, 1.5, NaN, Infinity, 2 ** 53, '3', null, {}, [], 3n, ...common],
  bool: () => [1, 0, 'true', null, {}, [], ...common],
  seed: () => [-1, 1.5, NaN, 2n ** 64n, -1n, 'x', null, {}, ...common],
  enum: () => ['bogus', '', 1, null, {}, ...common],
  options: () => [3, 'x', [], t2(), new Float32Array(2), null, { bogusOption: 1 }, ...common],
  floats: () => [null, 'x', {}, [NaN], [1e300], ['1'], new Float64Array(2), ...common],
  offsets: () => [null, 'x', {}, [0.5, 1], [1, 2], [0, -1], new Float32Array([0, 2]), ...common],
  // Path lengths and keep positions: non-negative integers.
  ints: () => [null, 'x', {}, [0.5], [-1], [NaN], ['1'], new Float32Array([1]), ...common],
  shape: () => [null, 'x', {}, [-1], [1.5], [NaN], [2 ** 53], [2, 2, 2, 2, 2, 2, 2], new Float32Array([2]), ...common],
  record: () => [3, 'x', null, [], new Map([['w', t2()]]), { w: 3 }, ...common],
};

const tensor = (make: () => Value): Arg => ({ kind: 'tensor', valid: make });
const float = (v: number): Arg => ({ kind: 'float', valid: () => v });
const size = (v: number): Arg => ({ kind: 'size', valid: () => v });
const bool = (v: boolean): Arg => ({ kind: 'bool', valid: () => v });
const seed: Arg = { kind: 'seed', valid: () => 7 };
const oneOf = (v: string): Arg => ({ kind: 'enum', valid: () => v });
// An options object: the valid call passes `required` keys; each key (also the
// optional ones) is swept by itself.
function options(keys: Record<string, Arg>, required: string[] = []): Arg {
  return { kind: 'options', keys, optional: required.length === 0, valid: () => Object.fromEntries(required.map((k) => [k, keys[k].valid()])) };
}

const v2 = () => Tensor.from([1, 1], [2]);
const rows = () => Tensor.from([1, 2, 3, 4, 5, 6], [3, 2]);
const packed = () => Tensor.from(new Float32Array(6), [3, 2]);
const block = {
  a: tensor(() => Tensor.from(new Float32Array(6), [2, 3])),
  Wo: tensor(() => Tensor.from(new Float32Array(6), [2, 3])),
  c: tensor(v2),
  h: tensor(() => Tensor.from(new Float32Array(4), [2, 2])),
  shift: tensor(v2),
  gamma: tensor(v2),
  beta: tensor(v2),
  eps: float(1e-5),
};
// The offset takes a bigint like a seed.
const stream = { seed, sub: size(1), tag: size(2), offset: { kind: 'seed', valid: () => 0 } as Arg };
const huge = (a: Arg): Arg => ({ ...a, accepts: [1e300] });
// A block mask, so that every mask key (block too) is part of the valid call.
const gradMask = { p: float(0.5), granularity: oneOf('block'), block: { kind: 'shape', valid: () => [1, 2] } as Arg, rescale: oneOf('none'), seed, step: size(1), layer: size(2) };
const GRAD_MASK_REQUIRED = ['p', 'granularity', 'block', 'seed', 'step', 'layer'];
const phase = { q: float(0.1), sigma: huge(float(1)), steps: size(10) };
// One FFN of d = 2, p = K = 3, and its k-means options.
const m32 = () => Tensor.from([1, 2, 3, 4, 5, 6], [3, 2]);
const m23 = () => Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
const v3 = () => Tensor.from([1, 2, 3], [3]);
const clustering = { init: oneOf('k-means++'), nInit: size(1), maxIter: size(5), tol: huge(float(1e-4)), seed };
const ffn = { x: tensor(t2), W1f: tensor(m32), b1f: tensor(v3), W2f: tensor(m23), counts: tensor(v3), activation: oneOf('gelu') };

// Two paths of lengths 1 and 2, all kept; q, k, v of one head of 2.
const offsets = (v: number[]): Arg => ({ kind: 'offsets', valid: () => v });
const ints = (v: number[]): Arg => ({ kind: 'ints', valid: () => v });
const layout = { lengthsOffsets: offsets([0, 1, 3]), keep: ints([0, 1, 0]), offsets: offsets([0, 1, 3]) };
const LAYOUT = ['lengthsOffsets', 'keep', 'offsets'];
const heads3 = () => Tensor.from(new Float32Array(6), [3, 1, 2]);
const qkv = { q: tensor(heads3), k: tensor(heads3), v: tensor(heads3), offsets: offsets([0, 1, 3]), scale: float(0.5) };
const attentionSaved = { out: tensor(heads3), lse: tensor(() => Tensor.from(new Float32Array(3), [3, 1])), dout: tensor(heads3) };

// Feature maps: x [1, 2, 2, 2] (and [1, 2, 4] for the 1-D forms) through every featureMap op.
const fmap = (shape: number[]) => () => Tensor.from(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5), shape);
const m4 = fmap([1, 2, 2, 2]), m3 = fmap([1, 2, 4]), v2b = fmap([2]);
// Hadamard modules at their smallest: GHPA(4 → 4) and GAB(4, 4) on 3×3 maps.
const ghpaX = fmap([1, 4, 3, 3]);
const ghpaParams = () => ({ ...new lib.Ghpa({ dimIn: 4, dimOut: 4 }).params });
const ghpaMapsOf = () => lib.hadamard.ghpaMaps({ params: ghpaParams(), H: 3, W: 3 });
const ghpaSaved = () => lib.hadamard.ghpa({ x: ghpaX(), params: ghpaParams() }).saved as never;
const gabParams = () => ({ ...new lib.Gab({ dimXh: 4, dimXl: 4 }).params });
const gabMaps = { xh: tensor(fmap([1, 4, 2, 2])), xl: tensor(fmap([1, 4, 3, 3])), mask: tensor(fmap([1, 1, 3, 3])) };
const gabSaved = () => lib.hadamard.gab({ xh: fmap([1, 4, 2, 2])(), xl: fmap([1, 4, 3, 3])(), mask: fmap([1, 1, 3, 3])(), params: gabParams() }).saved as never;
let net: lib.EgeUNet | undefined;
const tinyNet = () => (net ??= new lib.EgeUNet({ channels: [4, 4, 4, 4, 4, 4] }));
const record = (make: () => Value): Arg => ({ kind: 'record', valid: make });
const norm = { x: tensor(m4), weight: tensor(v2b), bias: tensor(v2b), eps: float(1e-6) };
const normSaved = (stats: number[]) => ({ dy: tensor(m4), x: tensor(m4), weight: tensor(v2b), mean: tensor(fmap(stats)), rstd: tensor(fmap(stats)) });
const dwConv = (x: () => Value, w: number[]) => ({ x: tensor(x), weight: tensor(fmap(w)), dilation: size(1), padding: size(1), gelu: bool(false) });
const dwBackward = (x: () => Value, w: number[]) => ({ ...dwConv(x, w), gelu: bool(true), dy: tensor(x), pre: tensor(x) });
const BACKWARD_REQUIRED = ['dy', 'x', 'weight', 'gelu', 'pre'];
const fm = lib.featureMap;

const ops: Entry[] = [
  { name: 'Tensor.from', call: (d, s) => Tensor.from(d as number[], s as number[]), args: [{ kind: 'floats', valid: () => [1, 2] }, { kind: 'shape', valid: () => [2] }] },
  { name: 'zeros', call: (s, d) => lib.zeros(s as number[], d as 'cpu'), args: [{ kind: 'shape', valid: () => [2, 2] }, { ...oneOf('cpu'), optional: true }] },
  { name: 'matmul', call: (a, b, o) => lib.matmul(a as never, b as never, o as never), args: [tensor(t2), tensor(t2), options({
    transA: bool(false), transB: bool(false), alpha: float(1), beta: float(0), bias: tensor(v2), colScale: tensor(v2), residual: tensor(t2),
    activation: oneOf('none'), out: tensor(t2),
  })] },
  { name: 'gelu', call: (x, o) => lib.gelu(x as never, o as never), args: [tensor(t2), options({ out: tensor(t2) })] },
  { name: 'geluBackward', call: (x, dy, o) => lib.geluBackward(x as never, dy as never, o as never), args: [tensor(t2), tensor(t2), options({ out: tensor(t2) })] },
  { name: 'sigmoid', call: (x, o) => lib.sigmoid(x as never, o as never), args: [tensor(t2), options({ out: tensor(t2) })] },
  { name: 'sigmoidBackward', call: (y, dy, o) => lib.sigmoidBackward(y as never, dy as never, o as never), args: [tensor(t2), tensor(t2), options({ out: tensor(t2) })] },
  { name: 'softmax', call: (x, o) => lib.softmax(x as never, o as never), args: [tensor(t2), options({ out: tensor(t2) })] },
  { name: 'layerNorm', call: (x, g, b, o) => lib.layerNorm(x as never, g as never, b as never, o as never), args: [tensor(t2), tensor(v2), tensor(v2), options({ eps: float(1e-5), out: tensor(t2) })] },
  { name: 'layerNormBackward', call: (dy, x, g, s, o) => lib.layerNormBackward(dy as never, x as never, g as never, s as never, o as never),
    args: [tensor(t2), tensor(t2), tensor(v2), options({ mean: tensor(v2), rstd: tensor(v2) }, ['mean', 'rstd']), options({ out: tensor(t2) })] },
  { name: 'random.words', call: (n, o) => random.words(n as number, o as never), args: [size(5), options(stream, ['seed'])] },
  { name: 'random.uniform', call: (n, o) => random.uniform(n as number, o as never), args: [size(5), options(stream, ['seed'])] },
  { name: 'random.normal', call: (n, o) => random.normal(n as number, o as never), args: [size(5), options({ ...stream, scale: float(2) }, ['seed'])] },
  { name: 'random.rademacher', call: (n, o) => random.rademacher(n as number, o as never), args: [size(5), options({ ...stream, scale: float(2) }, ['seed'])] },
  { name: 'random.philox', call: (c, k) => random.philox(c as never, k as never), args: [{ kind: 'floats', valid: () => [0, 0, 0, 0] }, { kind: 'floats', valid: () => [0, 0] }] },
  { name: 'dp.chooseNormMethod', call: (a, b, c) => dp.chooseNormMethod(a as number, b as number, c as number), args: [size(4), size(3), size(2)] },
  { name: 'dp.linearGradNorms', call: (a, g, o) => dp.linearGradNorms(a as never, g as never, o as never), args: [tensor(rows), tensor(rows), options({ bias: bool(true), method: oneOf('auto') })] },
  { name: 'dp.clipFactors', call: (n, c, o) => dp.clipFactors(n as never, c as number, o as never), args: [{ kind: 'floats', valid: () => [1, 2] }, float(1), options({ rule: oneOf('abadi') })] },
  { name: 'dp.sampleNorms', call: (a, b) => dp.sampleNorms(a as never, b as never), args: [{ kind: 'tensor', valid: () => new Float32Array([1, 4]) }, { kind: 'tensor', valid: () => new Float32Array([0, 4]) }] },
  { name: 'dp.clippedLinearGrad', call: (a, g, f, o) => dp.clippedLinearGrad(a as never, g as never, f as never, o as never),
    args: [tensor(rows), tensor(rows), { kind: 'floats', valid: () => [1, 1, 1] }, options({ bias: bool(true) })] },
  { name: 'dp.clipRows', call: (r, c, o) => dp.clipRows(r as never, c as number, o as never), args: [tensor(rows), float(1), options({ rule: oneOf('abadi') })] },
  { name: 'dp.addNoise', call: (x, o) => dp.addNoise(x as never, o as never), args: [tensor(t2), options({ std: float(1), seed, step: size(1), offset: size(0) }, ['std', 'seed'])] },
  { name: 'dp.rdp.epsilon', call: (o) => dp.rdp.epsilon(o as never), args: [options({ ...phase, delta: float(1e-5) }, ['q', 'sigma', 'steps', 'delta'])] },
  { name: 'dp.rdp.noiseMultiplier', call: (o) => dp.rdp.noiseMultiplier(o as never),
    args: [options({ q: float(0.1), steps: size(10), targetEpsilon: huge(float(3)), delta: float(1e-5), tol: float(1e-3) }, ['q', 'steps', 'targetEpsilon', 'delta'])] },
  { name: 'dp.pld.epsilon', call: (o) => dp.pld.epsilon(o as never),
    args: [options({ ...phase, delta: float(1e-5), discretization: float(1e-2) }, ['q', 'sigma', 'steps', 'delta'])] },
  { name: 'dp.pld.delta', call: (o) => dp.pld.delta(o as never),
    args: [options({ ...phase, epsilon: huge(float(1)), discretization: float(1e-2) }, ['q', 'sigma', 'steps', 'epsilon'])] },
  { name: 'dp.pld.noiseMultiplier', call: (o) => dp.pld.noiseMultiplier(o as never),
    args: [options({ q: float(0.1), steps: size(10), targetEpsilon: huge(float(3)), delta: float(1e-5), tol: float(1e-2), discretization: float(1e-2) }, ['q', 'steps', 'targetEpsilon', 'delta'])] },
  { name: 'new PrivacyEngine', call: (o) => new lib.PrivacyEngine(o as never), args: [options({
    datasetSize: size(100), sampleRate: float(0.1), noiseMultiplier: huge(float(1)), maxGradNorm: float(1), delta: float(1e-5), epsilonBudget: huge(float(10)),
    accountant: oneOf('pld'), seed, secure: bool(false), rule: oneOf('abadi'), keepPerSampleBytes: size(0),
  }, ['datasetSize', 'sampleRate', 'noiseMultiplier', 'maxGradNorm', 'delta'])] },
  { name: 'slash.project', call: (o) => slash.project(o as never), args: [options({ z: tensor(v2), layers: size(2), hidden: size(3), seed, dist: oneOf('normal') }, ['z', 'layers', 'hidden', 'seed'])] },
  { name: 'slash.projectBackward', call: (o) => slash.projectBackward(o as never),
    args: [options({ g: tensor(() => Tensor.from(new Float32Array(6), [2, 3])), dim: size(4), seed, dist: oneOf('normal') }, ['g', 'dim', 'seed'])] },
  { name: 'slash.outputBlock', call: (o) => slash.outputBlock(o as never), args: [options(block, ['a', 'Wo', 'c', 'h', 'gamma', 'beta'])] },
  { name: 'slash.foldShift', call: (c, s) => slash.foldShift(c as never, s as never), args: [tensor(v2), tensor(v2)] },
  { name: 'slash.promptInsert', call: (x, p, o) => slash.promptInsert(x as never, p as never, o as never), args: [tensor(packed), tensor(v2), { kind: 'offsets', valid: () => [0, 1, 3] }] },
  { name: 'slash.promptAdd', call: (x, p, o) => slash.promptAdd(x as never, p as never, o as never), args: [tensor(packed), tensor(v2), { kind: 'offsets', valid: () => [0, 1, 3] }] },
  { name: 'graddrop.mask', call: (o) => lib.graddrop.mask(o as never),
    args: [options({ ...gradMask, shape: { kind: 'shape', valid: () => [2, 2] }, out: tensor(t2) }, ['shape', ...GRAD_MASK_REQUIRED])] },
  { name: 'graddrop.apply', call: (g, o) => lib.graddrop.apply(g as never, o as never), args: [tensor(t2), options(gradMask, GRAD_MASK_REQUIRED)] },
  { name: 'graddrop.linearGrad', call: (a, g, o) => lib.graddrop.linearGrad(a as never, g as never, o as never),
    args: [tensor(rows), tensor(rows), options({ ...gradMask, bias: bool(false), beta: float(0), out: { kind: 'record', valid: () => ({ weight: t2() }) } }, GRAD_MASK_REQUIRED)] },
  { name: 'new SharedLayerShift', call: (o) => new lib.SharedLayerShift(o as never),
    args: [options({ layers: size(2), hidden: size(3), dim: size(4), seed, dist: oneOf('normal'), z: tensor(() => Tensor.from(new Float32Array(4), [4])), device: oneOf('cpu') }, ['layers', 'hidden', 'seed'])] },
  { name: 'kmeans', call: (x, k, o) => lib.kmeans(x as never, k as number, o as never), args: [tensor(rows), size(2), options(clustering)] },
  { name: 'mlpFusion.ffn', call: (o) => lib.mlpFusion.ffn(o as never), args: [options({ ...ffn, b2: tensor(v2) }, ['x', 'W1f', 'b1f', 'W2f', 'b2'])] },
  { name: 'mlpFusion.ffnBackward', call: (o) => lib.mlpFusion.ffnBackward(o as never),
    args: [options({ ...ffn, pre: tensor(m23), dy: tensor(t2) }, ['x', 'W1f', 'b1f', 'W2f', 'pre', 'dy'])] },
  { name: 'mlpFusion.fuse', call: (o) => lib.mlpFusion.fuse(o as never),
    args: [options({ W1: tensor(m32), b1: tensor(v3), W2: tensor(m23), b2: tensor(v2), clusters: size(2), device: oneOf('cpu'), ...clustering },
      ['W1', 'b1', 'W2', 'b2', 'clusters'])] },
  { name: 'pathAttention.keep', call: (l, o) => lib.pathAttention.keep(l as never, o as never), args: [ints([3, 2]), options({ ratio: float(0.5), seed }, ['ratio'])] },
  { name: 'pathAttention.gather', call: (x, o) => lib.pathAttention.gather(x as never, o as never), args: [tensor(packed), options(layout, LAYOUT)] },
  { name: 'pathAttention.scatter', call: (x, o) => lib.pathAttention.scatter(x as never, o as never), args: [tensor(packed), options(layout, LAYOUT)] },
  { name: 'pathAttention.restore', call: (x, o) => lib.pathAttention.restore(x as never, o as never),
    args: [tensor(packed), options({ ...layout, maskToken: tensor(v2) }, [...LAYOUT, 'maskToken'])] },
  { name: 'pathAttention.restoreBackward', call: (x, o) => lib.pathAttention.restoreBackward(x as never, o as never), args: [tensor(packed), options(layout, LAYOUT)] },
  { name: 'pathAttention.attention', call: (o) => lib.pathAttention.attention(o as never), args: [options(qkv, ['q', 'k', 'v', 'offsets'])] },
  { name: 'pathAttention.attention (fused qkv)', call: (o) => lib.pathAttention.attention(o as never),
    args: [options({ qkv: tensor(() => Tensor.from(new Float32Array(18), [3, 6])), heads: size(1), offsets: offsets([0, 1, 3]), scale: float(0.5) }, ['qkv', 'heads', 'offsets'])] },
  { name: 'pathAttention.attentionBackward', call: (o) => lib.pathAttention.attentionBackward(o as never),
    args: [options({ ...qkv, ...attentionSaved }, ['q', 'k', 'v', 'offsets', 'out', 'lse', 'dout'])] },
  { name: 'featureMap.channelNorm', call: (o) => fm.channelNorm(o as never), args: [options({ ...norm, groups: size(2) }, ['x', 'weight', 'bias'])] },
  { name: 'featureMap.channelNormBackward', call: (o) => fm.channelNormBackward(o as never),
    args: [options({ ...normSaved([1, 2, 2]), groups: size(1) }, ['dy', 'x', 'weight', 'mean', 'rstd'])] },
  { name: 'featureMap.groupNorm', call: (o) => fm.groupNorm(o as never), args: [options({ ...norm, groups: size(2) }, ['x', 'groups', 'weight', 'bias'])] },
  { name: 'featureMap.groupNormBackward', call: (o) => fm.groupNormBackward(o as never),
    args: [options({ ...normSaved([1, 2]), groups: size(2) }, ['dy', 'x', 'groups', 'weight', 'mean', 'rstd'])] },
  { name: 'featureMap.depthwiseConv2d', call: (o) => fm.depthwiseConv2d(o as never), args: [options({ ...dwConv(m4, [2, 1, 3, 3]), bias: tensor(v2b) }, ['x', 'weight'])] },
  { name: 'featureMap.depthwiseConv2dBackward', call: (o) => fm.depthwiseConv2dBackward(o as never), args: [options(dwBackward(m4, [2, 1, 3, 3]), BACKWARD_REQUIRED)] },
  { name: 'featureMap.depthwiseConv1d', call: (o) => fm.depthwiseConv1d(o as never), args: [options({ ...dwConv(m3, [2, 1, 3]), bias: tensor(v2b) }, ['x', 'weight'])] },
  { name: 'featureMap.depthwiseConv1dBackward', call: (o) => fm.depthwiseConv1dBackward(o as never), args: [options(dwBackward(m3, [2, 1, 3]), BACKWARD_REQUIRED)] },
  { name: 'featureMap.conv2d', call: (o) => fm.conv2d(o as never),
    args: [options({ x: tensor(m4), weight: tensor(fmap([3, 2, 1, 1])), bias: tensor(v3), padding: size(0), gelu: bool(false) }, ['x', 'weight'])] },
  { name: 'featureMap.conv2dBackward', call: (o) => fm.conv2dBackward(o as never),
    args: [options({ x: tensor(m4), weight: tensor(fmap([3, 2, 1, 1])), padding: size(0), gelu: bool(true), dy: tensor(fmap([1, 3, 2, 2])), pre: tensor(fmap([1, 3, 2, 2])) },
      BACKWARD_REQUIRED)] },
  { name: 'featureMap.conv1d', call: (o) => fm.conv1d(o as never), args: [options({ x: tensor(m3), weight: tensor(fmap([3, 2, 1])), bias: tensor(v3), gelu: bool(false) }, ['x', 'weight'])] },
  { name: 'featureMap.conv1dBackward', call: (o) => fm.conv1dBackward(o as never),
    args: [options({ x: tensor(m3), weight: tensor(fmap([3, 2, 1])), gelu: bool(true), dy: tensor(fmap([1, 3, 4])), pre: tensor(fmap([1, 3, 4])) }, BACKWARD_REQUIRED)] },
  { name: 'featureMap.maxPool2d', call: (o) => fm.maxPool2d(o as never), args: [options({ x: tensor(m4) }, ['x'])] },
  { name: 'featureMap.maxPool2dBackward', call: (o) => fm.maxPool2dBackward(o as never), args: [options({ dy: tensor(fmap([1, 2, 1, 1])), x: tensor(m4) }, ['dy', 'x'])] },
  { name: 'featureMap.resize', call: (o) => fm.resize(o as never), args: [options({ x: tensor(m4), size: { kind: 'shape', valid: () => [3, 3] } }, ['x', 'size'])] },
  { name: 'featureMap.resizeBackward', call: (o) => fm.resizeBackward(o as never),
    args: [options({ dy: tensor(m4), inputSize: { kind: 'shape', valid: () => [3, 3] } }, ['dy', 'inputSize'])] },
  { name: 'featureMap.hadamard', call: (o) => fm.hadamard(o as never), args: [options({ x: tensor(m4), map: tensor(fmap([2, 2, 2])), broadcast: oneOf('plane') }, ['x', 'map'])] },
  { name: 'featureMap.hadamard (rows)', call: (o) => fm.hadamard(o as never), args: [options({ x: tensor(m4), map: tensor(fmap([2, 2])), broadcast: oneOf('rows') }, ['x', 'map', 'broadcast'])] },
  { name: 'featureMap.hadamardBackward', call: (o) => fm.hadamardBackward(o as never),
    args: [options({ dy: tensor(m4), x: tensor(m4), map: tensor(fmap([2, 2])), broadcast: oneOf('columns') }, ['dy', 'x', 'map', 'broadcast'])] },
  { name: 'hadamard.ghpa', call: (o) => lib.hadamard.ghpa(o as never),
    args: [options({ x: tensor(ghpaX), params: record(ghpaParams), maps: { ...record(ghpaMapsOf), optional: true }, train: bool(false), reuse: { ...record(ghpaSaved), optional: true } }, ['x', 'params'])] },
  { name: 'hadamard.ghpaBackward', call: (o) => lib.hadamard.ghpaBackward(o as never),
    args: [options({ x: tensor(ghpaX), params: record(ghpaParams), saved: record(ghpaSaved), dy: tensor(ghpaX) }, ['x', 'params', 'saved', 'dy'])] },
  { name: 'hadamard.ghpaMaps', call: (o) => lib.hadamard.ghpaMaps(o as never), args: [options({ params: record(ghpaParams), H: size(3), W: size(3) }, ['params', 'H', 'W'])] },
  { name: 'hadamard.gab', call: (o) => lib.hadamard.gab(o as never),
    args: [options({ ...gabMaps, params: record(gabParams), train: bool(true), reuse: { ...record(gabSaved), optional: true } }, ['xh', 'xl', 'mask', 'params'])] },
  { name: 'hadamard.gabBackward', call: (o) => lib.hadamard.gabBackward(o as never),
    args: [options({ ...gabMaps, params: record(gabParams), saved: record(gabSaved), dy: tensor(fmap([1, 4, 3, 3])) }, ['xh', 'xl', 'mask', 'params', 'saved', 'dy'])] },
  { name: 'Ghpa', call: (o) => new lib.Ghpa(o as never), args: [options({ dimIn: size(4), dimOut: size(4), seed }, ['dimIn', 'dimOut'])] },
  { name: 'Gab', call: (o) => new lib.Gab(o as never), args: [options({ dimXh: size(4), dimXl: size(4), seed }, ['dimXh', 'dimXl'])] },
  { name: 'EgeUNet', call: (o) => new lib.EgeUNet(o as never),
    args: [options({ channels: { kind: 'ints', valid: () => [4, 4, 4, 4, 4, 4] }, bridge: bool(true), deepSupervision: bool(true), inputChannels: size(3), seed })] },
  { name: 'EgeUNet.forward', call: (x, o) => tinyNet().forward(x as never, o as never),
    args: [tensor(fmap([1, 3, 32, 32])), options({ train: bool(false) })] },
  { name: 'setNumThreads', call: (n) => lib.setNumThreads(n as number), args: [size(2)] },
  { name: 'setIsa', call: (l) => lib.setIsa(l as never), args: [oneOf(lib.info().isa)] },
  { name: 'encodeSafetensors', call: (t, m) => lib.encodeSafetensors(t as never, m as never), args: [{ kind: 'record', valid: () => ({ w: t2() }) }, { kind: 'record', valid: () => ({ step: '1' }), optional: true }] },
  { name: 'decodeSafetensors', call: (b) => lib.decodeSafetensors(b as never), args: [{ kind: 'tensor', valid: () => lib.encodeSafetensors({ w: t2() }) }] },
];

/** One case of the sweep, named so a crash can be traced back to it. */
export interface Case {
  id: string;
  entry: string;
  async: boolean;
  run: () => unknown;
}

const ASYNC: Record<string, string> = {
  matmul: 'matmulAsync', gelu: 'geluAsync', geluBackward: 'geluBackwardAsync', sigmoid: 'sigmoidAsync',
  sigmoidBackward: 'sigmoidBackwardAsync', softmax: 'softmaxAsync', layerNorm: 'layerNormAsync',
  layerNormBackward: 'layerNormBackwardAsync', 'random.words': 'random.wordsAsync', 'random.uniform': 'random.uniformAsync',
  'random.normal': 'random.normalAsync', 'random.rademacher': 'random.rademacherAsync', 'dp.linearGradNorms': 'dp.linearGradNormsAsync',
  'dp.clipFactors': 'dp.clipFactorsAsync', 'dp.clippedLinearGrad': 'dp.clippedLinearGradAsync', 'dp.clipRows': 'dp.clipRowsAsync',
  'dp.addNoise': 'dp.addNoiseAsync', 'slash.project': 'slash.projectAsync', 'slash.projectBackward': 'slash.projectBackwardAsync',
  'slash.outputBlock': 'slash.outputBlockAsync', 'slash.foldShift': 'slash.foldShiftAsync', 'slash.promptInsert': 'slash.promptInsertAsync',
  'slash.promptAdd': 'slash.promptAddAsync', 'graddrop.mask': 'graddrop.maskAsync', 'graddrop.apply': 'graddrop.applyAsync',
  'graddrop.linearGrad': 'graddrop.linearGradAsync', kmeans: 'kmeansAsync', 'mlpFusion.ffn': 'mlpFusion.ffnAsync',
  'mlpFusion.ffnBackward': 'mlpFusion.ffnBackwardAsync', 'mlpFusion.fuse': 'mlpFusion.fuseAsync',
  'pathAttention.keep': 'pathAttention.keepAsync', 'pathAttention.gather': 'pathAttention.gatherAsync',
  'pathAttention.scatter': 'pathAttention.scatterAsync', 'pathAttention.restore': 'pathAttention.restoreAsync',
  'pathAttention.restoreBackward': 'pathAttention.restoreBackwardAsync', 'pathAttention.attention': 'pathAttention.attentionAsync',
  'pathAttention.attentionBackward': 'pathAttention.attentionBackwardAsync',
  'featureMap.channelNorm': 'featureMap.channelNormAsync', 'featureMap.channelNormBackward': 'featureMap.channelNormBackwardAsync',
  'featureMap.groupNorm': 'featureMap.groupNormAsync', 'featureMap.groupNormBackward': 'featureMap.groupNormBackwardAsync',
  'featureMap.depthwiseConv2d': 'featureMap.depthwiseConv2dAsync', 'featureMap.depthwiseConv2dBackward': 'featureMap.depthwiseConv2dBackwardAsync',
  'featureMap.depthwiseConv1d': 'featureMap.depthwiseConv1dAsync', 'featureMap.depthwiseConv1dBackward': 'featureMap.depthwiseConv1dBackwardAsync',
  'featureMap.conv2d': 'featureMap.conv2dAsync', 'featureMap.conv2dBackward': 'featureMap.conv2dBackwardAsync',
  'featureMap.conv1d': 'featureMap.conv1dAsync', 'featureMap.conv1dBackward': 'featureMap.conv1dBackwardAsync',
  'featureMap.maxPool2d': 'featureMap.maxPool2dAsync', 'featureMap.maxPool2dBackward': 'featureMap.maxPool2dBackwardAsync',
  'featureMap.resize': 'featureMap.resizeAsync', 'featureMap.resizeBackward': 'featureMap.resizeBackwardAsync',
  'featureMap.hadamard': 'featureMap.hadamardAsync', 'featureMap.hadamardBackward': 'featureMap.hadamardBackwardAsync',
  'hadamard.ghpa': 'hadamard.ghpaAsync', 'hadamard.ghpaBackward': 'hadamard.ghpaBackwardAsync',
  'hadamard.ghpaMaps': 'hadamard.ghpaMapsAsync', 'hadamard.gab': 'hadamard.gabAsync', 'hadamard.gabBackward': 'hadamard.gabBackwardAsync',
};

function resolve(path: string): (...args: Value[]) => unknown {
  let f: unknown = lib;
  for (const part of path.split('.')) f = (f as Record<string, unknown>)[part];
  return f as (...args: Value[]) => unknown;
}

/** Every case: each export (and its async form), each argument and option key, each hostile value of its kind. */
export function cases(): Case[] {
  const out: Case[] = [];
  for (const e of ops) {
    const forms: Array<[boolean, (...a: Value[]) => unknown]> = [[false, e.call]];
    if (ASYNC[e.name]) {
      const fn = resolve(ASYNC[e.name]);
      forms.push([true, (...a) => fn(...a)]);
    }
    for (const [isAsync, call] of forms) {
      e.args.forEach((arg, i) => {
        const put = (bad: () => Value, what: string) =>
          out.push({
            id: `${e.name}${isAsync ? 'Async' : ''} ${what}`,
            entry: e.name,
            async: isAsync,
            run: () => call(...e.args.map((a, j) => (j === i ? bad() : a.valid()))),
          });
        BAD[arg.kind]().forEach((v, k) => {
          if (!(v === undefined && arg.optional) && !arg.accepts?.includes(v)) put(() => BAD[arg.kind]()[k], `arg ${i} = ${describe(v)}`);
        });
        for (const [key, spec] of Object.entries(arg.keys ?? {})) {
          BAD[spec.kind]().forEach((v, k) => {
            if (v === undefined || spec.accepts?.includes(v)) return; // an omitted option is the default
            put(() => ({ ...(arg.valid() as object), [key]: BAD[spec.kind]()[k] }), `arg ${i}.${key} = ${describe(v)}`);
          });
        }
      });
    }
  }
  return out;
}

function describe(v: Value): string {
  if (typeof v === 'symbol') return 'a symbol';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Tensor) return `a Tensor${v.detached ? ' (detached)' : ''}`;
  if (v instanceof Map) return 'a Map';
  if (v instanceof Date) return 'a Date';
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** How one case ended. */
export type Outcome = 'FrugalError' | 'other error' | 'accepted' | 'hang' | 'crash';

/** Runs one case in this process: its outcome (hangs and crashes are seen by the parent). */
export async function runCase(c: Case, timeoutMs: number): Promise<{ outcome: Outcome; detail: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const r = c.run();
    if (c.async) {
      if (!(r instanceof Promise)) return { outcome: 'other error', detail: 'the async form returned no promise' };
      const timeout = new Promise<'hang'>((done) => {
        timer = setTimeout(() => done('hang'), timeoutMs);
      });
      if ((await Promise.race([r, timeout])) === 'hang') return { outcome: 'hang', detail: `no answer in ${timeoutMs} ms` };
    }
    return { outcome: 'accepted', detail: 'no error' };
  } catch (err) {
    if (err instanceof lib.FrugalError) return { outcome: 'FrugalError', detail: err.code };
    return { outcome: 'other error', detail: `${(err as Error)?.constructor?.name}: ${(err as Error)?.message}` };
  } finally {
    if (timer) clearTimeout(timer);
  }
}
