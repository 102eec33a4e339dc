// The LayerNorm row kernels (cpu/layer_norm-inl.h) compiled for avx2.
#include "cpu/primitives/layer_norm_rows.h"
#include "cpu/simd/vec_avx2.h"

namespace frugal {
namespace avx2 {
#include "cpu/layer_norm-inl.h"
}  // namespace avx2
}  // namespace frugal
