// GradDrop's mask kernels (cpu/graddrop-inl.h) compiled for avx512.
#include "cpu/graddrop_kernels.h"
#include "cpu/simd/vec_avx512.h"

namespace frugal {
namespace avx512 {
#include "cpu/graddrop-inl.h"
}  // namespace avx512
}  // namespace frugal
