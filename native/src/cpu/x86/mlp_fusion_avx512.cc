// The MLP Fusion kernels (cpu/mlp_fusion-inl.h) compiled for avx512.
#include "cpu/mlp_fusion_kernels.h"
#include "cpu/simd/vec_avx512.h"

namespace frugal {
namespace avx512 {
#include "cpu/mlp_fusion-inl.h"
}  // namespace avx512
}  // namespace frugal
