// AVX2 loops of the dp family (see dp_kernels.h). Tails run scalar (at most 7 elements).
#include <immintrin.h>

#include <cmath>

#include "cpu/dp_kernels.h"

namespace frugal {
namespace avx2 {

double DpDot(const float* x, const float* y, int64_t n) {
  // fp32 products, double sums (two accumulators of 4 lanes).
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    const __m256 p = _mm256_mul_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(y + k));
    lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(p)));
    hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(p, 1)));
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(lo, hi));
  double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; k < n; ++k) sum += static_cast<double>(x[k] * y[k]);
  return sum;
}

void DpAxpy(float* t, const float* x, int64_t n, float s) {
  const __m256 vs = _mm256_set1_ps(s);
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    _mm256_storeu_ps(t + k, _mm256_fmadd_ps(vs, _mm256_loadu_ps(x + k), _mm256_loadu_ps(t + k)));
  }
  for (; k < n; ++k) t[k] = std::fma(s, x[k], t[k]);
}

}  // namespace avx2
}  // namespace frugal
