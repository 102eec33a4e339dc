/**
 * Frugal: a native kernel engine for parameter-efficient, private and
 * lightweight deep learning. See README.md for the tour.
 * @packageDocumentation
 */
export { FrugalError, type ErrorCode } from './errors';
export { type AsyncOptions } from './call';
export { Tensor, zeros, type DeviceName } from './tensor';
export { info, setNumThreads, setIsa, isaLevels, type FrugalInfo, type IsaLevel } from './core';
export { matmul, matmulAsync, type MatmulOptions } from './matmul';
export { dp } from './dp';
export { PrivacyEngine, type PrivacyEngineOptions, type StepGroup, type StepResult, type PrivateGrad } from './dp/privacy_engine';
export {
  layerNorm, layerNormAsync, layerNormBackward, layerNormBackwardAsync,
  type LayerNormOptions, type LayerNormBackwardOptions, type LayerNormResult, type LayerNormSaved, type LayerNormGrads,
} from './layer_norm';
export {
  gelu, geluAsync, geluBackward, geluBackwardAsync, sigmoid, sigmoidAsync, sigmoidBackward, sigmoidBackwardAsync,
  softmax, softmaxAsync, type ActivationOptions,
} from './activation';
export {
  random, StreamTags, type StreamOptions, type FloatStreamOptions, type ScaledStreamOptions, type WordStreamOptions,
} from './random';
export {
  slash, SharedLayerShift, ReparamPrompt, type SharedLayerShiftOptions, type ProjectionDist, type ProjectOptions,
  type ProjectBackwardOptions, type OutputBlockInputs, type OutputBlockResult, type OutputBlockBackwardInputs,
  type OutputBlockGrads, type Offsets, type PromptInsertResult, type SlashTask, type TaskKind,
} from './slash';
export {
  encodeSafetensors, decodeSafetensors, saveSafetensors, loadSafetensors, openSafetensors, writeSafetensors, type SafetensorsContents,
  type SafetensorsReader, type SafetensorsTensorInfo, type SafetensorsRawTensor, type SafetensorsEntry, type SafetensorsTensorEntry,
  type SafetensorsRawEntry,
} from './safetensors';
export {
  graddrop, GradDropSchedule, FreezePlan, ReplaySampler, GRANULARITIES, type Granularity, type MaskOptions,
  type MaskTensorOptions, type LinearGradOptions, type LinearGradResult, type RateContext, type MaskContext,
  type LinearScheduleOptions, type DepthScheduleOptions, type UnfreezingOptions, type FreezePlanOptions,
  type ReplaySamplerOptions, type ReplayBatch,
} from './graddrop';
export { kmeans, kmeansAsync, type KMeansOptions, type KMeansResult } from './kmeans';
export {
  mlpFusion, type FfnActivation, type FfnInputs, type FfnResult, type FfnBackwardInputs, type FfnGrads, type FuseInputs,
  type FuseResult,
} from './mlp_fusion';
export {
  pathAttention, type AttentionBackwardInputs, type AttentionResult, type FusedQkv, type FusedQkvGrads, type SeparateQkv,
  type SeparateQkvGrads, type KeepOptions, type KeptPaths, type PathLayout, type RestoreGrads, type RestoreOptions,
  PathEncoder, PathDecoder, PathModule, lightpath, type PathBlockOptions, type PathEncoderOptions, type PathEncoderOutput,
  type PathEncoderGrads, type LoadStateDictOptions, type PathDecoderOptions, type PathDecoderLayout, type ReconstructionLoss,
  type PretrainStepInputs, type PretrainStepResult,
} from './path_attention';
export {
  featureMap, type IntPair, type MapBroadcast, type ChannelNormInputs, type ChannelNormBackwardInputs, type GroupNormInputs,
  type GroupNormBackwardInputs, type MapNormResult, type MapNormGrads, type DepthwiseConv2dInputs, type DepthwiseConv1dInputs,
  type Conv2dInputs, type Conv1dInputs, type ConvResult, type ConvBackwardInputs, type DepthwiseConv2dBackwardInputs,
  type DepthwiseConv1dBackwardInputs, type Conv2dBackwardInputs, type Conv1dBackwardInputs, type ConvGrads, type MaxPoolInputs,
  type MaxPoolBackwardInputs, type ResizeInputs, type ResizeBackwardInputs, type HadamardInputs, type HadamardBackwardInputs,
  type HadamardGrads,
} from './feature_map';
export {
  hadamard, Ghpa, Gab, HadamardModule, type GhpaInputs, type GhpaResult, type GhpaBackwardInputs, type GhpaGrads,
  type GhpaMaps, type GhpaMapsInputs, type GhpaSaved, type GabInputs, type GabResult, type GabBackwardInputs, type GabGrads,
  type GabSaved, type LayoutEntry, type ModuleLayout, type ModuleParams, type GhpaOptions, type GabOptions,
  type ForwardOptions, type LoadOptions,
} from './hadamard';
export { EgeUNet, type EgeUNetOptions, type EgeUNetOutput, type EgeUNetOutputGrads } from './egeunet';
