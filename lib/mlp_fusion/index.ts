// The `mlpFusion` namespace: sub-MLP clustering (MLP Fusion, Wei et al., ICML 2023).
import { ffn, ffnAsync, ffnBackward, ffnBackwardAsync } from './ffn';
import { fuse, fuseAsync } from './fuse';

export type { FfnActivation, FfnInputs, FfnResult, FfnBackwardInputs, FfnGrads } from './ffn';
export type { FuseInputs, FuseResult } from './fuse';

/**
 * MLP Fusion: compress an FFN's p neurons to K by k-means over [W1 row, b1, W2
 * column] ({@link fuse}), then run the fused FFN `W2f·diag(n)·σ(W1f·x + b1f) + b2`
 * and its backward ({@link ffn}, {@link ffnBackward}). See README "Sub-MLP clustering".
 */
export const mlpFusion = Object.freeze({ fuse, fuseAsync, ffn, ffnAsync, ffnBackward, ffnBackwardAsync });
