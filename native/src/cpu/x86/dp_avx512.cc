// AVX-512 loops of the dp family (see dp_kernels.h).
#include <immintrin.h>

#include "cpu/dp_kernels.h"
#include "cpu/x86/simd_math_avx512.h"

namespace frugal {
namespace avx512 {

double DpDot(const float* x, const float* y, int64_t n) {
  // Products in fp32 (exact enough: one rounding each), sums in two double accumulators
  // per 16 lanes so long rows (materialized gradients, T² Grams) keep full precision.
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    const __m512 p = _mm512_mul_ps(_mm512_loadu_ps(x + k), _mm512_loadu_ps(y + k));
    lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_extractf32x8_ps(p, 0)));
    hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(p, 1)));
  }
  if (k < n) {
    const __mmask16 m = TailMask(n - k);
    const __m512 p = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + k), _mm512_maskz_loadu_ps(m, y + k));
    lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_extractf32x8_ps(p, 0)));
    hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(p, 1)));
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
}

void DpAxpy(float* t, const float* x, int64_t n, float s) {
  const __m512 vs = _mm512_set1_ps(s);
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    _mm512_storeu_ps(t + k, _mm512_fmadd_ps(vs, _mm512_loadu_ps(x + k), _mm512_loadu_ps(t + k)));
  }
  if (k < n) {
    const __mmask16 m = TailMask(n - k);
    _mm512_mask_storeu_ps(t + k, m, _mm512_fmadd_ps(vs, _mm512_maskz_loadu_ps(m, x + k), _mm512_maskz_loadu_ps(m, t + k)));
  }
}

}  // namespace avx512
}  // namespace frugal
