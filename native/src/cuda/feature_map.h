// CUDA launchers of the feature-map family: device pointers, `stream` is a
// cudaStream_t. Private to the core: the front ends (native/src/core/
// feature_map.cc, feature_map_conv.cc) reach them through Dispatch after the
// shared argument checks and the empty rule, and only CUDA builds include this
// header. Each follows the CPU's determinism contract (frugal/feature_map.h).
#pragma once

#include "frugal/feature_map.h"
#include "frugal/status.h"

namespace frugal {

Status ChannelNormCuda(const ChannelNormParams& p, void* stream);
Status ChannelNormBackwardCuda(const ChannelNormBackwardParams& p, void* stream);
Status GroupNormCuda(const GroupNormParams& p, void* stream);
Status GroupNormBackwardCuda(const GroupNormBackwardParams& p, void* stream);
Status DepthwiseConvCuda(const DepthwiseConvParams& p, void* stream);
Status DepthwiseConvBackwardCuda(const DepthwiseConvBackwardParams& p, void* stream);
Status ConvCuda(const ConvParams& p, void* stream);
Status ConvBackwardCuda(const ConvBackwardParams& p, void* stream);
Status MaxPoolCuda(const MaxPoolParams& p, void* stream);
Status MaxPoolBackwardCuda(const MaxPoolBackwardParams& p, void* stream);
Status ResizeCuda(const ResizeParams& p, void* stream);
Status ResizeBackwardCuda(const ResizeBackwardParams& p, void* stream);
Status HadamardCuda(const HadamardParams& p, void* stream);
Status HadamardBackwardCuda(const HadamardBackwardParams& p, void* stream);

}  // namespace frugal
