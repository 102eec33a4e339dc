// CUDA launchers of the MLP Fusion family (see frugal/mlp_fusion.h): device
// pointers, `stream` a cudaStream_t. Private to the core; only CUDA builds include it.
#pragma once
#include <cstdint>

#include "frugal/gemm.h"
#include "frugal/status.h"

namespace frugal {

// The gate of every row: h = σ(pre)·n, dpre = dh·n·σ'(pre) (dpre may alias dh).
Status FfnGateBackwardCuda(int64_t tokens, int64_t K, const float* pre, const float* dh, const float* counts,
                           Activation act, float* h, float* dpre, void* stream);

}  // namespace frugal
