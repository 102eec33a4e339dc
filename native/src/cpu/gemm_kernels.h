// Per-ISA GEMM entry points behind the front end (native/src/core/gemm.cc).
// Each receives parameters already checked by ValidateGemm and runs on the pool.
#pragma once
#include "frugal/gemm.h"

namespace frugal {
namespace avx2 {
void GemmKernel(const GemmParams& p);
}
namespace avx512 {
void GemmKernel(const GemmParams& p);
}
}  // namespace frugal
