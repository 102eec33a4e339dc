// The slash kernels (cpu/slash-inl.h) compiled for avx512.
#include "cpu/slash_kernels.h"
#include "cpu/simd/vec_avx512.h"

namespace frugal {
namespace avx512 {
constexpr int kMaxSamples = 3, kMaxTileRows = 8;                // 3 × 8 accumulators + 3 g + 1 w: 32 zmm
constexpr int kSampleVectors = 2, kSampleRows = kSlashMaxRows;  // 2 × 12 accumulators + 2 gt + 1 broadcast
#include "cpu/slash-inl.h"
}  // namespace avx512
}  // namespace frugal
