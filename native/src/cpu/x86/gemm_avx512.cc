// The GEMM (cpu/gemm-inl.h) compiled for avx512.
#include "cpu/gemm_kernels.h"
#include "cpu/simd/vec_avx512.h"
#include "frugal/context.h"

namespace frugal {
namespace avx512 {
constexpr int kGemmMR = 14;  // 14×32 tile: 28 zmm accumulators
constexpr int64_t kGemmMC = 14 * 12;
constexpr bool kGemmPrefetchC = false, kGemmLateGelu = true;
#include "cpu/gemm-inl.h"
}  // namespace avx512
}  // namespace frugal
