// AVX-512 loops of the slash family (see slash_kernels.h).
#include <immintrin.h>

#include <array>
#include <utility>

#include "cpu/slash_kernels.h"
#include "cpu/simd/vec_avx512.h"

namespace frugal {
namespace avx512 {

void SlashAccumulateRows(const float* z, int64_t R, const float* rows, int64_t ld, int64_t n, float* acc) {
  __m512 zr[kSlashMaxRows];
  for (int64_t r = 0; r < R; ++r) zr[r] = _mm512_set1_ps(z[r]);
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = TailMask(n - j);
    __m512 a = _mm512_maskz_loadu_ps(m, acc + j);
    for (int64_t r = 0; r < R; ++r) a = _mm512_fmadd_ps(zr[r], _mm512_maskz_loadu_ps(m, rows + r * ld + j), a);
    _mm512_mask_storeu_ps(acc + j, m, a);
  }
}

namespace {

// BB samples × RR rows of dot products over n, BB·RR accumulators in registers;
// each loaded g vector is used RR times and each w vector BB times.
template <int BB, int RR>
void DotTile(const float* g, int64_t ldg, const float* w, int64_t ldw, int64_t n, float* out, int64_t ldo) {
  __m512 acc[BB][RR];
  #pragma GCC unroll 16
  for (int b = 0; b < BB; ++b) {
    #pragma GCC unroll 16
    for (int r = 0; r < RR; ++r) acc[b][r] = _mm512_setzero_ps();
  }
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = TailMask(n - j);
    __m512 gv[BB];
    #pragma GCC unroll 16
    for (int b = 0; b < BB; ++b) gv[b] = _mm512_maskz_loadu_ps(m, g + b * ldg + j);
    #pragma GCC unroll 16
    for (int r = 0; r < RR; ++r) {
      const __m512 wv = _mm512_maskz_loadu_ps(m, w + r * ldw + j);
      #pragma GCC unroll 16
      for (int b = 0; b < BB; ++b) acc[b][r] = _mm512_fmadd_ps(gv[b], wv, acc[b][r]);
    }
  }
  #pragma GCC unroll 16
  for (int b = 0; b < BB; ++b) {
    #pragma GCC unroll 16
    for (int r = 0; r < RR; ++r) out[b * ldo + r] += _mm512_reduce_add_ps(acc[b][r]);
  }
}

// NB vectors of 16 samples × RR rows: per j, NB loads of gt and RR broadcasts of w
// feed NB·RR FMAs; the sums stay per lane (per sample) until the end.
template <int NB, int RR>
void SampleTile(const float* gt, int64_t B, __mmask16 last, const float* w, int64_t ldw, int64_t n, float* out,
                int64_t ldo) {
  __m512 acc[NB][RR];
  #pragma GCC unroll 16
  for (int v = 0; v < NB; ++v) {
    #pragma GCC unroll 16
    for (int r = 0; r < RR; ++r) acc[v][r] = _mm512_setzero_ps();
  }
  for (int64_t j = 0; j < n; ++j) {
    __m512 gv[NB];
    #pragma GCC unroll 16
    for (int v = 0; v < NB; ++v) gv[v] = _mm512_maskz_loadu_ps(v == NB - 1 ? last : 0xffff, gt + j * B + 16 * v);
    #pragma GCC unroll 16
    for (int r = 0; r < RR; ++r) {
      const __m512 wv = _mm512_set1_ps(w[r * ldw + j]);
      #pragma GCC unroll 16
      for (int v = 0; v < NB; ++v) acc[v][r] = _mm512_fmadd_ps(gv[v], wv, acc[v][r]);
    }
  }
  alignas(64) float lanes[16];
  #pragma GCC unroll 16
  for (int v = 0; v < NB; ++v) {
    const int count = v == NB - 1 ? __builtin_popcount(last) : 16;
    #pragma GCC unroll 16
    for (int r = 0; r < RR; ++r) {
      _mm512_store_ps(lanes, acc[v][r]);
      for (int k = 0; k < count; ++k) out[(16 * v + k) * ldo + r] += lanes[k];
    }
  }
}

constexpr int kMaxSamples = 3;  // 3 × 8 accumulators + 3 g vectors + 1 w vector fit 32 zmm
constexpr int kMaxDotRows = 8;
constexpr int kSampleVectors = 2;  // 2 × 12 accumulators + 2 gt vectors + 1 broadcast
using TileFn = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*, int64_t);
using SampleFn = void (*)(const float*, int64_t, __mmask16, const float*, int64_t, int64_t, float*, int64_t);

template <int BB, int... Rs>
constexpr std::array<TileFn, kMaxDotRows> TileRow(std::integer_sequence<int, Rs...>) {
  return {&DotTile<BB, Rs + 1>...};
}
constexpr std::array<std::array<TileFn, kMaxDotRows>, kMaxSamples> kTiles = {
    TileRow<1>(std::make_integer_sequence<int, kMaxDotRows>{}),
    TileRow<2>(std::make_integer_sequence<int, kMaxDotRows>{}),
    TileRow<3>(std::make_integer_sequence<int, kMaxDotRows>{})};

template <int NB, int... Rs>
constexpr std::array<SampleFn, kSlashMaxRows> SampleRow(std::integer_sequence<int, Rs...>) {
  return {&SampleTile<NB, Rs + 1>...};
}
constexpr std::array<std::array<SampleFn, kSlashMaxRows>, kSampleVectors> kSampleTiles = {
    SampleRow<1>(std::make_integer_sequence<int, kSlashMaxRows>{}),
    SampleRow<2>(std::make_integer_sequence<int, kSlashMaxRows>{})};

}  // namespace

void SlashDotRows(const float* g, int64_t ldg, int64_t B, const float* w, int64_t ldw, int64_t R, int64_t n,
                  float* out, int64_t ldo) {
  for (int64_t r = 0; r < R; r += kMaxDotRows) {
    const int64_t rr = R - r < kMaxDotRows ? R - r : kMaxDotRows;
    for (int64_t b = 0; b < B; b += kMaxSamples) {
      const int64_t bb = B - b < kMaxSamples ? B - b : kMaxSamples;
      kTiles[bb - 1][rr - 1](g + b * ldg, ldg, w + r * ldw, ldw, n, out + b * ldo + r, ldo);
    }
  }
}

void SlashDotRowsBySample(const float* gt, int64_t B, const float* w, int64_t ldw, int64_t R, int64_t n,
                          float* out, int64_t ldo) {
  if (R <= 0) return;
  for (int64_t b = 0; b < B; b += 16 * kSampleVectors) {
    const int64_t left = B - b;
    const int64_t vectors = left >= 16 * kSampleVectors ? kSampleVectors : (left + 15) / 16;
    const __mmask16 last = TailMask(left - 16 * (vectors - 1));
    kSampleTiles[vectors - 1][R - 1](gt + b, B, last, w, ldw, n, out + b * ldo, ldo);
  }
}

void SlashUnnormalizeRow(int64_t n, const float* y, const float* beta, const float* inv_gamma, float mean,
                         float inv_rstd, float* pre) {
  const __m512 vm = _mm512_set1_ps(mean), vs = _mm512_set1_ps(inv_rstd);
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 m = TailMask(n - j);
    const __m512 xh = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, y + j), _mm512_maskz_loadu_ps(m, beta + j)),
                                    _mm512_maskz_loadu_ps(m, inv_gamma + j));
    _mm512_mask_storeu_ps(pre + j, m, _mm512_fmadd_ps(xh, vs, vm));
  }
}

}  // namespace avx512
}  // namespace frugal
