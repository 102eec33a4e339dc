// GELU, its backward and row softmax with AVX-512; the math (Exp, Gelu,
// GeluGrad) lives in simd_math_avx512.h. Tails are masked, never scalar.
#include <cmath>

#include "cpu/activation_kernels.h"
#include "cpu/x86/simd_math_avx512.h"

namespace frugal {
namespace avx512 {

void GeluSpan(int64_t n, const float* x, float* y) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, Gelu(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = TailMask(n - i);
    _mm512_mask_storeu_ps(y + i, m, Gelu(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

void GeluBackwardSpan(int64_t n, const float* x, const float* dy, float* dx) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(dx + i, _mm512_mul_ps(_mm512_loadu_ps(dy + i), GeluGrad(_mm512_loadu_ps(x + i))));
  }
  if (i < n) {
    const __mmask16 m = TailMask(n - i);
    const __m512 grad = GeluGrad(_mm512_maskz_loadu_ps(m, x + i));
    _mm512_mask_storeu_ps(dx + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, dy + i), grad));
  }
}

void SoftmaxRow(int64_t cols, const float* x, float* y) {
  // Pass 1: the row maximum (masked-off lanes load −inf).
  const __m512 neg_inf = _mm512_set1_ps(-INFINITY);
  __m512 m0 = neg_inf, m1 = neg_inf, m2 = neg_inf, m3 = neg_inf;
  int64_t i = 0;
  for (; i + 64 <= cols; i += 64) {
    m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + i));
    m1 = _mm512_max_ps(m1, _mm512_loadu_ps(x + i + 16));
    m2 = _mm512_max_ps(m2, _mm512_loadu_ps(x + i + 32));
    m3 = _mm512_max_ps(m3, _mm512_loadu_ps(x + i + 48));
  }
  for (; i < cols; i += 16) m0 = _mm512_max_ps(m0, _mm512_mask_loadu_ps(neg_inf, TailMask(cols - i), x + i));
  const __m512 vmax = _mm512_set1_ps(_mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3))));

  // Pass 2: e = exp(x − max) into y, and its sum (a NaN input makes the sum, so the row, NaN).
  __m512 s0 = _mm512_setzero_ps(), s1 = s0;
  for (i = 0; i + 32 <= cols; i += 32) {
    const __m512 e0 = Exp(_mm512_sub_ps(_mm512_loadu_ps(x + i), vmax));
    const __m512 e1 = Exp(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), vmax));
    _mm512_storeu_ps(y + i, e0);
    _mm512_storeu_ps(y + i + 16, e1);
    s0 = _mm512_add_ps(s0, e0);
    s1 = _mm512_add_ps(s1, e1);
  }
  for (; i < cols; i += 16) {
    const __mmask16 m = TailMask(cols - i);
    const __m512 e = Exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vmax));
    _mm512_mask_storeu_ps(y + i, m, e);
    s0 = _mm512_mask_add_ps(s0, m, s0, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(_mm512_add_ps(s0, s1)));

  // Pass 3: normalise (the row is in L1 now).
  for (i = 0; i + 16 <= cols; i += 16) _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(y + i), inv));
  if (i < cols) {
    const __mmask16 m = TailMask(cols - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, y + i), inv));
  }
}

}  // namespace avx512
}  // namespace frugal
