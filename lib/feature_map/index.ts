// The `featureMap` namespace: the NCHW fp32 ops convolutional modules such as
// EGE-UNet's GHPA and GAB are built from (native/include/frugal/feature_map.h).
import {
  channelNorm, channelNormAsync, channelNormBackward, channelNormBackwardAsync, groupNorm, groupNormAsync, groupNormBackward,
  groupNormBackwardAsync,
} from './norm';
import {
  conv1d, conv1dAsync, conv1dBackward, conv1dBackwardAsync, conv2d, conv2dAsync, conv2dBackward, conv2dBackwardAsync, depthwiseConv1d,
  depthwiseConv1dAsync, depthwiseConv1dBackward, depthwiseConv1dBackwardAsync, depthwiseConv2d, depthwiseConv2dAsync,
  depthwiseConv2dBackward, depthwiseConv2dBackwardAsync,
} from './conv';
import {
  maxPool2d, maxPool2dAsync, maxPool2dBackward, maxPool2dBackwardAsync, resize, resizeAsync, resizeBackward, resizeBackwardAsync,
} from './sampling';
import { hadamard, hadamardAsync, hadamardBackward, hadamardBackwardAsync } from './hadamard';

export type {
  ChannelNormInputs, ChannelNormBackwardInputs, GroupNormInputs, GroupNormBackwardInputs, MapNormResult, MapNormGrads,
} from './norm';
export type {
  IntPair, DepthwiseConv2dInputs, DepthwiseConv1dInputs, Conv2dInputs, Conv1dInputs, ConvResult, ConvBackwardInputs,
  DepthwiseConv2dBackwardInputs, DepthwiseConv1dBackwardInputs, Conv2dBackwardInputs, Conv1dBackwardInputs, ConvGrads,
} from './conv';
export type { MaxPoolInputs, MaxPoolBackwardInputs, ResizeInputs, ResizeBackwardInputs } from './sampling';
export type { MapBroadcast, HadamardInputs, HadamardBackwardInputs, HadamardGrads } from './hadamard';

/**
 * Feature-map ops over NCHW fp32 tensors (NCL for the 1-D forms), each with an …Async
 * form that runs on a worker thread: channel LayerNorm and GroupNorm, depthwise and
 * dense stride-1 convolutions with an optional bias and fused exact GELU, 2×2 max-pool,
 * bilinear resize (align_corners = true) and broadcast Hadamard products, every one
 * with its backward. Every op takes one inputs object and returns an object of
 * tensors; inputs are checked in TypeScript first (FrugalError naming the argument),
 * and every parameter gradient is summed in fixed blocks, so results do not depend on
 * the thread count. See README "Feature-map ops (featureMap)".
 * @example
 * const { y, mean, rstd } = featureMap.channelNorm({ x, weight, bias });
 * const { y: z } = featureMap.depthwiseConv2d({ x: y, weight: dw, bias: db, dilation: 2 });
 */
export const featureMap = Object.freeze({
  channelNorm, channelNormAsync, channelNormBackward, channelNormBackwardAsync,
  groupNorm, groupNormAsync, groupNormBackward, groupNormBackwardAsync,
  depthwiseConv2d, depthwiseConv2dAsync, depthwiseConv2dBackward, depthwiseConv2dBackwardAsync,
  depthwiseConv1d, depthwiseConv1dAsync, depthwiseConv1dBackward, depthwiseConv1dBackwardAsync,
  conv2d, conv2dAsync, conv2dBackward, conv2dBackwardAsync, conv1d, conv1dAsync, conv1dBackward, conv1dBackwardAsync,
  maxPool2d, maxPool2dAsync, maxPool2dBackward, maxPool2dBackwardAsync,
  resize, resizeAsync, resizeBackward, resizeBackwardAsync,
  hadamard, hadamardAsync, hadamardBackward, hadamardBackwardAsync,
});
