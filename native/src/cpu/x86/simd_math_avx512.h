// Vectorised math for the avx512 kernels (included only by *_avx512.cc files).
// Accuracy: a few ulp over the ranges stated per function; tested against <cmath>
// in native/tests. One owner per section; add functions, never a second copy.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace frugal {
namespace avx512 {

// ---- exp, erf, gelu (activation family; also used by GEMM epilogues) ----------

// Lanes [0, rem) of a 16-lane tail (rem may exceed 16: then all lanes).
inline __mmask16 TailMask(int64_t rem) {
  return rem >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << rem) - 1u);
}

// e^x: within 2 ulp for normal results; overflows to +inf above ~88.72, goes
// through subnormals to 0 below ~-87.3 (scalef does the scaling), NaN stays NaN.
inline __m512 Exp(__m512 x) {
  // Clamp first so n stays small; max/min return their second operand on NaN.
  x = _mm512_min_ps(_mm512_set1_ps(88.8f), _mm512_max_ps(_mm512_set1_ps(-104.0f), x));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // r = x − n·ln2 with ln2 split in two so r keeps its low bits.
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  // e^r = 1 + r + r²·P(r) on |r| <= ln2/2 (minimax P, degree 5).
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 y = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(r, r), p, r), _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(y, n);
}

// erfc(z) for z >= 0 (or NaN), relative error ~3e-7; also returns e^(−z²) in
// *exp_neg_z2 (GELU's backward reuses it for the normal density). Form:
// erfc(z) = t·e^(−z²)·Q(t), t = 1/(1 + z/2), Q a degree-9 least-squares fit of
// erfcx(z)/t on z in [0, 10]; z is clamped to 10 (erfc(10) ~ 2e-45).
inline __m512 ErfcNonNegative(__m512 z, __m512* exp_neg_z2) {
  z = _mm512_min_ps(_mm512_set1_ps(10.0f), z);
  const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f),
                                 _mm512_fmadd_ps(z, _mm512_set1_ps(0.5f), _mm512_set1_ps(1.0f)));
  __m512 q = _mm512_set1_ps(1.353464928e-02f);
  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(-1.296140552e-01f));
  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(4.428111315e-01f));
  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(-6.870458126e-01f));
  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(4.341518879e-01f));
  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(-1.045284793e-01f));
  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(2.274455130e-01f));
  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(2.382882237e-01f));
  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(2.828940153e-01f));
  q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(2.820628881e-01f));
  // z² = hi + lo exactly; e^(−hi−lo) ≈ e^(−hi)·(1 − lo) keeps the relative
  // error of the tail small where z² is large.
  const __m512 hi = _mm512_mul_ps(z, z);
  const __m512 lo = _mm512_fmsub_ps(z, z, hi);
  __m512 e = Exp(_mm512_sub_ps(_mm512_setzero_ps(), hi));
  e = _mm512_fnmadd_ps(e, lo, e);
  *exp_neg_z2 = e;
  return _mm512_mul_ps(_mm512_mul_ps(t, e), q);
}

// erf(x), absolute error below 4e-7 everywhere.
inline __m512 Erf(__m512 x) {
  const __m512 sign = _mm512_castsi512_ps(_mm512_set1_epi32(static_cast<int>(0x80000000u)));
  const __m512 ax = _mm512_andnot_ps(sign, x);
  __m512 unused;
  const __m512 r = _mm512_sub_ps(_mm512_set1_ps(1.0f), ErfcNonNegative(ax, &unused));
  return _mm512_or_ps(r, _mm512_and_ps(x, sign));
}

// Φ(x), the standard normal CDF, from erfc so that it keeps its relative
// accuracy for negative x; *pdf gets φ(x) = e^(−x²/2)/√(2π).
inline __m512 NormalCdf(__m512 x, __m512* pdf) {
  const __m512 sign = _mm512_castsi512_ps(_mm512_set1_epi32(static_cast<int>(0x80000000u)));
  const __m512 z = _mm512_mul_ps(_mm512_andnot_ps(sign, x), _mm512_set1_ps(0.70710678118654752f));
  __m512 e;
  const __m512 half_erfc = _mm512_mul_ps(ErfcNonNegative(z, &e), _mm512_set1_ps(0.5f));
  *pdf = _mm512_mul_ps(e, _mm512_set1_ps(0.39894228040143267794f));
  const __mmask16 negative = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
  return _mm512_mask_blend_ps(negative, _mm512_sub_ps(_mm512_set1_ps(1.0f), half_erfc), half_erfc);
}

// Exact (erf) GELU: x·Φ(x); absolute error below ~4e-7·max(1, |x|).
// Φ's argument is clamped to ±12.5: beyond it Φ is 1.0f or below 4e-36, and the
// clamp keeps e^(−z²) and Φ out of the subnormals, whose microcode assists made
// GELU several times slower on large activations (GEMM epilogues).
inline __m512 Gelu(__m512 x) {
  __m512 pdf;
  const __m512 xc = _mm512_min_ps(_mm512_set1_ps(12.5f), _mm512_max_ps(_mm512_set1_ps(-12.5f), x));
  return _mm512_mul_ps(x, NormalCdf(xc, &pdf));
}

// d/dx GELU = Φ(x) + x·φ(x).
inline __m512 GeluGrad(__m512 x) {
  __m512 pdf;
  const __m512 cdf = NormalCdf(x, &pdf);
  return _mm512_fmadd_ps(x, pdf, cdf);
}

// ---- log, sin/cos (random streams: Box-Muller) ----------------------------------

// ln x for positive normal x, within ~2 ulp: x = m·2^e with m in [√½, √2), so
// f = m − 1 is exact and ln(1 + f) = f − f²/2 + f³·P(f) (Cephes-style minimax
// P, degree 8); e·ln2 is added in two parts so the sum keeps its low bits.
// Zero, negatives, subnormals, infinities and NaN are not handled.
inline __m512 Log(__m512 x) {
  __m512 m = _mm512_getmant_ps(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
  __m512 e = _mm512_getexp_ps(x);
  const __mmask16 big = _mm512_cmp_ps_mask(m, _mm512_set1_ps(1.41421356237f), _CMP_GT_OQ);
  m = _mm512_mask_mul_ps(m, big, m, _mm512_set1_ps(0.5f));
  e = _mm512_mask_add_ps(e, big, e, _mm512_set1_ps(1.0f));
  const __m512 f = _mm512_sub_ps(m, _mm512_set1_ps(1.0f));
  const __m512 z = _mm512_mul_ps(f, f);
  __m512 p = _mm512_set1_ps(7.0376836292e-2f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-1.1514610310e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.1676998740e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-1.2420140846e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.4249322787e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-1.6668057665e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.0000714765e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-2.4999993993e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(3.3333331174e-1f));
  __m512 y = _mm512_mul_ps(_mm512_mul_ps(p, f), z);
  y = _mm512_fmadd_ps(e, _mm512_set1_ps(-2.12194440e-4f), y);
  y = _mm512_fnmadd_ps(z, _mm512_set1_ps(0.5f), y);
  return _mm512_fmadd_ps(e, _mm512_set1_ps(0.693359375f), _mm512_add_ps(f, y));
}

// sin(2πt) and cos(2πt) for |t| <= 2^20, within ~2 ulp (and exact zeros at
// multiples of a quarter turn). Working in turns keeps the reduction exact:
// t = q/4 + f with q an integer and |f| <= 1/8 (t − q/4 is representable), then
// sin(2πf) and cos(2πf) are Taylor series in f (degree 9 and 10; truncation
// below 3e-9 relative) and q mod 4 picks the quadrant.
inline void SinCos2Pi(__m512 t, __m512* sin_out, __m512* cos_out) {
  const __m512 q = _mm512_roundscale_ps(_mm512_mul_ps(t, _mm512_set1_ps(4.0f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_fnmadd_ps(q, _mm512_set1_ps(0.25f), t);
  const __m512 f2 = _mm512_mul_ps(f, f);
  __m512 s = _mm512_set1_ps(42.058693944897634f);
  s = _mm512_fmadd_ps(s, f2, _mm512_set1_ps(-76.70585975306136f));
  s = _mm512_fmadd_ps(s, f2, _mm512_set1_ps(81.60524927607504f));
  s = _mm512_fmadd_ps(s, f2, _mm512_set1_ps(-41.341702240399755f));
  s = _mm512_fmadd_ps(s, f2, _mm512_set1_ps(6.283185307179586f));
  s = _mm512_mul_ps(s, f);
  __m512 c = _mm512_set1_ps(-26.426256783374388f);
  c = _mm512_fmadd_ps(c, f2, _mm512_set1_ps(60.24464137187664f));
  c = _mm512_fmadd_ps(c, f2, _mm512_set1_ps(-85.45681720669371f));
  c = _mm512_fmadd_ps(c, f2, _mm512_set1_ps(64.93939402266828f));
  c = _mm512_fmadd_ps(c, f2, _mm512_set1_ps(-19.739208802178716f));
  c = _mm512_fmadd_ps(c, f2, _mm512_set1_ps(1.0f));
  // Quadrant q: odd q swaps sin and cos; sin is negated for q = 2, 3 and cos
  // for q = 1, 2 (mod 4), i.e. by bit 1 of q and of q + 1.
  const __m512i qi = _mm512_cvtps_epi32(q);
  const __mmask16 swap = _mm512_test_epi32_mask(qi, _mm512_set1_epi32(1));
  const __m512i two = _mm512_set1_epi32(2);
  const __m512i sin_sign = _mm512_slli_epi32(_mm512_and_si512(qi, two), 30);
  const __m512i cos_sign = _mm512_slli_epi32(_mm512_and_si512(_mm512_add_epi32(qi, _mm512_set1_epi32(1)), two), 30);
  const __m512 sv = _mm512_mask_blend_ps(swap, s, c), cv = _mm512_mask_blend_ps(swap, c, s);
  *sin_out = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(sv), sin_sign));
  *cos_out = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(cv), cos_sign));
}

}  // namespace avx512
}  // namespace frugal
