// LayerNorm rows with AVX2 (8 lanes). Same passes as the AVX-512 file: a row
// is read from memory once and found in L1 afterwards. Full vectors in the main
// loops (vmaskmov stores are slow on some cores), one masked tail;
// masked-off lanes load zeros, which add nothing to any sum below.
#include <cmath>

#include "cpu/layer_norm_kernels.h"
#include "cpu/x86/simd_math_avx2.h"

namespace frugal {
namespace avx2 {
namespace {

// Calls out(i, mask, full) over [0, n): full vectors, then a masked tail.
template <typename Out>
inline void ForVectors(int64_t n, const Out& out) {
  const __m256i all = _mm256_set1_epi32(-1);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) out(i, all, true);
  if (i < n) out(i, TailMask(n - i), false);
}

// Full vectors load plainly; partial ones through the mask (zeros elsewhere).
inline __m256 Load(const float* p, __m256i m, bool full) {
  return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m);
}

inline void Store(float* p, __m256i m, bool full, __m256 v) {
  if (full) {
    _mm256_storeu_ps(p, v);
  } else {
    _mm256_maskstore_ps(p, m, v);
  }
}

}  // namespace

void LayerNormForwardRow(int64_t cols, const float* x, const float* gamma, const float* beta,
                         float eps, float* y, float* mean, float* rstd) {
  // Pass 1: the mean, four accumulators to hide the add latency.
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 32 <= cols; i += 32) {
    s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
    s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + i + 8));
    s2 = _mm256_add_ps(s2, _mm256_loadu_ps(x + i + 16));
    s3 = _mm256_add_ps(s3, _mm256_loadu_ps(x + i + 24));
  }
  for (; i < cols; i += 8) s0 = _mm256_add_ps(s0, _mm256_maskload_ps(x + i, TailMask(cols - i)));
  const float mu = ReduceAdd(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3))) /
                   static_cast<float>(cols);

  // Pass 2: squared deviations from the mean (exact two-pass variance).
  const __m256 vmu = _mm256_set1_ps(mu);
  s0 = s1 = s2 = s3 = _mm256_setzero_ps();
  for (i = 0; i + 32 <= cols; i += 32) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), vmu);
    const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vmu);
    const __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 16), vmu);
    const __m256 d3 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 24), vmu);
    s0 = _mm256_fmadd_ps(d0, d0, s0);
    s1 = _mm256_fmadd_ps(d1, d1, s1);
    s2 = _mm256_fmadd_ps(d2, d2, s2);
    s3 = _mm256_fmadd_ps(d3, d3, s3);
  }
  for (; i < cols; i += 8) {
    const __m256i m = TailMask(cols - i);
    const __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), vmu), _mm256_castsi256_ps(m));
    s0 = _mm256_fmadd_ps(d, d, s0);
  }
  const float var = ReduceAdd(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3))) /
                    static_cast<float>(cols);
  const float rs = 1.0f / std::sqrt(var + eps);

  // Pass 3: y = gamma·(x − μ)·rstd + beta.
  const __m256 vrs = _mm256_set1_ps(rs);
  ForVectors(cols, [&](int64_t j, __m256i m, bool full) {
    const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(Load(x + j, m, full), vmu), vrs);
    Store(y + j, m, full, _mm256_fmadd_ps(xhat, Load(gamma + j, m, full), Load(beta + j, m, full)));
  });
  *mean = mu;
  *rstd = rs;
}

void LayerNormBackwardRow(int64_t cols, const float* dy, const float* x, const float* gamma,
                          float mean, float rstd, float* dx, float* dgamma_acc, float* dbeta_acc) {
  const __m256 vmu = _mm256_set1_ps(mean), vrs = _mm256_set1_ps(rstd);
  // Pass 1: Σ g and Σ g·x̂ with g = gamma·dy, two accumulators each.
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;
  int64_t i = 0;
  for (; i + 16 <= cols; i += 16) {
    const __m256 g0 = _mm256_mul_ps(_mm256_loadu_ps(gamma + i), _mm256_loadu_ps(dy + i));
    const __m256 g1 = _mm256_mul_ps(_mm256_loadu_ps(gamma + i + 8), _mm256_loadu_ps(dy + i + 8));
    const __m256 h0 = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmu), vrs);
    const __m256 h1 = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vmu), vrs);
    a0 = _mm256_add_ps(a0, g0);
    a1 = _mm256_add_ps(a1, g1);
    b0 = _mm256_fmadd_ps(g0, h0, b0);
    b1 = _mm256_fmadd_ps(g1, h1, b1);
  }
  for (; i < cols; i += 8) {
    const __m256i m = TailMask(cols - i);
    const __m256 g = _mm256_mul_ps(_mm256_maskload_ps(gamma + i, m), _mm256_maskload_ps(dy + i, m));
    const __m256 h = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), vmu), vrs);
    a0 = _mm256_add_ps(a0, g);
    b0 = _mm256_fmadd_ps(g, h, b0);
  }
  const float inv_cols = 1.0f / static_cast<float>(cols);
  const __m256 mean_g = _mm256_set1_ps(ReduceAdd(_mm256_add_ps(a0, a1)) * inv_cols);
  const __m256 mean_gx = _mm256_set1_ps(ReduceAdd(_mm256_add_ps(b0, b1)) * inv_cols);

  // Pass 2: dx = rstd·(g − mean_g − x̂·mean_gx), and the parameter gradients when asked.
  ForVectors(cols, [&](int64_t j, __m256i m, bool full) {
    const __m256 d = Load(dy + j, m, full);
    const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(Load(x + j, m, full), vmu), vrs);
    const __m256 t = _mm256_fmadd_ps(xhat, mean_gx, mean_g);
    const __m256 g = _mm256_mul_ps(Load(gamma + j, m, full), d);
    Store(dx + j, m, full, _mm256_mul_ps(_mm256_sub_ps(g, t), vrs));
    if (dgamma_acc) {
      Store(dgamma_acc + j, m, full, _mm256_fmadd_ps(d, xhat, Load(dgamma_acc + j, m, full)));
      Store(dbeta_acc + j, m, full, _mm256_add_ps(d, Load(dbeta_acc + j, m, full)));
    }
  });
}

}  // namespace avx2
}  // namespace frugal
