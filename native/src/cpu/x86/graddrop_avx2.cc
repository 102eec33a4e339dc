// GradDrop's mask kernels (cpu/graddrop-inl.h) compiled for avx2.
#include "cpu/graddrop_kernels.h"
#include "cpu/simd/vec_avx2.h"

namespace frugal {
namespace avx2 {
#include "cpu/graddrop-inl.h"
}  // namespace avx2
}  // namespace frugal
