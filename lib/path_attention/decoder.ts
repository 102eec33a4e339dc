// LightPath's decoder: the encoder's latent (CLS and kept tokens) put back at the
// path positions with a learnable mask token at every removed one, one pre-LN
// block over all the tokens of each path (CLS included), a final LayerNorm, and
// the predictions at the path positions (the CLS rows dropped). Forward and backward.
import { FrugalError } from '../errors';
import { layerNorm, type LayerNormResult } from '../layer_norm';
import { type Offsets } from '../packed';
import { Tensor, checkDims } from '../tensor';
import { checkOptions, optionKeys } from '../validate';
import {
  PathBlock, PathModule, addInto, behindFirstRow, blockSpecs, checkBlockConfig, checkTokens, layerNormBackInto, layerNormSpecs,
  type PathBlockOptions,
} from './encoder';
import { checkPathLayout } from './layout';
import { pathAttention } from './ops';

/** Options of {@link PathDecoder}: those of one block. */
export type PathDecoderOptions = PathBlockOptions;

/** Where the encoder's kept tokens belong among all the path positions (as {@link pathAttention.keep} and the packing give it). */
export interface PathDecoderLayout {
  /** [B + 1]: path b owns rows [lengthsOffsets[b], lengthsOffsets[b+1]) of the prediction (its full length). */
  lengthsOffsets: Offsets;
  /** keep[offsets[b] + j]: the position within path b of its j-th kept token (row 1 + j of its latent). */
  keep: Int32Array | number[];
  /** [B + 1]: path b's kept tokens, packed (the encoder's `offsets`). */
  offsets: Offsets;
  /**
   * [totalTokens, dim], optional: added to every path position after the mask tokens are put in
   * (MAE's and LightPath's decoder position embedding; fixed, it gets no gradient). Without it the
   * block cannot tell one removed position from another. See `lightpath.sinusoidalPositions`.
   */
  positions?: Tensor;
}

const DECODER_KEYS = optionKeys<PathDecoderOptions>({ dim: true, heads: true, mlpRatio: true, eps: true, seed: true });
const LAYOUT_KEYS = optionKeys<PathDecoderLayout>({ lengthsOffsets: true, keep: true, offsets: true, positions: true });

/** First stream sub of the decoder's parameters: far from the encoder's (0, 1, …), so no two parameters share a stream. */
const DECODER_FIRST_SUB = 2 ** 31;

interface DecoderSaved {
  /** The latent's rows (CLS at position 0, kept token j at 1 + keep[j]) among paths one row longer than the paths. */
  full: { lengthsOffsets: Int32Array; keep: Int32Array; offsets: Int32Array };
  /** The path positions (1…L) among those longer paths. */
  positions: ReturnType<typeof behindFirstRow>;
  beforeNorm: Tensor;
  norm: LayerNormResult;
}

/**
 * LightPath's decoder (one block, like MAE's): `forward(latent, layout)` takes the
 * encoder's latent as it comes, CLS rows included (LightPath's decoder attends to the
 * CLS too), puts each kept token back at its position and `mask_token` at every
 * removed one, runs one pre-LN block over each path's L + 1 rows and a final
 * LayerNorm, and returns the predictions at the L positions (the CLS rows dropped).
 * Parameters: `mask_token` [1, 1, dim], `decoder_blocks.0.*` (as the encoder's
 * blocks), `decoder_norm.weight` / `.bias`, on the CPU.
 *
 * Initialisation as the encoder's (normal std 0.02 for weights and `mask_token`,
 * biases 0, LayerNorm weights 1), parameter i drawing from stream
 * (seed, sub = 2^31 + i, tag 6): never a stream an encoder parameter uses.
 * @example
 * const dec = new PathDecoder({ dim: 128, heads: 8 });
 * const pred = dec.forward(latent, { lengthsOffsets, keep, offsets });
 * const { dLatent } = dec.backward(dPred);
 */
export class PathDecoder extends PathModule {
  /** Token width. */
  readonly dim: number;
  /** Attention heads. */
  readonly heads: number;
  /** MLP width / dim. */
  readonly mlpRatio: number;
  /** LayerNorm epsilon. */
  readonly eps: number;
  /** Seed of the initialisation. */
  readonly seed: bigint;
  private readonly block: PathBlock;
  private saved?: DecoderSaved;

  /**
   * @throws FrugalError as the {@link PathEncoder} constructor (without depth).
   */
  constructor(options?: PathDecoderOptions) {
    const c = checkBlockConfig(checkOptions<PathDecoderOptions>(options, 'options', DECODER_KEYS));
    const specs = [
      { name: 'mask_token', shape: [1, 1, c.dim], init: 'normal' as const },
      ...blockSpecs('decoder_blocks.0.', c.dim, c.mlp),
      ...layerNormSpecs('decoder_norm', c.dim),
    ];
    super(specs, c.seed, DECODER_FIRST_SUB);
    [this.dim, this.heads, this.mlpRatio, this.eps, this.seed] = [c.dim, c.heads, c.mlpRatio, c.eps, c.seed];
    this.block = new PathBlock(this.params, this.grads, 'decoder_blocks.0.', c);
  }

  /** @internal */
  protected get format(): string {
    return 'frugal.PathDecoder';
  }

  /** @internal */
  protected get config(): Record<string, number | string> {
    return { dim: this.dim, heads: this.heads, mlpRatio: this.mlpRatio, eps: this.eps, seed: this.seed.toString() };
  }

  /**
   * Reconstructs every path position: `latent` [totalKept + B, dim] (the encoder's,
   * CLS first in each path) → pred [totalTokens, dim] packed by `layout.lengthsOffsets`.
   * Keeps what {@link backward} needs (one backward per forward).
   * @throws FrugalError E_DTYPE (latent not a Tensor, a layout array of another type), E_SHAPE (latent not
   *   [totalKept + B, dim]; offsets not starting at 0, decreasing, not ending at their rows, or counting other
   *   paths; positions not [totalTokens, dim]), E_RANGE (a kept position outside its path or kept twice),
   *   E_CONFIG (an unknown layout key), E_DEVICE (a CUDA tensor).
   */
  forward(latent: Tensor, layout: PathDecoderLayout): Tensor {
    const x = checkTokens(latent, 'latent', this.dim);
    const { full, positions, added } = this.checkLayout(layout, x.shape[0]);
    const h = pathAttention.restore(x, { ...full, maskToken: this.params.mask_token.reshape([this.dim]) });
    if (added) addInto(h, pathAttention.scatter(added, positions));
    const y = this.block.forward(h, full.lengthsOffsets);
    const norm = layerNorm(y, this.params['decoder_norm.weight'], this.params['decoder_norm.bias'], { eps: this.eps });
    this.saved = { full, positions, beforeNorm: y, norm };
    return pathAttention.gather(norm.y, positions);
  }

  /**
   * Back through the last {@link forward}: adds the parameter gradients into
   * {@link grads} and returns the gradient of `latent` (CLS rows included), for the encoder's backward.
   * @throws FrugalError E_CONFIG (no forward before), E_DTYPE, E_SHAPE (dPred not [totalTokens, dim]), E_DEVICE.
   */
  backward(dPred: Tensor): { dLatent: Tensor } {
    const s = this.saved;
    if (!s) throw new FrugalError('E_CONFIG', 'backward: no forward to go back through (call forward first; each forward allows one backward)');
    const dp = checkTokens(dPred, 'dPred', this.dim);
    checkDims(dp, 'dPred', [s.positions.keep.length, this.dim]);
    this.saved = undefined;
    let d = pathAttention.scatter(dp, s.positions);
    d = layerNormBackInto(d, s.beforeNorm, this.params['decoder_norm.weight'], s.norm, this.grads['decoder_norm.weight'], this.grads['decoder_norm.bias']);
    d = this.block.backward(d);
    const { dKept, dMaskToken } = pathAttention.restoreBackward(d, s.full);
    addInto(this.grads.mask_token, dMaskToken);
    return { dLatent: dKept };
  }

  // The user's layout checked (naming its fields), and the layouts of the latent's
  // rows and of the path positions among paths one row (the CLS) longer.
  private checkLayout(layout: PathDecoderLayout, latentRows: number) {
    const { keep, offsets, lengthsOffsets } = checkPathLayout(layout, 'layout', LAYOUT_KEYS, undefined, undefined);
    const o = layout as PathDecoderLayout;
    const B = offsets.length - 1;
    if (latentRows !== keep.length + B) {
      throw new FrugalError('E_SHAPE', `latent: expected ${keep.length + B} rows (${keep.length} kept tokens and a CLS for each of ${B} paths), got ${latentRows}`);
    }
    const added = o.positions === undefined ? undefined : checkTokens(o.positions, 'layout.positions', this.dim);
    if (added) checkDims(added, 'layout.positions', [lengthsOffsets[B], this.dim]);
    // keep'[b] = [0 (the CLS), 1 + keep…]: the latent's rows among the longer paths.
    const fullKeep = new Int32Array(keep.length + B);
    for (let b = 0; b < B; b++) {
      fullKeep[offsets[b] + b] = 0;
      for (let j = offsets[b]; j < offsets[b + 1]; j++) fullKeep[j + b + 1] = keep[j] + 1;
    }
    const positions = behindFirstRow(lengthsOffsets);
    const full = { lengthsOffsets: positions.lengthsOffsets, keep: fullKeep, offsets: offsets.map((k, b) => k + b) };
    return { full, positions, added };
  }

  /**
   * Reads a decoder written by {@link PathModule.save}.
   * @throws FrugalError as {@link PathEncoder.load}, for a PathDecoder file.
   */
  static load(file: string): PathDecoder {
    const { options, tensors } = PathModule.readFile(file, 'frugal.PathDecoder');
    const decoder = new PathDecoder(options as PathDecoderOptions);
    decoder.loadStateDict(tensors);
    return decoder;
  }
}
