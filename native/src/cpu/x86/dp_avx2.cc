// The dp kernels (cpu/dp-inl.h) compiled for avx2.
#include "cpu/dp_kernels.h"
#include "cpu/simd/vec_avx2.h"

namespace frugal {
namespace avx2 {
constexpr int kGramBlock = 3;  // 3×3 accumulators and 3 operands fit the 16 ymm registers
#include "cpu/dp-inl.h"
}  // namespace avx2
}  // namespace frugal
