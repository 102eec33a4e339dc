// CUDA launcher of CopyMap (core/map_copy.h): strides resolved, device pointers,
// `stream` a cudaStream_t. Only CUDA builds include this header.
#pragma once
#include <cstdint>

#include "frugal/feature_map.h"
#include "frugal/status.h"

namespace frugal {

Status CopyMapCuda(const MapShape& s, int64_t in_stride, const float* in, int64_t out_stride, float* out, bool add,
                   void* stream);

}  // namespace frugal
