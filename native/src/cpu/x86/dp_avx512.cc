// The dp kernels (cpu/dp-inl.h) compiled for avx512.
#include "cpu/dp_kernels.h"
#include "cpu/simd/vec_avx512.h"

namespace frugal {
namespace avx512 {
constexpr int kGramBlock = 4;  // 4×4 accumulators and 4 operands fit the 32 zmm registers
#include "cpu/dp-inl.h"
}  // namespace avx512
}  // namespace frugal
