// The activation kernels (cpu/activation-inl.h) compiled for avx512.
#include "cpu/activation_kernels.h"
#include "cpu/simd/vec_avx512.h"

namespace frugal {
namespace avx512 {
#include "cpu/activation-inl.h"
}  // namespace avx512
}  // namespace frugal
