// The feature-map kernels (cpu/feature_map_norm-inl.h, _conv-inl.h, _dense-inl.h,
// _pool-inl.h, _resize-inl.h) compiled for avx2.
#include "cpu/feature_map_kernels.h"
#include "cpu/simd/vec_avx2.h"

namespace frugal {
namespace avx2 {
#include "cpu/feature_map_channel_norm-inl.h"
#include "cpu/feature_map_norm-inl.h"
#include "cpu/feature_map_conv-inl.h"
#include "cpu/feature_map_pointwise-inl.h"
#include "cpu/feature_map_dense-inl.h"
#include "cpu/feature_map_pool-inl.h"
#include "cpu/feature_map_resize-inl.h"
}  // namespace avx2
}  // namespace frugal
