// The activation kernels (cpu/activation-inl.h) compiled for avx2.
#include "cpu/activation_kernels.h"
#include "cpu/simd/vec_avx2.h"

namespace frugal {
namespace avx2 {
#include "cpu/activation-inl.h"
}  // namespace avx2
}  // namespace frugal
