// The LayerNorm row kernels (cpu/layer_norm-inl.h) compiled for avx512.
#include "cpu/primitives/layer_norm_rows.h"
#include "cpu/simd/vec_avx512.h"

namespace frugal {
namespace avx512 {
#include "cpu/layer_norm-inl.h"
}  // namespace avx512
}  // namespace frugal
