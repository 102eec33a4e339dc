// AVX2 loops of the slash family (see slash_kernels.h). Tails use maskload/maskstore.
#include <immintrin.h>

#include <array>
#include <utility>

#include "cpu/slash_kernels.h"
#include "cpu/simd/vec_avx2.h"

namespace frugal {
namespace avx2 {

void SlashAccumulateRows(const float* z, int64_t R, const float* rows, int64_t ld, int64_t n, float* acc) {
  __m256 zr[kSlashMaxRows];
  for (int64_t r = 0; r < R; ++r) zr[r] = _mm256_set1_ps(z[r]);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    __m256 a = _mm256_loadu_ps(acc + j);
    for (int64_t r = 0; r < R; ++r) a = _mm256_fmadd_ps(zr[r], _mm256_loadu_ps(rows + r * ld + j), a);
    _mm256_storeu_ps(acc + j, a);
  }
  if (j < n) {
    const __m256i m = TailMask(n - j);
    __m256 a = _mm256_maskload_ps(acc + j, m);
    for (int64_t r = 0; r < R; ++r) a = _mm256_fmadd_ps(zr[r], _mm256_maskload_ps(rows + r * ld + j, m), a);
    _mm256_maskstore_ps(acc + j, m, a);
  }
}

namespace {

// BB samples × RR rows of dot products over n with BB·RR ymm accumulators.
template <int BB, int RR>
void DotTile(const float* g, int64_t ldg, const float* w, int64_t ldw, int64_t n, float* out, int64_t ldo) {
  __m256 acc[BB][RR];
  #pragma GCC unroll 16
  for (int b = 0; b < BB; ++b) {
    #pragma GCC unroll 16
    for (int r = 0; r < RR; ++r) acc[b][r] = _mm256_setzero_ps();
  }
  auto step = [&](int64_t j, auto load) {
    __m256 gv[BB];
    #pragma GCC unroll 16
    for (int b = 0; b < BB; ++b) gv[b] = load(g + b * ldg + j);
    #pragma GCC unroll 16
    for (int r = 0; r < RR; ++r) {
      const __m256 wv = load(w + r * ldw + j);
      #pragma GCC unroll 16
      for (int b = 0; b < BB; ++b) acc[b][r] = _mm256_fmadd_ps(gv[b], wv, acc[b][r]);
    }
  };
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) step(j, [](const float* p) { return _mm256_loadu_ps(p); });
  if (j < n) {
    const __m256i m = TailMask(n - j);
    step(j, [m](const float* p) { return _mm256_maskload_ps(p, m); });
  }
  #pragma GCC unroll 16
  for (int b = 0; b < BB; ++b) {
    #pragma GCC unroll 16
    for (int r = 0; r < RR; ++r) out[b * ldo + r] += ReduceAdd(acc[b][r]);
  }
}

// 2 × 4 accumulators + 2 g vectors + 1 w vector fit the 16 ymm registers.
constexpr int kMaxSamples = 2, kMaxTileRows = 4;
using TileFn = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*, int64_t);

template <int BB, int... Rs>
constexpr std::array<TileFn, kMaxTileRows> TileRow(std::integer_sequence<int, Rs...>) {
  return {&DotTile<BB, Rs + 1>...};
}
constexpr std::array<std::array<TileFn, kMaxTileRows>, kMaxSamples> kTiles = {
    TileRow<1>(std::make_integer_sequence<int, kMaxTileRows>{}),
    TileRow<2>(std::make_integer_sequence<int, kMaxTileRows>{})};

// NB vectors of 8 samples × RR rows with g transposed (see slash_kernels.h); the
// final vector holds `count` samples, Partial when count < 8 (masked loads are
// slow on AMD: in the loop for every full vector they cost a third of the time).
template <int NB, int RR, bool Partial>
void SampleTile(const float* gt, int64_t B, int count, const float* w, int64_t ldw, int64_t n, float* out,
                int64_t ldo) {
  const __m256i last = TailMask(count);
  __m256 acc[NB][RR];
  #pragma GCC unroll 16
  for (int v = 0; v < NB; ++v) {
    #pragma GCC unroll 16
    for (int r = 0; r < RR; ++r) acc[v][r] = _mm256_setzero_ps();
  }
  for (int64_t j = 0; j < n; ++j) {
    __m256 gv[NB];
    #pragma GCC unroll 16
    for (int v = 0; v < NB; ++v) {
      gv[v] = Partial && v == NB - 1 ? _mm256_maskload_ps(gt + j * B + 8 * v, last) : _mm256_loadu_ps(gt + j * B + 8 * v);
    }
    #pragma GCC unroll 16
    for (int r = 0; r < RR; ++r) {
      const __m256 wv = _mm256_broadcast_ss(w + r * ldw + j);
      #pragma GCC unroll 16
      for (int v = 0; v < NB; ++v) acc[v][r] = _mm256_fmadd_ps(gv[v], wv, acc[v][r]);
    }
  }
  alignas(32) float lanes[8];
  #pragma GCC unroll 16
  for (int v = 0; v < NB; ++v) {
    const int k1 = v == NB - 1 ? count : 8;
    #pragma GCC unroll 16
    for (int r = 0; r < RR; ++r) {
      _mm256_store_ps(lanes, acc[v][r]);
      for (int k = 0; k < k1; ++k) out[(8 * v + k) * ldo + r] += lanes[k];
    }
  }
}

// 2 × 6 accumulators + 2 gt vectors + 1 broadcast fit the 16 ymm registers.
constexpr int kSampleVectors = 2, kSampleRows = 6;
using SampleFn = void (*)(const float*, int64_t, int, const float*, int64_t, int64_t, float*, int64_t);

template <int NB, bool Partial, int... Rs>
constexpr std::array<SampleFn, kSampleRows> SampleRow(std::integer_sequence<int, Rs...>) {
  return {&SampleTile<NB, Rs + 1, Partial>...};
}
// [partial][vectors − 1][rows − 1]
constexpr std::array<std::array<std::array<SampleFn, kSampleRows>, kSampleVectors>, 2> kSampleTiles = {{
    {SampleRow<1, false>(std::make_integer_sequence<int, kSampleRows>{}),
     SampleRow<2, false>(std::make_integer_sequence<int, kSampleRows>{})},
    {SampleRow<1, true>(std::make_integer_sequence<int, kSampleRows>{}),
     SampleRow<2, true>(std::make_integer_sequence<int, kSampleRows>{})}}};

}  // namespace

void SlashDotRowsBySample(const float* gt, int64_t B, const float* w, int64_t ldw, int64_t R, int64_t n,
                          float* out, int64_t ldo) {
  for (int64_t r = 0; r < R; r += kSampleRows) {
    const int64_t rr = R - r < kSampleRows ? R - r : kSampleRows;
    for (int64_t b = 0; b < B; b += 8 * kSampleVectors) {
      const int64_t left = B - b;
      const int64_t vectors = left >= 8 * kSampleVectors ? kSampleVectors : (left + 7) / 8;
      const int64_t count = left - 8 * (vectors - 1) < 8 ? left - 8 * (vectors - 1) : 8;
      kSampleTiles[count < 8][vectors - 1][rr - 1](gt + b, B, static_cast<int>(count), w + r * ldw, ldw, n,
                                        out + b * ldo + r, ldo);
    }
  }
}

void SlashDotRows(const float* g, int64_t ldg, int64_t B, const float* w, int64_t ldw, int64_t R, int64_t n,
                  float* out, int64_t ldo) {
  for (int64_t r = 0; r < R; r += kMaxTileRows) {
    const int64_t rr = R - r < kMaxTileRows ? R - r : kMaxTileRows;
    for (int64_t b = 0; b < B; b += kMaxSamples) {
      const int64_t bb = B - b < kMaxSamples ? B - b : kMaxSamples;
      kTiles[bb - 1][rr - 1](g + b * ldg, ldg, w + r * ldw, ldw, n, out + b * ldo + r, ldo);
    }
  }
}

void SlashUnnormalizeRow(int64_t n, const float* y, const float* beta, const float* inv_gamma, float mean,
                         float inv_rstd, float* pre) {
  const __m256 vm = _mm256_set1_ps(mean), vs = _mm256_set1_ps(inv_rstd);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 xh = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(y + j), _mm256_loadu_ps(beta + j)),
                                    _mm256_loadu_ps(inv_gamma + j));
    _mm256_storeu_ps(pre + j, _mm256_fmadd_ps(xh, vs, vm));
  }
  if (j < n) {
    const __m256i m = TailMask(n - j);
    const __m256 xh = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(y + j, m), _mm256_maskload_ps(beta + j, m)),
                                    _mm256_maskload_ps(inv_gamma + j, m));
    _mm256_maskstore_ps(pre + j, m, _mm256_fmadd_ps(xh, vs, vm));
  }
}

}  // namespace avx2
}  // namespace frugal
