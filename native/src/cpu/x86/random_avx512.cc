// Random streams on AVX-512: Philox4x32-10 on 16 counters at once (one block
// per lane), then the words are turned into the requested values and written
// in stream order, 64 elements per group.
//
// Lane l of a group holds block base + lane_block[l], a permutation chosen so
// that the two unpack stages of Interleave put blocks 0-3, 4-7, 8-11, 12-15
// into consecutive vectors: the 4×16 → 64 transpose needs no cross-lane shuffle.
#include <cstdint>
#include <cstring>

#include "cpu/random_kernels.h"
#include "cpu/x86/simd_math_avx512.h"

namespace frugal {
namespace avx512 {
namespace {

constexpr int kGroup = 64;  // stream elements per group: 16 blocks of 4 words

// Per-lane 32×32 → 64-bit products: _mm512_mul_epu32 multiplies the even
// lanes; the odd lanes are shifted down and multiplied separately.
inline void MulHiLo(__m512i x, __m512i mul, __m512i* hi, __m512i* lo) {
  const __m512i even = _mm512_mul_epu32(x, mul);
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), mul);
  *hi = _mm512_mask_shuffle_epi32(odd, 0x5555, even, _MM_PERM_CDAB);
  *lo = _mm512_mask_shuffle_epi32(even, 0xAAAA, odd, _MM_PERM_CDAB);
}

struct Words4 {
  __m512i w0, w1, w2, w3;
};

// Philox rounds on G independent groups of 16 blocks (x[g]: group g). Two
// groups in flight hide the multiply latency of the round's dependency chain.
template <int G>
inline void Philox16(StreamId id, const uint64_t block[G], Words4 x[G]) {
  const __m512i lane_block = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  for (int g = 0; g < G; ++g) {
    const __m512i lo = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(block[g])), lane_block);
    const __mmask16 carry = _mm512_cmplt_epu32_mask(lo, lane_block);  // the low counter word wrapped
    const __m512i hi = _mm512_set1_epi32(static_cast<int>(block[g] >> 32));
    x[g] = {lo, _mm512_mask_add_epi32(hi, carry, hi, _mm512_set1_epi32(1)), _mm512_set1_epi32(static_cast<int>(id.sub)),
            _mm512_set1_epi32(static_cast<int>(id.tag))};
  }
  const __m512i m0 = _mm512_set1_epi32(static_cast<int>(kPhiloxMul0)), m1 = _mm512_set1_epi32(static_cast<int>(kPhiloxMul1));
  uint32_t k0 = static_cast<uint32_t>(id.seed), k1 = static_cast<uint32_t>(id.seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const __m512i key0 = _mm512_set1_epi32(static_cast<int>(k0)), key1 = _mm512_set1_epi32(static_cast<int>(k1));
    for (int g = 0; g < G; ++g) {
      __m512i h0, l0, h1, l1;
      MulHiLo(x[g].w0, m0, &h0, &l0);
      MulHiLo(x[g].w2, m1, &h1, &l1);
      x[g].w0 = _mm512_ternarylogic_epi32(h1, x[g].w1, key0, 0x96);  // a ^ b ^ c
      x[g].w2 = _mm512_ternarylogic_epi32(h0, x[g].w3, key1, 0x96);
      x[g].w1 = l1;
      x[g].w3 = l0;
    }
    k0 += kPhiloxWeyl0;
    k1 += kPhiloxWeyl1;
  }
}

// Element j of block b sits in lane l(b) of v_j; writes the group's 64
// elements in stream order (see the lane permutation above).
inline void Interleave(const Words4& v, __m512i out[4]) {
  const __m512i t0 = _mm512_unpacklo_epi32(v.w0, v.w1), t1 = _mm512_unpackhi_epi32(v.w0, v.w1);
  const __m512i t2 = _mm512_unpacklo_epi32(v.w2, v.w3), t3 = _mm512_unpackhi_epi32(v.w2, v.w3);
  out[0] = _mm512_unpacklo_epi64(t0, t2);
  out[1] = _mm512_unpackhi_epi64(t0, t2);
  out[2] = _mm512_unpacklo_epi64(t1, t3);
  out[3] = _mm512_unpackhi_epi64(t1, t3);
}

inline __m512 ToUnit(__m512i w) {  // (w >> 8)·2^-24, exact
  return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(w, 8)), _mm512_set1_ps(0x1p-24f));
}

// Box–Muller on words a and b of each block: (r·cos 2πu2, r·sin 2πu2)·scale.
inline void BoxMuller(__m512i a, __m512i b, __m512 scale, __m512i* c, __m512i* s) {
  const __m512 u1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_srli_epi32(a, 8), _mm512_set1_epi32(1))),
                                  _mm512_set1_ps(0x1p-24f));
  const __m512 r = _mm512_mul_ps(_mm512_sqrt_ps(_mm512_mul_ps(Log(u1), _mm512_set1_ps(-2.0f))), scale);
  __m512 sn, cs;
  SinCos2Pi(ToUnit(b), &sn, &cs);
  *c = _mm512_castps_si512(_mm512_mul_ps(r, cs));
  *s = _mm512_castps_si512(_mm512_mul_ps(r, sn));
}

// Fills out[0..n) with stream elements [offset, offset + n): whole groups go
// straight to `out`, two at a time; a group cut by either end goes through a
// local buffer. Every element comes from the same vector code whatever the
// offset and n are, so any slice equals the same elements of a longer call.
// make(words) -> Words4 of 32-bit results, element j of each block in .wj.
template <typename T, typename Make>
void Fill(StreamId id, uint64_t offset, int64_t n, T* out, Make make) {
  static_assert(sizeof(T) == 4, "32-bit elements");
  uint64_t block = offset / 4;
  int64_t pos = -static_cast<int64_t>(offset % 4);  // out index of the group's first element
  for (; pos < n; pos += kGroup, block += kGroup / 4) {
    if (pos >= 0 && pos + 2 * kGroup <= n) {
      const uint64_t blocks[2] = {block, block + kGroup / 4};
      Words4 x[2];
      Philox16<2>(id, blocks, x);
      for (int g = 0; g < 2; ++g) {
        __m512i v[4];
        Interleave(make(x[g]), v);
        for (int j = 0; j < 4; ++j) _mm512_storeu_si512(out + pos + g * kGroup + 16 * j, v[j]);
      }
      pos += kGroup;
      block += kGroup / 4;
      continue;
    }
    Words4 x;
    Philox16<1>(id, &block, &x);
    __m512i v[4];
    Interleave(make(x), v);
    if (pos >= 0 && pos + kGroup <= n) {
      for (int j = 0; j < 4; ++j) _mm512_storeu_si512(out + pos + 16 * j, v[j]);
    } else {
      alignas(64) T tmp[kGroup];
      for (int j = 0; j < 4; ++j) _mm512_store_si512(tmp + 16 * j, v[j]);
      const int64_t from = pos < 0 ? -pos : 0, to = n - pos < kGroup ? n - pos : kGroup;
      std::memcpy(out + pos + from, tmp + from, static_cast<size_t>(to - from) * sizeof(T));
    }
  }
}

}  // namespace

void RandomWords(StreamId id, uint64_t offset, int64_t n, uint32_t* out) {
  Fill(id, offset, n, out, [](const Words4& w) { return w; });
}

void RandomUniform(StreamId id, uint64_t offset, int64_t n, float* out) {
  Fill(id, offset, n, out, [](const Words4& w) {
    return Words4{_mm512_castps_si512(ToUnit(w.w0)), _mm512_castps_si512(ToUnit(w.w1)),
                  _mm512_castps_si512(ToUnit(w.w2)), _mm512_castps_si512(ToUnit(w.w3))};
  });
}

void RandomNormal(StreamId id, uint64_t offset, int64_t n, float scale, float* out) {
  const __m512 s = _mm512_set1_ps(scale);
  Fill(id, offset, n, out, [s](const Words4& w) {
    Words4 r;
    BoxMuller(w.w0, w.w1, s, &r.w0, &r.w1);
    BoxMuller(w.w2, w.w3, s, &r.w2, &r.w3);
    return r;
  });
}

void RandomRademacher(StreamId id, uint64_t offset, int64_t n, float scale, float* out) {
  // +scale when w < 2^31, else −scale: the word's top bit flips scale's sign.
  const __m512i s = _mm512_castps_si512(_mm512_set1_ps(scale)), top = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  Fill(id, offset, n, out, [s, top](const Words4& w) {
    const auto sign = [&](__m512i x) { return _mm512_ternarylogic_epi32(s, x, top, 0x78); };  // s ^ (x & top)
    return Words4{sign(w.w0), sign(w.w1), sign(w.w2), sign(w.w3)};
  });
}

}  // namespace avx512
}  // namespace frugal
