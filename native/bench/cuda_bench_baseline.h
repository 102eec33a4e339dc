// Baseline kernels of the CUDA benchmark (cuda_bench.cc): the simplest correct
// CUDA code for an op, so each Frugal figure has a same-run reference point.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace frugal {
namespace bench {

// C = A·B for row-major A [M, K], B [K, N], C [M, N]: one thread per output,
// a plain loop over k (no shared memory).
cudaError_t NaiveGemm(int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C,
                      cudaStream_t stream);

}  // namespace bench
}  // namespace frugal
