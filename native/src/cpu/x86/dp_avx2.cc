// AVX2 loops of the dp family (see dp_kernels.h). Tails run scalar (at most 7 elements).
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "cpu/dp_kernels.h"
#include "cpu/simd/vec_avx2.h"

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

namespace {

// out[i·3 + j] = Σ_k xs[i][k]·xt[j][k] over k < n: 9 ymm accumulators (3×3 keeps
// accumulators and operands within the 16 ymm registers); scalar tail.
void DotBlock3x3(const float* const xs[3], const float* const xt[3], int64_t n, float out[9]) {
  __m256 acc[9];
  for (__m256& a : acc) a = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    const __m256 a0 = _mm256_loadu_ps(xs[0] + k), a1 = _mm256_loadu_ps(xs[1] + k), a2 = _mm256_loadu_ps(xs[2] + k);
    for (int j = 0; j < 3; ++j) {
      const __m256 b = _mm256_loadu_ps(xt[j] + k);
      acc[j] = _mm256_fmadd_ps(a0, b, acc[j]);
      acc[3 + j] = _mm256_fmadd_ps(a1, b, acc[3 + j]);
      acc[6 + j] = _mm256_fmadd_ps(a2, b, acc[6 + j]);
    }
  }
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      float tail = 0;
      for (int64_t r = k; r < n; ++r) tail = std::fma(xs[i][r], xt[j][r], tail);
      out[i * 3 + j] = ReduceAdd(acc[i * 3 + j]) + tail;
    }
  }
}

}  // namespace

double DpGramNorm(const float* A, const float* G, int64_t T, int64_t din, int64_t dout) {
  double sum = 0;
  float ab[9], gb[9];
  for (int64_t s0 = 0; s0 < T; s0 += 3) {
    for (int64_t t0 = s0; t0 < T; t0 += 3) {
      // Rows past T repeat row T−1 (valid memory); their products are skipped below.
      const float *as[3], *at[3], *gs[3], *gt[3];
      for (int i = 0; i < 3; ++i) {
        const int64_t s = std::min(s0 + i, T - 1), t = std::min(t0 + i, T - 1);
        as[i] = A + s * din;
        at[i] = A + t * din;
        gs[i] = G + s * dout;
        gt[i] = G + t * dout;
      }
      DotBlock3x3(as, at, din, ab);
      DotBlock3x3(gs, gt, dout, gb);
      double block = 0;
      for (int i = 0; i < 3 && s0 + i < T; ++i) {
        for (int j = 0; j < 3 && t0 + j < T; ++j) block += static_cast<double>(ab[i * 3 + j]) * gb[i * 3 + j];
      }
      // A diagonal block holds both (s, t) and (t, s); an off-diagonal one stands for its mirror too.
      sum += (t0 == s0 ? 1.0 : 2.0) * block;
    }
  }
  return sum;
}

}  // namespace avx2
}  // namespace frugal
