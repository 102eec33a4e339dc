// Sparse path attention (LightPath): the packed kernels, the encoder and decoder
// built on them, and the pre-training objective.
export * from './ops';
export {
  PathEncoder, PathModule, type PathBlockOptions, type PathEncoderOptions, type PathEncoderOutput, type PathEncoderGrads,
  type LoadStateDictOptions, type ParameterSpec, type ParameterInit,
} from './encoder';
export { PathDecoder, type PathDecoderOptions, type PathDecoderLayout } from './decoder';
export { lightpath, type ReconstructionLoss, type PretrainStepInputs, type PretrainStepResult } from './lightpath';
