// The AVX2 vector wrapper (8 fp32 lanes): the few operations the single-source
// kernels (native/src/cpu/*-inl.h) are written in, each force-inlined onto one
// or two intrinsics so a kernel compiles to what hand-written AVX2 would.
// vec_avx512.h has the same names; a kernel includes neither directly.
//
// A Mask marks lanes: all bits of a lane set (TailMask, comparisons). AVX2
// choice kept as a trait: plain loads and stores for full vectors, vmaskmov only
// in tails (it is microcoded on AMD).
#pragma once
#include "cpu/simd/vec_base.h"

namespace frugal {
namespace avx2 {

using Mask = __m256i;
// Masked loads and stores are microcoded on AMD: short tails run scalar instead.
constexpr bool kCheapMasks = false;

#define FRUGAL_VEC_BITS 256
#include "cpu/simd/vec_common-inl.h"
#undef FRUGAL_VEC_BITS

FRUGAL_VEC F Round(F a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

// Sum and maximum of the lanes, in a fixed order (deterministic).
FRUGAL_VEC float ReduceAdd(F v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
FRUGAL_VEC float ReduceMax(F v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// ---- masks --------------------------------------------------------------------
// Lanes [0, rem) (rem may exceed the lane count: then all lanes).
FRUGAL_VEC Mask TailMask(int64_t rem) {
  const int r = rem >= 8 ? 8 : static_cast<int>(rem);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
FRUGAL_VEC Mask AllLanes() { return _mm256_set1_epi32(-1); }
FRUGAL_VEC F LoadTail(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }  // zeros elsewhere
FRUGAL_VEC void StoreTail(float* p, Mask m, F v) { _mm256_maskstore_ps(p, m, v); }
// Masked-off lanes load `other` instead.
FRUGAL_VEC F LoadTailOr(const float* p, Mask m, F other) {
  return _mm256_blendv_ps(other, _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
FRUGAL_VEC Mask Less(F a, F b) { return _mm256_castps_si256(_mm256_cmp_ps(a, b, _CMP_LT_OQ)); }
FRUGAL_VEC Mask Greater(F a, F b) { return _mm256_castps_si256(_mm256_cmp_ps(a, b, _CMP_GT_OQ)); }
FRUGAL_VEC F Select(Mask m, F if_set, F if_clear) { return _mm256_blendv_ps(if_clear, if_set, _mm256_castsi256_ps(m)); }
FRUGAL_VEC F KeepLanes(Mask m, F v) { return _mm256_and_ps(v, _mm256_castsi256_ps(m)); }  // zero elsewhere
FRUGAL_VEC F AddWhere(Mask m, F a, F b) { return _mm256_add_ps(a, _mm256_and_ps(b, _mm256_castsi256_ps(m))); }

FRUGAL_VEC I Xor3(I a, I b, I c) { return _mm256_xor_si256(_mm256_xor_si256(a, b), c); }
FRUGAL_VEC I XorAnd(I a, I b, I c) { return _mm256_xor_si256(a, _mm256_and_si256(b, c)); }  // a ^ (b & c)
FRUGAL_VEC F AsFloat(I a) { return _mm256_castsi256_ps(a); }
FRUGAL_VEC I AsInt(F a) { return _mm256_castps_si256(a); }
FRUGAL_VEC void StoreI(void* p, I v) { _mm256_storeu_si256(static_cast<__m256i*>(p), v); }
FRUGAL_VEC I LoadI(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
// base[idx[l]] in lane l (the bilinear resize's column taps).
FRUGAL_VEC F Gather(const float* base, I idx) { return _mm256_i32gather_ps(base, idx, 4); }
// Lanes whose bit 0 is set.
FRUGAL_VEC Mask OddLanes(I a) { return _mm256_srai_epi32(_mm256_slli_epi32(a, 31), 31); }

// ---- lane shuffles (2×2 pooling) -------------------------------------------------
// The even and odd elements of the 2·kLanes floats a, b (a first): even =
// a0 a2 … b0 b2 …, odd = a1 a3 … b1 b3 … (in-lane shuffles, then one 64-bit
// cross-lane permute each).
FRUGAL_VEC void Deinterleave(F a, F b, F* even, F* odd) {
  *even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
  *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8));
}
// Its inverse: lo = e0 o0 e1 o1 …, hi the next kLanes.
FRUGAL_VEC void Interleave(F even, F odd, F* lo, F* hi) {
  const F l = _mm256_unpacklo_ps(even, odd), h = _mm256_unpackhi_ps(even, odd);
  *lo = _mm256_permute2f128_ps(l, h, 0x20);
  *hi = _mm256_permute2f128_ps(l, h, 0x31);
}
// Lanes where a beats b as a running first maximum: a > b, or a NaN while b
// is not (a NaN in b stays).
FRUGAL_VEC Mask Beats(F a, F b) {
  return _mm256_castps_si256(_mm256_and_ps(_mm256_cmp_ps(a, b, _CMP_NLE_UQ), _mm256_cmp_ps(b, b, _CMP_ORD_Q)));
}

// ---- fp64 lanes (sums that must keep full precision) ------------------------------
FRUGAL_VEC D ToDoubleLo(F a) { return _mm256_cvtps_pd(_mm256_castps256_ps128(a)); }
FRUGAL_VEC D ToDoubleHi(F a) { return _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)); }
FRUGAL_VEC double ReduceAddD(D v) {
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, v);
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

// ---- per-ISA forms of shared steps ------------------------------------------------
// y·2^n for integer-valued n with |n| <= 256, as y·2^a·2^b with a + b = n and
// both factors normal floats, so results near the overflow and subnormal edges
// stay right (AVX-512 has scalef for this).
FRUGAL_VEC F ScaleByPow2(F y, F n) {
  const I ni = _mm256_cvtps_epi32(n);
  const I a = _mm256_srai_epi32(ni, 1);
  const I b = _mm256_sub_epi32(ni, a);
  const I bias = _mm256_set1_epi32(127);
  const F pa = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(a, bias), 23));
  const F pb = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(b, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(y, pa), pb);
}

// x = m·2^e for positive normal x, m in [1, 2).
FRUGAL_VEC void SplitExponent(F x, F* m, F* e) {
  const I bits = _mm256_castps_si256(x);
  *e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127)));
  *m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                                           _mm256_set1_epi32(0x3f800000)));
}

// Per-lane 32×32 → 64-bit products: mul_epu32 multiplies the even lanes; the
// odd lanes are shifted down and multiplied separately.
FRUGAL_VEC void MulHiLo(I x, I mul, I* hi, I* lo) {
  const I even = _mm256_mul_epu32(x, mul);
  const I odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), mul);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
  *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

// Philox counter words (lo, hi) of blocks block + lane_block[l]: lane_block is
// the permutation under which Interleave's two unpack stages put consecutive
// blocks into consecutive vectors (no cross-lane shuffle in the transpose).
FRUGAL_VEC void CounterLanes(uint64_t block, I* lo, I* hi) {
  const I lane_block = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  const I flip = _mm256_set1_epi32(static_cast<int>(0x80000000u));
  *lo = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(block)), lane_block);
  // The low word wrapped where lo < lane_block (unsigned: compare with the sign bits flipped).
  const I carry = _mm256_cmpgt_epi32(_mm256_xor_si256(lane_block, flip), _mm256_xor_si256(*lo, flip));
  *hi = _mm256_sub_epi32(_mm256_set1_epi32(static_cast<int>(block >> 32)), carry);
}


// Loop shapes and the math (exp, erf, GELU, log, sin/cos) over these operations.
#include "cpu/simd/loops-inl.h"
#include "cpu/simd/math-inl.h"

}  // namespace avx2
}  // namespace frugal
