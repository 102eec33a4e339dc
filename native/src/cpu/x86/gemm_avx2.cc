// The GEMM (cpu/gemm-inl.h) compiled for avx2.
#include "cpu/gemm_kernels.h"
#include "cpu/simd/vec_avx2.h"
#include "frugal/context.h"

namespace frugal {
namespace avx2 {
constexpr int kGemmMR = 6;  // 6×16 tile: 12 ymm accumulators
constexpr int64_t kGemmMC = 6 * 24;
constexpr bool kGemmPrefetchC = true, kGemmLateGelu = false;
#include "cpu/gemm-inl.h"
}  // namespace avx2
}  // namespace frugal
