// LayerNorm rows with AVX-512. A row is read from memory once; the second and
// third passes find it in L1 (rows up to ~8K floats). Tails use masked loads
// and stores, never a scalar loop; masked-off lanes load zeros, which add
// nothing to any sum below.
#include <cmath>

#include "cpu/layer_norm_kernels.h"
#include "cpu/x86/simd_math_avx512.h"

namespace frugal {
namespace avx512 {

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
  for (i = 0; i + 16 <= cols; i += 16) {
    const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), vmu), vrs);
    _mm512_storeu_ps(y + i, _mm512_fmadd_ps(xhat, _mm512_loadu_ps(gamma + i), _mm512_loadu_ps(beta + i)));
  }
  if (i < cols) {
    const __mmask16 m = TailMask(cols - i);
    const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vmu), vrs);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(xhat, _mm512_maskz_loadu_ps(m, gamma + i),
                                                    _mm512_maskz_loadu_ps(m, beta + i)));
  }
  *mean = mu;
  *rstd = rs;
}

namespace {

// dx (and the parameter-gradient accumulation) for 16 lanes under mask m.
inline void BackwardLanes(__mmask16 m, const float* dy, const float* x, const float* gamma,
                          __m512 vmu, __m512 vrs, __m512 mean_g, __m512 mean_gx, float* dx,
                          float* dgamma_acc, float* dbeta_acc) {
  const __m512 d = _mm512_maskz_loadu_ps(m, dy);
  const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x), vmu), vrs);
  const __m512 g = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, gamma), d);
  const __m512 t = _mm512_fmadd_ps(xhat, mean_gx, mean_g);
  _mm512_mask_storeu_ps(dx, m, _mm512_mul_ps(_mm512_sub_ps(g, t), vrs));
  if (dgamma_acc) {
    _mm512_mask_storeu_ps(dgamma_acc, m, _mm512_fmadd_ps(d, xhat, _mm512_maskz_loadu_ps(m, dgamma_acc)));
    _mm512_mask_storeu_ps(dbeta_acc, m, _mm512_add_ps(d, _mm512_maskz_loadu_ps(m, dbeta_acc)));
  }
}

}  // namespace

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

  // Pass 2: dx, and the parameter gradients when asked.
  for (i = 0; i < cols; i += 16) {
    BackwardLanes(TailMask(cols - i), dy + i, x + i, gamma + i, vmu, vrs, mean_g, mean_gx, dx + i,
                  dgamma_acc ? dgamma_acc + i : nullptr, dbeta_acc ? dbeta_acc + i : nullptr);
  }
}

}  // namespace avx512
}  // namespace frugal
