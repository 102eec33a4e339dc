// The AVX-512 vector wrapper (16 fp32 lanes): the same names as vec_avx2.h,
// each force-inlined onto one or two intrinsics. A Mask is an opmask register;
// masked loads and stores are cheap here, and scalef, getmant/getexp,
// ternarylogic and opmask blends replace AVX2's multi-instruction forms.
#pragma once
#include "cpu/simd/vec_base.h"

namespace frugal {
namespace avx512 {

using Mask = __mmask16;
// Masked loads and stores cost what plain ones do: tails stay in vectors.
constexpr bool kCheapMasks = true;

#define FRUGAL_VEC_BITS 512
#include "cpu/simd/vec_common-inl.h"
#undef FRUGAL_VEC_BITS

FRUGAL_VEC F Round(F a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

// Sum and maximum of the lanes, in a fixed order (deterministic).
FRUGAL_VEC float ReduceAdd(F v) { return _mm512_reduce_add_ps(v); }
FRUGAL_VEC float ReduceMax(F v) { return _mm512_reduce_max_ps(v); }

// ---- masks --------------------------------------------------------------------
// Lanes [0, rem) (rem may exceed the lane count: then all lanes).
FRUGAL_VEC Mask TailMask(int64_t rem) {
  return rem >= 16 ? static_cast<Mask>(0xffff) : static_cast<Mask>((1u << rem) - 1u);
}
FRUGAL_VEC Mask AllLanes() { return static_cast<Mask>(0xffff); }
FRUGAL_VEC F LoadTail(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }  // zeros elsewhere
FRUGAL_VEC void StoreTail(float* p, Mask m, F v) { _mm512_mask_storeu_ps(p, m, v); }
// Masked-off lanes load `other` instead.
FRUGAL_VEC F LoadTailOr(const float* p, Mask m, F other) { return _mm512_mask_loadu_ps(other, m, p); }
FRUGAL_VEC Mask Less(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
FRUGAL_VEC Mask Greater(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
FRUGAL_VEC F Select(Mask m, F if_set, F if_clear) { return _mm512_mask_blend_ps(m, if_clear, if_set); }
FRUGAL_VEC F KeepLanes(Mask m, F v) { return _mm512_maskz_mov_ps(m, v); }  // zero elsewhere
FRUGAL_VEC F AddWhere(Mask m, F a, F b) { return _mm512_mask_add_ps(a, m, a, b); }

FRUGAL_VEC I Xor3(I a, I b, I c) { return _mm512_ternarylogic_epi32(a, b, c, 0x96); }
FRUGAL_VEC I XorAnd(I a, I b, I c) { return _mm512_ternarylogic_epi32(a, b, c, 0x78); }  // a ^ (b & c)
FRUGAL_VEC F AsFloat(I a) { return _mm512_castsi512_ps(a); }
FRUGAL_VEC I AsInt(F a) { return _mm512_castps_si512(a); }
FRUGAL_VEC void StoreI(void* p, I v) { _mm512_storeu_si512(p, v); }
FRUGAL_VEC I LoadI(const void* p) { return _mm512_loadu_si512(p); }
// base[idx[l]] in lane l (the bilinear resize's column taps).
FRUGAL_VEC F Gather(const float* base, I idx) { return _mm512_i32gather_ps(idx, base, 4); }
// Lanes whose bit 0 is set.
FRUGAL_VEC Mask OddLanes(I a) { return _mm512_test_epi32_mask(a, _mm512_set1_epi32(1)); }

// ---- lane shuffles (2×2 pooling) -------------------------------------------------
// The even and odd elements of the 2·kLanes floats a, b (a first): even =
// a0 a2 … b0 b2 …, odd = a1 a3 … b1 b3 … (one two-source permute each).
FRUGAL_VEC void Deinterleave(F a, F b, F* even, F* odd) {
  const I e = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  *even = _mm512_permutex2var_ps(a, e, b);
  *odd = _mm512_permutex2var_ps(a, _mm512_add_epi32(e, _mm512_set1_epi32(1)), b);
}
// Its inverse: lo = e0 o0 e1 o1 …, hi the next kLanes.
FRUGAL_VEC void Interleave(F even, F odd, F* lo, F* hi) {
  const I l = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  *lo = _mm512_permutex2var_ps(even, l, odd);
  *hi = _mm512_permutex2var_ps(even, _mm512_add_epi32(l, _mm512_set1_epi32(8)), odd);
}
// Lanes where a beats b as a running first maximum: a > b, or a NaN while b
// is not (a NaN in b stays).
FRUGAL_VEC Mask Beats(F a, F b) { return _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(b, b, _CMP_ORD_Q), a, b, _CMP_NLE_UQ); }

// ---- fp64 lanes (sums that must keep full precision) ------------------------------
FRUGAL_VEC D ToDoubleLo(F a) { return _mm512_cvtps_pd(_mm512_extractf32x8_ps(a, 0)); }
FRUGAL_VEC D ToDoubleHi(F a) { return _mm512_cvtps_pd(_mm512_extractf32x8_ps(a, 1)); }
FRUGAL_VEC double ReduceAddD(D v) { return _mm512_reduce_add_pd(v); }

// ---- per-ISA forms of shared steps ------------------------------------------------
// y·2^n for integer-valued n (scalef is exact through the subnormal range).
FRUGAL_VEC F ScaleByPow2(F y, F n) { return _mm512_scalef_ps(y, n); }

// x = m·2^e for positive normal x, m in [1, 2).
FRUGAL_VEC void SplitExponent(F x, F* m, F* e) {
  *m = _mm512_getmant_ps(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
  *e = _mm512_getexp_ps(x);
}

// Per-lane 32×32 → 64-bit products: mul_epu32 multiplies the even lanes; the
// odd lanes are shifted down and multiplied separately.
FRUGAL_VEC void MulHiLo(I x, I mul, I* hi, I* lo) {
  const I even = _mm512_mul_epu32(x, mul);
  const I odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), mul);
  *hi = _mm512_mask_shuffle_epi32(odd, 0x5555, even, _MM_PERM_CDAB);
  *lo = _mm512_mask_shuffle_epi32(even, 0xAAAA, odd, _MM_PERM_CDAB);
}

// Philox counter words (lo, hi) of blocks block + lane_block[l]: lane_block is
// the permutation under which Interleave's two unpack stages put consecutive
// blocks into consecutive vectors (no cross-lane shuffle in the transpose).
FRUGAL_VEC void CounterLanes(uint64_t block, I* lo, I* hi) {
  const I lane_block = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  *lo = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(block)), lane_block);
  const Mask carry = _mm512_cmplt_epu32_mask(*lo, lane_block);  // the low word wrapped
  const I h = _mm512_set1_epi32(static_cast<int>(block >> 32));
  *hi = _mm512_mask_add_epi32(h, carry, h, _mm512_set1_epi32(1));
}


// Loop shapes and the math (exp, erf, GELU, log, sin/cos) over these operations.
#include "cpu/simd/loops-inl.h"
#include "cpu/simd/math-inl.h"

}  // namespace avx512
}  // namespace frugal
