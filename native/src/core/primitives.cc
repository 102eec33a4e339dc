// The dispatch table of the shared primitives and the fixed-order column sums
// built on them (see cpu/primitives_kernels.h).
#include <algorithm>

#include "cpu/kernel_table.h"
#include "cpu/primitives_kernels.h"
#include "frugal/context.h"

namespace frugal {

const PrimitiveKernels& PrimitiveKernelsFor(Isa isa) {
  static const PrimitiveKernels kRef{ref::Dot, ref::Axpy};
  static const PrimitiveKernels kAvx2{avx2::Dot, avx2::Axpy};
  static const PrimitiveKernels kAvx512{avx512::Dot, avx512::Axpy};
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
