// CUDA launchers of the LayerNorm family: device pointers, `stream` is a
// cudaStream_t. Private to the core: the front end (native/src/core/layer_norm.cc)
// reaches them through Dispatch, and only CUDA builds include this header.
#pragma once
#include <cstdint>

#include "frugal/layer_norm.h"
#include "frugal/status.h"

namespace frugal {

Status LayerNormCuda(const LayerNormParams& p, void* stream);
Status LayerNormBackwardCuda(const LayerNormBackwardParams& p, void* stream);

}  // namespace frugal
