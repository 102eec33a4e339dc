// The slash kernels (cpu/slash-inl.h) compiled for avx2.
#include "cpu/slash_kernels.h"
#include "cpu/simd/vec_avx2.h"

namespace frugal {
namespace avx2 {
constexpr int kMaxSamples = 2, kMaxTileRows = 4;    // 2 × 4 accumulators + 2 g + 1 w: 16 ymm
constexpr int kSampleVectors = 2, kSampleRows = 6;  // 2 × 6 accumulators + 2 gt + 1 broadcast
#include "cpu/slash-inl.h"
}  // namespace avx2
}  // namespace frugal
