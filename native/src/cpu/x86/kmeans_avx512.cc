// The k-means kernels (cpu/kmeans-inl.h) compiled for avx512.
#include "cpu/kmeans_kernels.h"
#include "cpu/simd/vec_avx512.h"

namespace frugal {
namespace avx512 {
#include "cpu/kmeans-inl.h"
}  // namespace avx512
}  // namespace frugal
