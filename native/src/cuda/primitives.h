// CUDA launchers of the primitives that families share instead of reaching into
// each other (the CPU side is cpu/primitives/vector.h). Device pointers;
// `stream` is a cudaStream_t. Private to the core.
#pragma once
#include <cstdint>

#include "frugal/status.h"

namespace frugal {

// out[i·d + j] = Σ_t x[(i·T + t)·d + j] for i < B, j < d: the token sums of B
// samples of T rows each, every sum in row order.
Status SumTokensCuda(const float* x, int64_t B, int64_t T, int64_t d, float* out, void* stream);

}  // namespace frugal
