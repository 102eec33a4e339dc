// The `pathAttention` namespace: LightPath's packed kernels in one object.
import {
  attention, attentionAsync, attentionBackward, attentionBackwardAsync, MAX_HEAD_DIM,
} from './attention';
import {
  gather, gatherAsync, keep, keepAsync, restore, restoreAsync, restoreBackward, restoreBackwardAsync, scatter, scatterAsync,
} from './layout';

export type {
  AttentionBackwardInputs, AttentionResult, FusedQkv, FusedQkvGrads, SeparateQkv, SeparateQkvGrads,
} from './attention';
export type { KeepOptions, KeptPaths, PathLayout, RestoreGrads, RestoreOptions } from './layout';

/**
 * Sparse path attention (LightPath, Yang et al., KDD 2023): random edge removal
 * over packed paths (`keep`), the moves between all tokens and the kept ones
 * (`gather`, `scatter`, `restore`, `restoreBackward`), and multi-head attention per
 * path over its kept tokens only (`attention`, `attentionBackward`), every op with an
 * …Async form. Paths are packed like FlashAttention's cu_seqlens: path b owns rows
 * [offsets[b], offsets[b+1]), so the cost is Σ kept tokens, never B × the longest
 * path. See README "Sparse path attention".
 */
export const pathAttention = Object.freeze({
  keep, keepAsync, gather, gatherAsync, scatter, scatterAsync, restore, restoreAsync, restoreBackward, restoreBackwardAsync,
  attention, attentionAsync, attentionBackward, attentionBackwardAsync,
  /** Largest head dimension the kernels take (256). */
  MAX_HEAD_DIM,
});
