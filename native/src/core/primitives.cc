// The dispatch tables of the shared primitives (cpu/primitives/: vector ops,
// LayerNorm rows, stream tiles) and the fixed-order column sums built on them.
#include <algorithm>

#include "cpu/kernel_table.h"
#include "cpu/primitives/layer_norm_rows.h"
#include "cpu/primitives/streams.h"
#include "cpu/primitives/vector.h"
#include "frugal/random.h"
#include "frugal/context.h"

namespace frugal {

const PrimitiveKernels& PrimitiveKernelsFor(Isa isa) {
  static const PrimitiveKernels kRef{ref::Dot, ref::Axpy};
  static const PrimitiveKernels kAvx2{avx2::Dot, avx2::Axpy};
  static const PrimitiveKernels kAvx512{avx512::Dot, avx512::Axpy};
  return KernelsOfLevel(isa, kRef, kAvx2, kAvx512);
}

const LayerNormRowKernels& LayerNormRowKernelsFor(Isa isa) {
  static const LayerNormRowKernels kRef{ref::LayerNormForwardRow, ref::LayerNormBackwardRow};
  static const LayerNormRowKernels kAvx2{avx2::LayerNormForwardRow, avx2::LayerNormBackwardRow};
  static const LayerNormRowKernels kAvx512{avx512::LayerNormForwardRow, avx512::LayerNormBackwardRow};
  return KernelsOfLevel(isa, kRef, kAvx2, kAvx512);
}

const RandomKernels& RandomKernelsFor(Isa isa) {
  static const RandomKernels kRef{RandomWordsReference, RandomUniformReference, RandomNormalReference,
                                  RandomRademacherReference};
  static const RandomKernels kAvx2{avx2::RandomWords, avx2::RandomUniform, avx2::RandomNormal,
                                   avx2::RandomRademacher};
  static const RandomKernels kAvx512{avx512::RandomWords, avx512::RandomUniform, avx512::RandomNormal,
                                     avx512::RandomRademacher};
  return KernelsOfLevel(isa, kRef, kAvx2, kAvx512);
}

namespace {
// Column blocks of the weighted column sums: fixed, so the order of the
// additions never depends on the thread count.
constexpr int64_t kColumnBlock = 256;
}  // namespace

void WeightedColumnSums(const float* x, int64_t rows, int64_t cols, const float* weights, int64_t group, float* out) {
  const PrimitiveKernels& k = PrimitiveKernelsFor(ActiveIsa());
  const int64_t blocks = (cols + kColumnBlock - 1) / kColumnBlock;
  ParallelFor(blocks, [&](int64_t b) {
    const int64_t j0 = b * kColumnBlock, len = std::min(kColumnBlock, cols - j0);
    std::fill(out + j0, out + j0 + len, 0.0f);
    for (int64_t r = 0; r < rows; ++r) k.axpy(out + j0, x + r * cols + j0, len, weights ? weights[r / group] : 1.0f);
  });
}

}  // namespace frugal
