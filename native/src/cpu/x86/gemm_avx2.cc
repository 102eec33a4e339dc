// AVX2 GEMM: a 6×16 micro-kernel (12 ymm accumulators; per k, two B vectors and
// six broadcasts of A feed 12 FMAs) inside the packed driver of gemm_driver.h.
// Column edges use maskload/maskstore (microcoded and slow on AMD, so full
// tiles use plain loads and stores); rows past the edge are computed on zero
// padding and not stored. The C tile is prefetched before the k loop: it is
// read or written right after it, and its rows are too far apart for the
// hardware prefetcher.
#include <immintrin.h>

#include <type_traits>

#include "cpu/gemm_kernels.h"
#include "cpu/x86/gemm_driver.h"
#include "cpu/simd/vec_avx2.h"

namespace frugal {
namespace avx2 {
namespace {

using gemm_detail::Tile;

// Loads 8 floats, through the mask unless Full.
template <bool Full>
inline __m256 Load(const float* p, __m256i m) {
  return Full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m);
}

// The epilogue of one row half (8 columns) while it is still in a register.
template <bool Full>
inline __m256 Epilogue(__m256 v, const Tile& t, int r, int c0, __m256i m) {
  v = _mm256_mul_ps(v, _mm256_set1_ps(t.alpha));
  if (t.bias) v = _mm256_add_ps(v, Load<Full>(t.bias + c0, m));
  if (t.gelu) v = Gelu(v);
  if (t.colScale) v = _mm256_mul_ps(v, Load<Full>(t.colScale + c0, m));
  if (t.residual) v = _mm256_add_ps(v, Load<Full>(t.residual + r * t.ldr + c0, m));
  if (t.old) v = _mm256_fmadd_ps(_mm256_set1_ps(t.beta), Load<Full>(t.old + r * t.ldo + c0, m), v);
  return v;
}

struct Traits {
  static constexpr int MR = 6, NR = 16;
  static constexpr int64_t KC = 256, MC = 6 * 24;

  static void Micro(int64_t kc, const float* a, const float* b, const Tile& t) {
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      if (r >= t.rows) break;
      _mm_prefetch(reinterpret_cast<const char*>(t.C + r * t.ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(t.C + r * t.ldc + NR - 1), _MM_HINT_T0);
    }
    __m256 c[MR][2];
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) c[r][0] = c[r][1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; ++k) {
      const __m256 b0 = _mm256_load_ps(b + k * NR), b1 = _mm256_load_ps(b + k * NR + 8);
      const float* ak = a + k * MR;
#pragma GCC unroll 6
      for (int r = 0; r < MR; ++r) {
        const __m256 av = _mm256_broadcast_ss(ak + r);
        c[r][0] = _mm256_fmadd_ps(av, b0, c[r][0]);
        c[r][1] = _mm256_fmadd_ps(av, b1, c[r][1]);
      }
    }
    if (t.cols == NR) {
      Store(c, t, _mm256_set1_epi32(-1), _mm256_set1_epi32(-1), std::true_type());
    } else {
      Store(c, t, TailMask(t.cols), TailMask(t.cols > 8 ? t.cols - 8 : 0), std::false_type());
    }
  }

  // Adds the earlier partial sum, applies the epilogue on the last KC block and
  // writes the tile; Full: all NR columns, without masks.
  template <bool Full>
  static void Store(__m256 (&c)[MR][2], const Tile& t, __m256i m0, __m256i m1, std::integral_constant<bool, Full>) {
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      if (r >= t.rows) break;
      float* row = t.C + r * t.ldc;
      __m256 v0 = c[r][0], v1 = c[r][1];
      if (t.accumulate) {
        v0 = _mm256_add_ps(v0, Load<Full>(row, m0));
        v1 = _mm256_add_ps(v1, Load<Full>(row + 8, m1));
      }
      if (t.final) {
        v0 = Epilogue<Full>(v0, t, r, 0, m0);
        v1 = Epilogue<Full>(v1, t, r, 8, m1);
      }
      if (Full) {
        _mm256_storeu_ps(row, v0);
        _mm256_storeu_ps(row + 8, v1);
      } else {
        _mm256_maskstore_ps(row, m0, v0);
        _mm256_maskstore_ps(row + 8, m1, v1);
      }
    }
  }
};

}  // namespace

void GemmKernel(const GemmParams& p) { gemm_detail::Run<Traits>(p); }

}  // namespace avx2
}  // namespace frugal
