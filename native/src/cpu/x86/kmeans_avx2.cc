// The k-means kernels (cpu/kmeans-inl.h) compiled for avx2.
#include "cpu/kmeans_kernels.h"
#include "cpu/simd/vec_avx2.h"

namespace frugal {
namespace avx2 {
#include "cpu/kmeans-inl.h"
}  // namespace avx2
}  // namespace frugal
