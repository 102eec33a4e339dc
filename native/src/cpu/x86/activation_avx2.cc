// GELU, its backward and row softmax with AVX2 (8 lanes); the math (Exp,
// Gelu, GeluGrad) lives in simd_math_avx2.h. Full vectors in the main loops,
// one masked tail (vmaskmov stores are slow on some cores).
#include <cmath>

#include "cpu/activation_kernels.h"
#include "cpu/x86/simd_math_avx2.h"

namespace frugal {
namespace avx2 {

void GeluSpan(int64_t n, const float* x, float* y) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, Gelu(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i m = TailMask(n - i);
    _mm256_maskstore_ps(y + i, m, Gelu(_mm256_maskload_ps(x + i, m)));
  }
}

void GeluBackwardSpan(int64_t n, const float* x, const float* dy, float* dx) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(dx + i, _mm256_mul_ps(_mm256_loadu_ps(dy + i), GeluGrad(_mm256_loadu_ps(x + i))));
  }
  if (i < n) {
    const __m256i m = TailMask(n - i);
    const __m256 grad = GeluGrad(_mm256_maskload_ps(x + i, m));
    _mm256_maskstore_ps(dx + i, m, _mm256_mul_ps(_mm256_maskload_ps(dy + i, m), grad));
  }
}

void SoftmaxRow(int64_t cols, const float* x, float* y) {
  // Pass 1: the row maximum (masked-off lanes count as −inf).
  const __m256 neg_inf = _mm256_set1_ps(-INFINITY);
  __m256 m0 = neg_inf, m1 = neg_inf, m2 = neg_inf, m3 = neg_inf;
  int64_t i = 0;
  for (; i + 32 <= cols; i += 32) {
    m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
    m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + i + 8));
    m2 = _mm256_max_ps(m2, _mm256_loadu_ps(x + i + 16));
    m3 = _mm256_max_ps(m3, _mm256_loadu_ps(x + i + 24));
  }
  for (; i < cols; i += 8) {
    const __m256i m = TailMask(cols - i);
    m0 = _mm256_max_ps(m0, _mm256_blendv_ps(neg_inf, _mm256_maskload_ps(x + i, m), _mm256_castsi256_ps(m)));
  }
  const __m256 vmax = _mm256_set1_ps(ReduceMax(_mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3))));

  // Pass 2: e = exp(x − max) into y, and its sum (a NaN input makes the sum, so the row, NaN).
  __m256 s0 = _mm256_setzero_ps(), s1 = s0;
  for (i = 0; i + 16 <= cols; i += 16) {
    const __m256 e0 = Exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
    const __m256 e1 = Exp(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vmax));
    _mm256_storeu_ps(y + i, e0);
    _mm256_storeu_ps(y + i + 8, e1);
    s0 = _mm256_add_ps(s0, e0);
    s1 = _mm256_add_ps(s1, e1);
  }
  for (; i < cols; i += 8) {
    const __m256i m = TailMask(cols - i);
    const __m256 e = _mm256_and_ps(Exp(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), vmax)), _mm256_castsi256_ps(m));
    if (i + 8 <= cols) {
      _mm256_storeu_ps(y + i, e);
    } else {
      _mm256_maskstore_ps(y + i, m, e);
    }
    s0 = _mm256_add_ps(s0, e);
  }
  const __m256 inv = _mm256_set1_ps(1.0f / ReduceAdd(_mm256_add_ps(s0, s1)));

  // Pass 3: normalise (the row is in L1 now).
  for (i = 0; i + 8 <= cols; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), inv));
  if (i < cols) {
    const __m256i m = TailMask(cols - i);
    _mm256_maskstore_ps(y + i, m, _mm256_mul_ps(_mm256_maskload_ps(y + i, m), inv));
  }
}

}  // namespace avx2
}  // namespace frugal
