// LightPath's self-supervised pre-training (Yang et al., KDD 2023): remove a
// random fraction of each path's edges, encode the kept ones, reconstruct the
// removed ones with the decoder, and score the reconstruction at the removed
// positions only. Two views (r = 0.7 and 0.8) share the encoder's weights.
import { FrugalError, describe } from '../errors';
import { checkOffsets, type Offsets } from '../packed';
import { Tensor, checkDims, checkTensor, zeros } from '../tensor';
import { checkInt, checkNumber, checkOptions, checkSeed, optionKeys, shapeText } from '../validate';
import { PathDecoder } from './decoder';
import { PathEncoder, addInto, checkTokens } from './encoder';
import { pathAttention, type KeptPaths, type PathLayout } from './ops';

/** What {@link reconstructionLoss} returns. */
export interface ReconstructionLoss {
  /** Mean over the removed rows of each row's mean squared error over dim (0 when no row is removed). */
  loss: number;
  /** [rows, dim]: the gradient of `loss` with respect to pred (zeros at the rows not removed). */
  dPred: Tensor;
}

/** Inputs of {@link pretrainStep}. */
export interface PretrainStepInputs {
  /** The shared encoder; its grads are added to, never cleared (call zeroGrad between steps). */
  encoder: PathEncoder;
  /** The decoder, of the encoder's width; its grads are added to as well. */
  decoder: PathDecoder;
  /** [totalTokens, dim]: every edge of every path (edge embeddings, with any position embedding already added), packed by lengthsOffsets. */
  tokens: Tensor;
  /** [B + 1]: path b owns rows [lengthsOffsets[b], lengthsOffsets[b+1]) of tokens. */
  lengthsOffsets: Offsets;
  /** The step's seed: view v of n removes edges with `pathAttention.keep` seed n·seed + v (so no two (step, view) pairs share a stream). */
  seed: number | bigint;
  /** The removal ratio of each view, each in [0, 1). Default [0.7, 0.8], LightPath's. */
  ratios?: readonly number[];
  /** [totalTokens, dim]: what the decoder reconstructs (held fixed: no gradient). Default `tokens`. */
  target?: Tensor;
  /** [totalTokens, dim]: the decoder's position embedding (the decoder layout's `positions`); none by default. */
  positions?: Tensor;
}

/** What {@link pretrainStep} returns. */
export interface PretrainStepResult {
  /** The reconstruction loss of each view, in `ratios` order; the gradients are those of their sum. */
  losses: number[];
  /** [totalTokens, dim]: the gradient of the summed loss with respect to `tokens` (through the encoder), for an embedding table. */
  dTokens: Tensor;
  /** The kept positions of each view. */
  views: KeptPaths[];
}

const STEP_KEYS = optionKeys<PretrainStepInputs>({
  encoder: true, decoder: true, tokens: true, lengthsOffsets: true, seed: true, ratios: true, target: true, positions: true,
});

const TWO_64 = 1n << 64n;

/**
 * LightPath's reconstruction loss: over the rows r with removed[r] ≠ 0, the mean of
 * mean_d (pred[r, d] − target[r, d])², accumulated in float64, and its gradient
 * 2·(pred − target) / (dim · removedRows) at those rows. With no removed row the loss is 0.
 * @param removed - One byte per row of pred, nonzero at a removed position ({@link removedMask} makes it from a layout).
 * @throws FrugalError E_DTYPE (not Tensors, removed not a Uint8Array), E_SHAPE (pred not [rows, dim], target of
 *   another shape, removed of another length), E_DEVICE (a CUDA tensor).
 * @example const { loss, dPred } = lightpath.reconstructionLoss(pred, tokens, lightpath.removedMask(layout));
 */
function reconstructionLoss(pred: Tensor, target: Tensor, removed: Uint8Array): ReconstructionLoss {
  const p = checkTensor(pred, 'pred');
  if (p.shape.length !== 2) throw new FrugalError('E_SHAPE', `pred: expected a packed [rows, dim] tensor, got ${shapeText(p.shape)}`);
  const [rows, dim] = p.shape;
  checkTokens(p, 'pred', dim);
  const t = checkTokens(target, 'target', dim);
  checkDims(t, 'target', p.shape);
  if (!(removed instanceof Uint8Array)) throw new FrugalError('E_DTYPE', `removed: expected a Uint8Array of one flag per row, got ${describe(removed)}`);
  if (removed.length !== rows) throw new FrugalError('E_SHAPE', `removed: expected ${rows} flags (pred's rows), got ${removed.length}`);
  let count = 0;
  for (let r = 0; r < rows; r++) if (removed[r]) count++;
  const dPred = zeros([rows, dim]);
  if (count === 0) return { loss: 0, dPred };
  const pd = p.data, td = t.data, g = dPred.data, scale = 2 / (dim * count);
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    if (!removed[r]) continue;
    for (let i = r * dim; i < (r + 1) * dim; i++) {
      const e = pd[i] - td[i];
      sum += e * e;
      g[i] = scale * e;
    }
  }
  return { loss: sum / (dim * count), dPred };
}

/**
 * The removed positions of a layout: one byte per path position (rows packed by
 * `lengthsOffsets`), 1 where the position is not kept.
 * @throws FrugalError as {@link pathAttention.scatter}.
 */
function removedMask(layout: PathLayout): Uint8Array {
  const keep = (layout as { keep?: unknown })?.keep as ArrayLike<number> | undefined;
  const ones = Tensor.from(new Float32Array(keep?.length ?? 0).fill(1), [keep?.length ?? 0, 1]);
  // scatter checks the layout and puts a 1 at every kept row.
  const kept = pathAttention.scatter(ones, layout).data;
  return Uint8Array.from(kept, (k) => (k ? 0 : 1));
}

/**
 * Fixed sinusoidal position embeddings (Vaswani et al.) for packed paths: row
 * lengthsOffsets[b] + p gets, at columns 2i and 2i + 1, sin(p·ω_i) and cos(p·ω_i)
 * with ω_i = 10000^(−2i/dim). Add them to the tokens before the encoder, and pass
 * them to the decoder as `positions`.
 * @throws FrugalError E_DTYPE / E_SHAPE (bad offsets), E_DTYPE / E_RANGE (dim not an integer ≥ 1).
 */
function sinusoidalPositions(lengthsOffsets: Offsets, dim: number): Tensor {
  const given = lengthsOffsets as ArrayLike<number> | undefined;
  const lo = checkOffsets(given, 'lengthsOffsets', given?.length ? given[given.length - 1] : 0, false);
  const d = checkInt(dim, 'dim', 1);
  const out = zeros([lo[lo.length - 1], d]);
  const x = out.data;
  for (let b = 0; b + 1 < lo.length; b++) {
    for (let p = 0; p < lo[b + 1] - lo[b]; p++) {
      const row = (lo[b] + p) * d;
      for (let c = 0; c < d; c += 2) {
        const angle = p * Math.pow(10000, -c / d);
        x[row + c] = Math.sin(angle);
        if (c + 1 < d) x[row + c + 1] = Math.cos(angle);
      }
    }
  }
  return out;
}

/**
 * One LightPath pre-training step over B paths: for each view v (ratio r_v), keep
 * edges with {@link pathAttention.keep} (seed n·seed + v), encode the kept tokens,
 * decode every position, score the removed ones with {@link reconstructionLoss}, and
 * go back through decoder and encoder, adding the gradients into
 * `encoder.grads` and `decoder.grads` (summed over the views; nothing is cleared).
 * Views run one after the other (forward, then backward), so only one view's
 * activations are held at a time. Everything is checked before any work starts.
 * @throws FrugalError E_DTYPE (encoder / decoder of another class, not Tensors), E_CONFIG (an unknown key, widths
 *   differing, no ratio), E_SHAPE (tokens, target or positions not [totalTokens, dim], bad lengthsOffsets), E_RANGE
 *   (a ratio outside [0, 1), a bad seed), E_DEVICE.
 * @example
 * encoder.zeroGrad(); decoder.zeroGrad();
 * const { losses, dTokens } = lightpath.pretrainStep({ encoder, decoder, tokens, lengthsOffsets, seed: step });
 */
function pretrainStep(inputs: PretrainStepInputs): PretrainStepResult {
  const o = checkOptions<PretrainStepInputs>(inputs, 'inputs', STEP_KEYS);
  const { encoder, decoder } = o;
  if (!(encoder instanceof PathEncoder)) throw new FrugalError('E_DTYPE', `inputs.encoder: expected a PathEncoder, got ${describe(encoder)}`);
  if (!(decoder instanceof PathDecoder)) throw new FrugalError('E_DTYPE', `inputs.decoder: expected a PathDecoder, got ${describe(decoder)}`);
  if (decoder.dim !== encoder.dim) throw new FrugalError('E_CONFIG', `inputs.decoder: expected width ${encoder.dim} (the encoder's), got ${decoder.dim}`);
  const dim = encoder.dim;
  const tokens = checkTokens(o.tokens, 'inputs.tokens', dim);
  const lengthsOffsets = checkOffsets(o.lengthsOffsets, 'inputs.lengthsOffsets', tokens.shape[0], false);
  const fullShape = [tokens.shape[0], dim];
  const target = o.target === undefined ? tokens : checkTokens(o.target, 'inputs.target', dim);
  checkDims(target, 'inputs.target', fullShape);
  const positions = o.positions === undefined ? undefined : checkTokens(o.positions, 'inputs.positions', dim);
  if (positions) checkDims(positions, 'inputs.positions', fullShape);
  const ratios = o.ratios === undefined ? [0.7, 0.8] : o.ratios;
  if (!Array.isArray(ratios) || ratios.length === 0) throw new FrugalError('E_CONFIG', `inputs.ratios: expected a non-empty array of ratios, got ${describe(ratios)}`);
  ratios.forEach((r, v) => {
    if (checkNumber(r, `inputs.ratios[${v}]`, { min: 0, max: 1 }) === 1) throw new FrugalError('E_RANGE', `inputs.ratios[${v}]: expected a ratio in [0, 1), got 1`);
  });
  const views = BigInt(ratios.length);
  const seed = checkSeed(o.seed, 'inputs.seed');
  if (seed * views + views > TWO_64) throw new FrugalError('E_RANGE', `inputs.seed: expected ${ratios.length}·seed + ${ratios.length} <= 2^64 (one keep seed per view), got ${seed}`);

  const lengths = Int32Array.from({ length: lengthsOffsets.length - 1 }, (_, b) => lengthsOffsets[b + 1] - lengthsOffsets[b]);
  const dTokens = zeros(fullShape);
  const losses: number[] = [];
  const kept: KeptPaths[] = [];
  ratios.forEach((ratio, v) => {
    const view = pathAttention.keep(lengths, { ratio, seed: seed * views + BigInt(v) });
    const layout = { lengthsOffsets, ...view };
    const encoded = encoder.forward(pathAttention.gather(tokens, layout), view.offsets);
    const pred = decoder.forward(encoded.latent, { ...layout, positions });
    const { loss, dPred } = reconstructionLoss(pred, target, removedMask(layout));
    const { dLatent } = decoder.backward(dPred);
    const { dTokens: dKept } = encoder.backward({ dLatent });
    addInto(dTokens, pathAttention.scatter(dKept, layout));
    losses.push(loss);
    kept.push(view);
  });
  return { losses, dTokens, views: kept };
}

/**
 * LightPath pre-training (Yang et al., KDD 2023) over {@link PathEncoder} and
 * {@link PathDecoder}: the reconstruction loss at the removed positions, the mask of
 * those positions, sinusoidal position embeddings for packed paths, and one whole
 * two-view pre-training step. See README "Sparse path attention".
 */
export const lightpath = Object.freeze({ reconstructionLoss, removedMask, sinusoidalPositions, pretrainStep });
