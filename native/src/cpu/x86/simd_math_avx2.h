// Vectorised math for the avx2 kernels (included only by *_avx2.cc files).
// Accuracy: a few ulp over the ranges stated per function; tested against <cmath>
// in native/tests. One owner per section; add functions, never a second copy.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace frugal {
namespace avx2 {

// ---- exp, erf, gelu (activation family; also used by GEMM epilogues) ----------

// Lanes [0, rem) of an 8-lane tail as a maskload/maskstore mask (rem may exceed 8).
inline __m256i TailMask(int64_t rem) {
  const int r = rem >= 8 ? 8 : static_cast<int>(rem);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Sum and maximum of the 8 lanes (fixed order: deterministic).
inline float ReduceAdd(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline float ReduceMax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// e^x: within 2 ulp for normal results; overflows to +inf above ~88.72, goes
// through subnormals to 0 below ~-87.3, NaN stays NaN.
inline __m256 Exp(__m256 x) {
  // Clamp first so n stays small; max/min return their second operand on NaN.
  x = _mm256_min_ps(_mm256_set1_ps(88.8f), _mm256_max_ps(_mm256_set1_ps(-104.0f), x));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // r = x − n·ln2 with ln2 split in two so r keeps its low bits.
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  // e^r = 1 + r + r²·P(r) on |r| <= ln2/2 (minimax P, degree 5).
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 y = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(r, r), p, r), _mm256_set1_ps(1.0f));
  // y·2^n as y·2^a·2^b with a + b = n, |a|, |b| <= 128: both factors are
  // normal floats, so results near the overflow and subnormal edges stay right.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i a = _mm256_srai_epi32(ni, 1);
  const __m256i b = _mm256_sub_epi32(ni, a);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 pa = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(a, bias), 23));
  const __m256 pb = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(b, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(y, pa), pb);
}

// erfc(z) for z >= 0 (or NaN), relative error ~3e-7; also returns e^(−z²) in
// *exp_neg_z2 (GELU's backward reuses it for the normal density). Form:
// erfc(z) = t·e^(−z²)·Q(t), t = 1/(1 + z/2), Q a degree-9 least-squares fit of
// erfcx(z)/t on z in [0, 10]; z is clamped to 10 (erfc(10) ~ 2e-45).
inline __m256 ErfcNonNegative(__m256 z, __m256* exp_neg_z2) {
  z = _mm256_min_ps(_mm256_set1_ps(10.0f), z);
  const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f),
                                 _mm256_fmadd_ps(z, _mm256_set1_ps(0.5f), _mm256_set1_ps(1.0f)));
  __m256 q = _mm256_set1_ps(1.353464928e-02f);
  q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(-1.296140552e-01f));
  q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(4.428111315e-01f));
  q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(-6.870458126e-01f));
  q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(4.341518879e-01f));
  q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(-1.045284793e-01f));
  q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(2.274455130e-01f));
  q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(2.382882237e-01f));
  q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(2.828940153e-01f));
  q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(2.820628881e-01f));
  // z² = hi + lo exactly; e^(−hi−lo) ≈ e^(−hi)·(1 − lo) keeps the relative
  // error of the tail small where z² is large.
  const __m256 hi = _mm256_mul_ps(z, z);
  const __m256 lo = _mm256_fmsub_ps(z, z, hi);
  __m256 e = Exp(_mm256_sub_ps(_mm256_setzero_ps(), hi));
  e = _mm256_fnmadd_ps(e, lo, e);
  *exp_neg_z2 = e;
  return _mm256_mul_ps(_mm256_mul_ps(t, e), q);
}

// erf(x), absolute error below 4e-7 everywhere.
inline __m256 Erf(__m256 x) {
  const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(0x80000000u)));
  const __m256 ax = _mm256_andnot_ps(sign, x);
  __m256 unused;
  const __m256 r = _mm256_sub_ps(_mm256_set1_ps(1.0f), ErfcNonNegative(ax, &unused));
  return _mm256_or_ps(r, _mm256_and_ps(x, sign));
}

// Φ(x), the standard normal CDF, from erfc so that it keeps its relative
// accuracy for negative x; *pdf gets φ(x) = e^(−x²/2)/√(2π).
inline __m256 NormalCdf(__m256 x, __m256* pdf) {
  const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(0x80000000u)));
  const __m256 z = _mm256_mul_ps(_mm256_andnot_ps(sign, x), _mm256_set1_ps(0.70710678118654752f));
  __m256 e;
  const __m256 half_erfc = _mm256_mul_ps(ErfcNonNegative(z, &e), _mm256_set1_ps(0.5f));
  *pdf = _mm256_mul_ps(e, _mm256_set1_ps(0.39894228040143267794f));
  const __m256 negative = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
  return _mm256_blendv_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), half_erfc), half_erfc, negative);
}

// Exact (erf) GELU: x·Φ(x); absolute error below ~4e-7·max(1, |x|).
// Φ's argument is clamped to ±12.5: beyond it Φ is 1.0f or below 4e-36, and the
// clamp keeps e^(−z²) and Φ out of the subnormals, whose microcode assists made
// GELU several times slower on large activations (GEMM epilogues).
inline __m256 Gelu(__m256 x) {
  __m256 pdf;
  const __m256 xc = _mm256_min_ps(_mm256_set1_ps(12.5f), _mm256_max_ps(_mm256_set1_ps(-12.5f), x));
  return _mm256_mul_ps(x, NormalCdf(xc, &pdf));
}

// d/dx GELU = Φ(x) + x·φ(x).
inline __m256 GeluGrad(__m256 x) {
  __m256 pdf;
  const __m256 cdf = NormalCdf(x, &pdf);
  return _mm256_fmadd_ps(x, pdf, cdf);
}

// ---- log, sin/cos (random streams: Box-Muller) ----------------------------------

// ln x for positive normal x, within ~2 ulp: x = m·2^e with m in [√½, √2), so
// f = m − 1 is exact and ln(1 + f) = f − f²/2 + f³·P(f) (Cephes-style minimax
// P, degree 8); e·ln2 is added in two parts so the sum keeps its low bits.
// Zero, negatives, subnormals, infinities and NaN are not handled.
inline __m256 Log(__m256 x) {
  const __m256i bits = _mm256_castps_si256(x);
  __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127)));
  __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                                                 _mm256_set1_epi32(0x3f800000)));
  const __m256 big = _mm256_cmp_ps(m, _mm256_set1_ps(1.41421356237f), _CMP_GT_OQ);
  m = _mm256_blendv_ps(m, _mm256_mul_ps(m, _mm256_set1_ps(0.5f)), big);
  e = _mm256_add_ps(e, _mm256_and_ps(big, _mm256_set1_ps(1.0f)));
  const __m256 f = _mm256_sub_ps(m, _mm256_set1_ps(1.0f));
  const __m256 z = _mm256_mul_ps(f, f);
  __m256 p = _mm256_set1_ps(7.0376836292e-2f);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.1514610310e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.1676998740e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.2420140846e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.4249322787e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.6668057665e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.0000714765e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-2.4999993993e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(3.3333331174e-1f));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, f), z);
  y = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.12194440e-4f), y);
  y = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), y);
  return _mm256_fmadd_ps(e, _mm256_set1_ps(0.693359375f), _mm256_add_ps(f, y));
}

// sin(2πt) and cos(2πt) for |t| <= 2^20, within ~2 ulp (and exact zeros at
// multiples of a quarter turn). Working in turns keeps the reduction exact:
// t = q/4 + f with q an integer and |f| <= 1/8 (t − q/4 is representable), then
// sin(2πf) and cos(2πf) are Taylor series in f (degree 9 and 10; truncation
// below 3e-9 relative) and q mod 4 picks the quadrant.
inline void SinCos2Pi(__m256 t, __m256* sin_out, __m256* cos_out) {
  const __m256 q = _mm256_round_ps(_mm256_mul_ps(t, _mm256_set1_ps(4.0f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 f = _mm256_fnmadd_ps(q, _mm256_set1_ps(0.25f), t);
  const __m256 f2 = _mm256_mul_ps(f, f);
  __m256 s = _mm256_set1_ps(42.058693944897634f);
  s = _mm256_fmadd_ps(s, f2, _mm256_set1_ps(-76.70585975306136f));
  s = _mm256_fmadd_ps(s, f2, _mm256_set1_ps(81.60524927607504f));
  s = _mm256_fmadd_ps(s, f2, _mm256_set1_ps(-41.341702240399755f));
  s = _mm256_fmadd_ps(s, f2, _mm256_set1_ps(6.283185307179586f));
  s = _mm256_mul_ps(s, f);
  __m256 c = _mm256_set1_ps(-26.426256783374388f);
  c = _mm256_fmadd_ps(c, f2, _mm256_set1_ps(60.24464137187664f));
  c = _mm256_fmadd_ps(c, f2, _mm256_set1_ps(-85.45681720669371f));
  c = _mm256_fmadd_ps(c, f2, _mm256_set1_ps(64.93939402266828f));
  c = _mm256_fmadd_ps(c, f2, _mm256_set1_ps(-19.739208802178716f));
  c = _mm256_fmadd_ps(c, f2, _mm256_set1_ps(1.0f));
  // Quadrant q: odd q swaps sin and cos; sin is negated for q = 2, 3 and cos
  // for q = 1, 2 (mod 4), i.e. by bit 1 of q and of q + 1.
  const __m256i qi = _mm256_cvtps_epi32(q);
  const __m256 swap = _mm256_castsi256_ps(_mm256_slli_epi32(qi, 31));  // blendv reads the sign bit
  const __m256i two = _mm256_set1_epi32(2);
  const __m256i sin_sign = _mm256_slli_epi32(_mm256_and_si256(qi, two), 30);
  const __m256i cos_sign = _mm256_slli_epi32(_mm256_and_si256(_mm256_add_epi32(qi, _mm256_set1_epi32(1)), two), 30);
  const __m256 sv = _mm256_blendv_ps(s, c, swap), cv = _mm256_blendv_ps(c, s, swap);
  *sin_out = _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(sv), sin_sign));
  *cos_out = _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(cv), cos_sign));
}

}  // namespace avx2
}  // namespace frugal
