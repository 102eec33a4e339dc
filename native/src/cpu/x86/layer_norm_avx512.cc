// LayerNorm rows with AVX-512. A row is read from memory once; the later
// passes find it in L1 (rows up to ~10K floats). Full vectors in the main
// loops and one masked tail per pass, never a scalar loop; masked-off lanes
// load zeros, which add nothing to any sum below.
#include <cmath>

#include "cpu/layer_norm_kernels.h"
#include "cpu/x86/simd_math_avx512.h"

namespace frugal {
namespace avx512 {
namespace {

// Calls out(i, mask, full) over [0, n): full vectors (mask = all lanes), then a masked tail.
template <typename Out>
inline void ForVectors(int64_t n, const Out& out) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) out(i, static_cast<__mmask16>(0xffff), true);
  if (i < n) out(i, TailMask(n - i), false);
}

// Stores v at p: all lanes for a full vector, the masked ones for the tail.
inline void Store(float* p, __mmask16 m, bool full, __m512 v) {
  if (full) {
    _mm512_storeu_ps(p, v);
  } else {
    _mm512_mask_storeu_ps(p, m, v);
  }
}

}  // namespace

void LayerNormForwardRow(int64_t cols, const float* x, const float* gamma, const float* beta,
                         float eps, float* y, float* mean, float* rstd) {
  // Pass 1: the mean, four accumulators to hide the add latency.
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 64 <= cols; i += 64) {
    s0 = _mm512_add_ps(s0, _mm512_loadu_ps(x + i));
    s1 = _mm512_add_ps(s1, _mm512_loadu_ps(x + i + 16));
    s2 = _mm512_add_ps(s2, _mm512_loadu_ps(x + i + 32));
    s3 = _mm512_add_ps(s3, _mm512_loadu_ps(x + i + 48));
  }
  for (; i < cols; i += 16) s0 = _mm512_add_ps(s0, _mm512_maskz_loadu_ps(TailMask(cols - i), x + i));
  const float mu = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3))) /
                   static_cast<float>(cols);

  // Pass 2: squared deviations from the mean (exact two-pass variance).
  const __m512 vmu = _mm512_set1_ps(mu);
  s0 = s1 = s2 = s3 = _mm512_setzero_ps();
  for (i = 0; i + 64 <= cols; i += 64) {
    const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(x + i), vmu);
    const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 16), vmu);
    const __m512 d2 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 32), vmu);
    const __m512 d3 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 48), vmu);
    s0 = _mm512_fmadd_ps(d0, d0, s0);
    s1 = _mm512_fmadd_ps(d1, d1, s1);
    s2 = _mm512_fmadd_ps(d2, d2, s2);
    s3 = _mm512_fmadd_ps(d3, d3, s3);
  }
  for (; i < cols; i += 16) {
    const __mmask16 m = TailMask(cols - i);
    const __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, x + i), vmu);
    s0 = _mm512_fmadd_ps(d, d, s0);
  }
  const float var = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3))) /
                    static_cast<float>(cols);
  const float rs = 1.0f / std::sqrt(var + eps);

  // Pass 3: y = gamma·(x − μ)·rstd + beta.
  const __m512 vrs = _mm512_set1_ps(rs);
  ForVectors(cols, [&](int64_t j, __mmask16 m, bool full) {
    const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), vmu), vrs);
    const __m512 out = _mm512_fmadd_ps(xhat, _mm512_maskz_loadu_ps(m, gamma + j), _mm512_maskz_loadu_ps(m, beta + j));
    Store(y + j, m, full, out);
  });
  *mean = mu;
  *rstd = rs;
}

void LayerNormBackwardRow(int64_t cols, const float* dy, const float* x, const float* gamma,
                          float mean, float rstd, float* dx, float* dgamma_acc, float* dbeta_acc) {
  const __m512 vmu = _mm512_set1_ps(mean), vrs = _mm512_set1_ps(rstd);
  // Pass 1: Σ g and Σ g·x̂ with g = gamma·dy, two accumulators each.
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;
  int64_t i = 0;
  for (; i + 32 <= cols; i += 32) {
    const __m512 g0 = _mm512_mul_ps(_mm512_loadu_ps(gamma + i), _mm512_loadu_ps(dy + i));
    const __m512 g1 = _mm512_mul_ps(_mm512_loadu_ps(gamma + i + 16), _mm512_loadu_ps(dy + i + 16));
    const __m512 h0 = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), vmu), vrs);
    const __m512 h1 = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), vmu), vrs);
    a0 = _mm512_add_ps(a0, g0);
    a1 = _mm512_add_ps(a1, g1);
    b0 = _mm512_fmadd_ps(g0, h0, b0);
    b1 = _mm512_fmadd_ps(g1, h1, b1);
  }
  for (; i < cols; i += 16) {
    const __mmask16 m = TailMask(cols - i);
    const __m512 g = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, gamma + i), _mm512_maskz_loadu_ps(m, dy + i));
    const __m512 h = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vmu), vrs);
    a0 = _mm512_add_ps(a0, g);
    b0 = _mm512_fmadd_ps(g, h, b0);
  }
  const float inv_cols = 1.0f / static_cast<float>(cols);
  const __m512 mean_g = _mm512_set1_ps(_mm512_reduce_add_ps(_mm512_add_ps(a0, a1)) * inv_cols);
  const __m512 mean_gx = _mm512_set1_ps(_mm512_reduce_add_ps(_mm512_add_ps(b0, b1)) * inv_cols);

  // Pass 2: dx = rstd·(g − mean_g − x̂·mean_gx), and the parameter gradients when asked.
  ForVectors(cols, [&](int64_t j, __mmask16 m, bool full) {
    const __m512 d = _mm512_maskz_loadu_ps(m, dy + j);
    const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), vmu), vrs);
    const __m512 g = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, gamma + j), d);
    const __m512 t = _mm512_fmadd_ps(xhat, mean_gx, mean_g);
    Store(dx + j, m, full, _mm512_mul_ps(_mm512_sub_ps(g, t), vrs));
    if (dgamma_acc) {
      Store(dgamma_acc + j, m, full, _mm512_fmadd_ps(d, xhat, _mm512_maskz_loadu_ps(m, dgamma_acc + j)));
      Store(dbeta_acc + j, m, full, _mm512_add_ps(d, _mm512_maskz_loadu_ps(m, dbeta_acc + j)));
    }
  });
}

}  // namespace avx512
}  // namespace frugal
