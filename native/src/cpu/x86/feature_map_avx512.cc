// The feature-map kernels (cpu/feature_map_norm-inl.h, _conv-inl.h, _dense-inl.h,
// _pool-inl.h, _resize-inl.h) compiled for avx512.
#include "cpu/feature_map_kernels.h"
#include "cpu/simd/vec_avx512.h"

namespace frugal {
namespace avx512 {
#include "cpu/feature_map_channel_norm-inl.h"
#include "cpu/feature_map_norm-inl.h"
#include "cpu/feature_map_conv-inl.h"
#include "cpu/feature_map_pointwise-inl.h"
#include "cpu/feature_map_dense-inl.h"
#include "cpu/feature_map_pool-inl.h"
#include "cpu/feature_map_resize-inl.h"
}  // namespace avx512
}  // namespace frugal
