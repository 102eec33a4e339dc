// Random streams on AVX2: Philox4x32-10 on 8 counters at once (one block per
// lane), then the words are turned into the requested values and written in
// stream order, 32 elements per group.
//
// Lane l of a group holds block base + lane_block[l], a permutation chosen so
// that the two unpack stages of Interleave put blocks 0-1, 2-3, 4-5, 6-7 into
// consecutive vectors: the 4×8 → 32 transpose needs no cross-lane shuffle.
#include <cstdint>
#include <cstring>

#include "cpu/random_kernels.h"
#include "cpu/x86/simd_math_avx2.h"

namespace frugal {
namespace avx2 {
namespace {

constexpr int kGroup = 32;  // stream elements per group: 8 blocks of 4 words

// Per-lane 32×32 → 64-bit products: _mm256_mul_epu32 multiplies the even
// lanes; the odd lanes are shifted down and multiplied separately.
inline void MulHiLo(__m256i x, __m256i mul, __m256i* hi, __m256i* lo) {
  const __m256i even = _mm256_mul_epu32(x, mul);
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), mul);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
  *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

struct Words4 {
  __m256i w0, w1, w2, w3;
};

// Philox rounds on G independent groups of 8 blocks (x[g]: group g). Two
// groups in flight hide the multiply latency of the round's dependency chain.
template <int G>
inline void Philox8(StreamId id, const uint64_t block[G], Words4 x[G]) {
  const __m256i lane_block = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  const __m256i flip = _mm256_set1_epi32(static_cast<int>(0x80000000u));
  for (int g = 0; g < G; ++g) {
    const __m256i lo = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(block[g])), lane_block);
    // The low counter word wrapped where lo < lane_block (unsigned: compare with the sign bits flipped).
    const __m256i carry = _mm256_cmpgt_epi32(_mm256_xor_si256(lane_block, flip), _mm256_xor_si256(lo, flip));
    x[g] = {lo, _mm256_sub_epi32(_mm256_set1_epi32(static_cast<int>(block[g] >> 32)), carry),
            _mm256_set1_epi32(static_cast<int>(id.sub)), _mm256_set1_epi32(static_cast<int>(id.tag))};
  }
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(kPhiloxMul0)), m1 = _mm256_set1_epi32(static_cast<int>(kPhiloxMul1));
  uint32_t k0 = static_cast<uint32_t>(id.seed), k1 = static_cast<uint32_t>(id.seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const __m256i key0 = _mm256_set1_epi32(static_cast<int>(k0)), key1 = _mm256_set1_epi32(static_cast<int>(k1));
    for (int g = 0; g < G; ++g) {
      __m256i h0, l0, h1, l1;
      MulHiLo(x[g].w0, m0, &h0, &l0);
      MulHiLo(x[g].w2, m1, &h1, &l1);
      x[g].w0 = _mm256_xor_si256(_mm256_xor_si256(h1, x[g].w1), key0);
      x[g].w2 = _mm256_xor_si256(_mm256_xor_si256(h0, x[g].w3), key1);
      x[g].w1 = l1;
      x[g].w3 = l0;
    }
    k0 += kPhiloxWeyl0;
    k1 += kPhiloxWeyl1;
  }
}

// Element j of block b sits in lane l(b) of v_j; writes the group's 32
// elements in stream order (see the lane permutation above).
inline void Interleave(const Words4& v, __m256i out[4]) {
  const __m256i t0 = _mm256_unpacklo_epi32(v.w0, v.w1), t1 = _mm256_unpackhi_epi32(v.w0, v.w1);
  const __m256i t2 = _mm256_unpacklo_epi32(v.w2, v.w3), t3 = _mm256_unpackhi_epi32(v.w2, v.w3);
  out[0] = _mm256_unpacklo_epi64(t0, t2);
  out[1] = _mm256_unpackhi_epi64(t0, t2);
  out[2] = _mm256_unpacklo_epi64(t1, t3);
  out[3] = _mm256_unpackhi_epi64(t1, t3);
}

inline __m256 ToUnit(__m256i w) {  // (w >> 8)·2^-24, exact
  return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(w, 8)), _mm256_set1_ps(0x1p-24f));
}

// Box–Muller on words a and b of each block: (r·cos 2πu2, r·sin 2πu2)·scale.
inline void BoxMuller(__m256i a, __m256i b, __m256 scale, __m256i* c, __m256i* s) {
  const __m256 u1 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_srli_epi32(a, 8), _mm256_set1_epi32(1))),
                                  _mm256_set1_ps(0x1p-24f));
  const __m256 r = _mm256_mul_ps(_mm256_sqrt_ps(_mm256_mul_ps(Log(u1), _mm256_set1_ps(-2.0f))), scale);
  __m256 sn, cs;
  SinCos2Pi(ToUnit(b), &sn, &cs);
  *c = _mm256_castps_si256(_mm256_mul_ps(r, cs));
  *s = _mm256_castps_si256(_mm256_mul_ps(r, sn));
}

// Fills out[0..n) with stream elements [offset, offset + n): whole groups go
// straight to `out`, two at a time; a group cut by either end goes through a
// local buffer. Every element comes from the same vector code whatever the
// offset and n are, so any slice equals the same elements of a longer call.
// make(words) -> Words4 of 32-bit results, element j of each block in .wj.
template <typename T, typename Make>
void Fill(StreamId id, uint64_t offset, int64_t n, T* out, Make make) {
  static_assert(sizeof(T) == 4, "32-bit elements");
  const auto store = [](T* p, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); };
  uint64_t block = offset / 4;
  int64_t pos = -static_cast<int64_t>(offset % 4);  // out index of the group's first element
  for (; pos < n; pos += kGroup, block += kGroup / 4) {
    if (pos >= 0 && pos + 2 * kGroup <= n) {
      const uint64_t blocks[2] = {block, block + kGroup / 4};
      Words4 x[2];
      Philox8<2>(id, blocks, x);
      for (int g = 0; g < 2; ++g) {
        __m256i v[4];
        Interleave(make(x[g]), v);
        for (int j = 0; j < 4; ++j) store(out + pos + g * kGroup + 8 * j, v[j]);
      }
      pos += kGroup;
      block += kGroup / 4;
      continue;
    }
    Words4 x;
    Philox8<1>(id, &block, &x);
    __m256i v[4];
    Interleave(make(x), v);
    if (pos >= 0 && pos + kGroup <= n) {
      for (int j = 0; j < 4; ++j) store(out + pos + 8 * j, v[j]);
    } else {
      alignas(32) T tmp[kGroup];
      for (int j = 0; j < 4; ++j) store(tmp + 8 * j, v[j]);
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
    return Words4{_mm256_castps_si256(ToUnit(w.w0)), _mm256_castps_si256(ToUnit(w.w1)),
                  _mm256_castps_si256(ToUnit(w.w2)), _mm256_castps_si256(ToUnit(w.w3))};
  });
}

void RandomNormal(StreamId id, uint64_t offset, int64_t n, float scale, float* out) {
  const __m256 s = _mm256_set1_ps(scale);
  Fill(id, offset, n, out, [s](const Words4& w) {
    Words4 r;
    BoxMuller(w.w0, w.w1, s, &r.w0, &r.w1);
    BoxMuller(w.w2, w.w3, s, &r.w2, &r.w3);
    return r;
  });
}

void RandomRademacher(StreamId id, uint64_t offset, int64_t n, float scale, float* out) {
  // +scale when w < 2^31, else −scale: the word's top bit flips scale's sign.
  const __m256i s = _mm256_castps_si256(_mm256_set1_ps(scale)), top = _mm256_set1_epi32(static_cast<int>(0x80000000u));
  Fill(id, offset, n, out, [s, top](const Words4& w) {
    const auto sign = [&](__m256i x) { return _mm256_xor_si256(s, _mm256_and_si256(x, top)); };
    return Words4{sign(w.w0), sign(w.w1), sign(w.w2), sign(w.w3)};
  });
}

}  // namespace avx2
}  // namespace frugal
