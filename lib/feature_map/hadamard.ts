// The broadcast Hadamard product of an NCHW map with a parameter map (EGE-UNet's
// GHPA: planes over (H, W), and maps over (C, H) and (C, W) broadcast along the
// third axis), forward and backward.
import { native } from '../binding';
import { defineOp, type Prepared } from '../call';
import { FrugalError } from '../errors';
import { Tensor, zeros, type Memory } from '../tensor';
import { checkEnum, optionKeys, shapeText } from '../validate';
import { NAME, checkInputs, deviceOf, dims, mapDims, required, type MapDims } from './map';

/** How the map spreads over x: [C, H, W] ('plane'), [C, H] over w ('rows') or [C, W] over h ('columns'). */
export type MapBroadcast = 'plane' | 'rows' | 'columns';

// The addon's argument lists (native/addon/feature_map.cc reads these keys and refuses any other).
type Common = MapDims & { broadcast: MapBroadcast; async: boolean };
interface HadamardNative {
  featureMapHadamard(args: Common & { x: Memory; map: Memory; y: Memory }): unknown;
  featureMapHadamardBackward(args: Common & { dy: Memory; x: Memory; map: Memory; dx: Memory; dmap: Memory }): unknown;
}

/** Inputs of {@link hadamard}. */
export interface HadamardInputs {
  /** [B, C, H, W]. */
  x: Tensor;
  /** [C, H, W] for 'plane', [C, H] for 'rows', [C, W] for 'columns' (a leading 1, as a PyTorch parameter [1, C, H, W], is accepted). */
  map: Tensor;
  /** Default 'plane'. */
  broadcast?: MapBroadcast;
}

/** Inputs of {@link hadamardBackward}: the forward's and dy shaped like x. */
export interface HadamardBackwardInputs extends HadamardInputs {
  dy: Tensor;
}

/** What {@link hadamardBackward} returns. */
export interface HadamardGrads {
  /** dy ⊙ map, shaped like x. */
  dx: Tensor;
  /** Σ of dy ⊙ x over the batch and the broadcast axis, shaped like map. */
  dmap: Tensor;
}

const BROADCASTS = ['plane', 'rows', 'columns'] as const;
const KEYS = optionKeys<HadamardInputs>({ x: true, map: true, broadcast: true });
const BACKWARD_KEYS = optionKeys<HadamardBackwardInputs>({ x: true, map: true, broadcast: true, dy: true });

const nat = () => native<HadamardNative>();

// x, map and the broadcast, with map's shape checked against x's.
function operands(o: Partial<HadamardInputs>): { x: Tensor; map: Tensor; d: MapDims; broadcast: MapBroadcast } {
  const x = required(o, 'x');
  const d = mapDims(x, 'x');
  const broadcast = o.broadcast === undefined ? 'plane' : checkEnum(o.broadcast, `${NAME}.broadcast`, BROADCASTS);
  const map = required(o, 'map');
  const want = broadcast === 'plane' ? [d.C, d.H, d.W] : broadcast === 'rows' ? [d.C, d.H] : [d.C, d.W];
  const s = map.shape;
  // A leading 1 (PyTorch's nn.Parameter(torch.ones(1, C, H, W))) is the same memory.
  const plain = s.length === want.length + 1 && s[0] === 1 ? s.slice(1) : s;
  if (plain.length !== want.length || plain.some((v, i) => v !== want[i])) {
    throw new FrugalError('E_SHAPE', `${NAME}.map: expected ${shapeText(want)} (or ${shapeText([1, ...want])}) for broadcast '${broadcast}' ` +
      `(C, H, W from x), got ${shapeText(s)}`);
  }
  return { x, map, d, broadcast };
}

function prepareHadamard(inputs: HadamardInputs): Prepared<{ y: Tensor }> {
  const o = checkInputs<HadamardInputs>(inputs, KEYS);
  const { x, map, d, broadcast } = operands(o);
  const y = zeros([...x.shape], deviceOf({ x, map }));
  return { run: (async) => nat().featureMapHadamard({ ...d, broadcast, x: x.memory, map: map.memory, y: y.memory, async }), result: () => ({ y }) };
}

function prepareHadamardBackward(inputs: HadamardBackwardInputs): Prepared<HadamardGrads> {
  const o = checkInputs<HadamardBackwardInputs>(inputs, BACKWARD_KEYS);
  const { x, map, d, broadcast } = operands(o);
  const dy = dims(required(o, 'dy'), 'dy', x.shape);
  const device = deviceOf({ dy, x, map });
  const g: HadamardGrads = { dx: zeros([...x.shape], device), dmap: zeros([...map.shape], device) };
  return {
    run: (async) => nat().featureMapHadamardBackward({ ...d, broadcast, dy: dy.memory, x: x.memory, map: map.memory, dx: g.dx.memory,
      dmap: g.dmap.memory, async }),
    result: () => g,
  };
}

const hadamardOp = defineOp('featureMap.hadamard', prepareHadamard);
const hadamardBackwardOp = defineOp('featureMap.hadamardBackward', prepareHadamardBackward);

/**
 * y[b,c,h,w] = x[b,c,h,w]·m with m = map[c,h,w] ('plane', the default), map[c,h]
 * ('rows': the same for every w) or map[c,w] ('columns': the same for every h).
 * @throws FrugalError E_DTYPE (not Tensors), E_SHAPE (x not 4-D with C, H, W ≥ 1; map not
 *   the broadcast's shape), E_RANGE (an unknown broadcast), E_DEVICE, E_CONFIG.
 * @example const { y } = featureMap.hadamard({ x, map: paramsCH, broadcast: 'rows' });
 */
export const hadamard = hadamardOp.sync;
/** {@link hadamard} on a worker thread. @throws FrugalError as {@link hadamard} (the promise rejects). */
export const hadamardAsync = hadamardOp.async;

/**
 * Backward of {@link hadamard}: dx = dy ⊙ m and dmap = Σ dy ⊙ x over the batch (and over
 * w for 'rows', h for 'columns'), summed in fixed blocks (the same bits at any thread count).
 * @throws FrugalError as {@link hadamard}, and E_SHAPE (dy not shaped like x).
 */
export const hadamardBackward = hadamardBackwardOp.sync;
/** {@link hadamardBackward} on a worker thread. @throws FrugalError as {@link hadamardBackward}. */
export const hadamardBackwardAsync = hadamardBackwardOp.async;
