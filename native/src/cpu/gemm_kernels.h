// Per-ISA GEMM entry points behind the front end (native/src/core/gemm.cc).
// Each receives parameters already checked by ValidateGemm and runs on the pool.
#pragma once
#include <vector>  // for the driver (gemm_driver-inl.h), included inside an ISA namespace

#include "common/ceil_div.h"  // likewise
#include "frugal/gemm.h"

namespace frugal {
// Each level's namespace declares the same kernels.
#define FRUGAL_GEMM_KERNELS              \
  void GemmKernel(const GemmParams& p); \
  void GemmTile(int* rows, int* cols);

namespace avx2 {
FRUGAL_GEMM_KERNELS
}  // namespace avx2
namespace avx512 {
FRUGAL_GEMM_KERNELS
}  // namespace avx512
#undef FRUGAL_GEMM_KERNELS
}  // namespace frugal
