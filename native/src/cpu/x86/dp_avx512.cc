// AVX-512 loops of the dp family (see dp_kernels.h).
#include <immintrin.h>

#include <algorithm>

#include "cpu/dp_kernels.h"
#include "cpu/simd/vec_avx512.h"

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

namespace {

// out[i·4 + j] = Σ_k xs[i][k]·xt[j][k] over k < n: 16 dot products in 16 zmm
// accumulators, each loaded vector used four times.
void DotBlock4x4(const float* const xs[4], const float* const xt[4], int64_t n, float out[16]) {
  __m512 acc[16];
  for (__m512& a : acc) a = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    const __m512 a0 = _mm512_loadu_ps(xs[0] + k), a1 = _mm512_loadu_ps(xs[1] + k);
    const __m512 a2 = _mm512_loadu_ps(xs[2] + k), a3 = _mm512_loadu_ps(xs[3] + k);
    for (int j = 0; j < 4; ++j) {
      const __m512 b = _mm512_loadu_ps(xt[j] + k);
      acc[j] = _mm512_fmadd_ps(a0, b, acc[j]);
      acc[4 + j] = _mm512_fmadd_ps(a1, b, acc[4 + j]);
      acc[8 + j] = _mm512_fmadd_ps(a2, b, acc[8 + j]);
      acc[12 + j] = _mm512_fmadd_ps(a3, b, acc[12 + j]);
    }
  }
  if (k < n) {
    const __mmask16 m = TailMask(n - k);
    const __m512 a0 = _mm512_maskz_loadu_ps(m, xs[0] + k), a1 = _mm512_maskz_loadu_ps(m, xs[1] + k);
    const __m512 a2 = _mm512_maskz_loadu_ps(m, xs[2] + k), a3 = _mm512_maskz_loadu_ps(m, xs[3] + k);
    for (int j = 0; j < 4; ++j) {
      const __m512 b = _mm512_maskz_loadu_ps(m, xt[j] + k);
      acc[j] = _mm512_fmadd_ps(a0, b, acc[j]);
      acc[4 + j] = _mm512_fmadd_ps(a1, b, acc[4 + j]);
      acc[8 + j] = _mm512_fmadd_ps(a2, b, acc[8 + j]);
      acc[12 + j] = _mm512_fmadd_ps(a3, b, acc[12 + j]);
    }
  }
  for (int i = 0; i < 16; ++i) out[i] = _mm512_reduce_add_ps(acc[i]);
}

}  // namespace

double DpGramNorm(const float* A, const float* G, int64_t T, int64_t din, int64_t dout) {
  double sum = 0;
  float ab[16], gb[16];
  for (int64_t s0 = 0; s0 < T; s0 += 4) {
    for (int64_t t0 = s0; t0 < T; t0 += 4) {
      // Rows past T repeat row T−1 (valid memory); their products are skipped below.
      const float *as[4], *at[4], *gs[4], *gt[4];
      for (int i = 0; i < 4; ++i) {
        const int64_t s = std::min(s0 + i, T - 1), t = std::min(t0 + i, T - 1);
        as[i] = A + s * din;
        at[i] = A + t * din;
        gs[i] = G + s * dout;
        gt[i] = G + t * dout;
      }
      DotBlock4x4(as, at, din, ab);
      DotBlock4x4(gs, gt, dout, gb);
      double block = 0;
      for (int i = 0; i < 4 && s0 + i < T; ++i) {
        for (int j = 0; j < 4 && t0 + j < T; ++j) block += static_cast<double>(ab[i * 4 + j]) * gb[i * 4 + j];
      }
      // A diagonal block holds both (s, t) and (t, s); an off-diagonal one stands for its mirror too.
      sum += (t0 == s0 ? 1.0 : 2.0) * block;
    }
  }
  return sum;
}

}  // namespace avx512
}  // namespace frugal
