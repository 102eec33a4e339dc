// Vectorised math for the avx512 kernels (included only by *_avx512.cc files).
// Accuracy: a few ulp over the ranges stated per function; tested against <cmath>
// in native/tests. One owner per section; add functions, never a second copy.
#pragma once
#include <immintrin.h>

namespace frugal {
namespace avx512 {

// ---- exp, erf, gelu (activation family; also used by GEMM epilogues) ----------

// ---- log, sin/cos (random streams: Box-Muller) ----------------------------------

}  // namespace avx512
}  // namespace frugal
