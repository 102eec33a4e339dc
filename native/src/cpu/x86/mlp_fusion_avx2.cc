// The MLP Fusion kernels (cpu/mlp_fusion-inl.h) compiled for avx2.
#include "cpu/mlp_fusion_kernels.h"
#include "cpu/simd/vec_avx2.h"

namespace frugal {
namespace avx2 {
#include "cpu/mlp_fusion-inl.h"
}  // namespace avx2
}  // namespace frugal
