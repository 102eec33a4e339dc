// Vectorised math for the avx2 kernels (included only by *_avx2.cc files).
// Accuracy: a few ulp over the ranges stated per function; tested against <cmath>
// in native/tests. One owner per section; add functions, never a second copy.
#pragma once
#include <immintrin.h>

namespace frugal {
namespace avx2 {

// ---- exp, erf, gelu (activation family; also used by GEMM epilogues) ----------

// ---- log, sin/cos (random streams: Box-Muller) ----------------------------------

}  // namespace avx2
}  // namespace frugal
