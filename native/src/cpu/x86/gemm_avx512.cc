// AVX-512 GEMM: a 14×32 micro-kernel (28 zmm accumulators; per k, two B vectors
// and 14 broadcasts of A feed 28 FMAs) inside the packed driver of gemm_driver.h.
// Column edges use masks; rows past the edge are computed on zero padding and
// not stored.
#include <immintrin.h>

#include "cpu/gemm_kernels.h"
#include "cpu/x86/gemm_driver.h"
#include "cpu/simd/vec_avx512.h"

namespace frugal {
namespace avx512 {
namespace {

using gemm_detail::Tile;

inline __mmask16 ColumnMask(int cols) {
  return cols >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << cols) - 1u);
}

// The epilogue of one row half (16 columns) while it is still in a register.
inline __m512 Epilogue(__m512 v, const Tile& t, int r, int c0, __mmask16 m) {
  v = _mm512_mul_ps(v, _mm512_set1_ps(t.alpha));
  if (t.bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, t.bias + c0));
  if (t.gelu) v = Gelu(v);
  if (t.colScale) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, t.colScale + c0));
  if (t.residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, t.residual + r * t.ldr + c0));
  if (t.old) v = _mm512_fmadd_ps(_mm512_set1_ps(t.beta), _mm512_maskz_loadu_ps(m, t.old + r * t.ldo + c0), v);
  return v;
}

struct Traits {
  static constexpr int MR = 14, NR = 32;
  static constexpr int64_t KC = 256, MC = 14 * 12;

  static void Micro(int64_t kc, const float* a, const float* b, const Tile& t) {
    __m512 c[MR][2];
#pragma GCC unroll 14
    for (int r = 0; r < MR; ++r) c[r][0] = c[r][1] = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; ++k) {
      const __m512 b0 = _mm512_load_ps(b + k * NR), b1 = _mm512_load_ps(b + k * NR + 16);
      const float* ak = a + k * MR;
#pragma GCC unroll 14
      for (int r = 0; r < MR; ++r) {
        const __m512 av = _mm512_set1_ps(ak[r]);
        c[r][0] = _mm512_fmadd_ps(av, b0, c[r][0]);
        c[r][1] = _mm512_fmadd_ps(av, b1, c[r][1]);
      }
    }
    const __mmask16 m0 = ColumnMask(t.cols), m1 = ColumnMask(t.cols - 16 > 0 ? t.cols - 16 : 0);
    // GELU is long: run it in a second pass over the (L1-hot) tile, once the 28
    // accumulators are dead, rather than squeezed between them with spills. Not
    // with beta, whose old C the first pass would overwrite.
    const bool late = t.final && t.gelu && !t.old;
#pragma GCC unroll 14
    for (int r = 0; r < MR; ++r) {
      if (r >= t.rows) break;
      float* row = t.C + r * t.ldc;
      __m512 v0 = c[r][0], v1 = c[r][1];
      if (t.accumulate) {
        v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, row));
        v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, row + 16));
      }
      if (t.final && !late) {
        v0 = Epilogue(v0, t, r, 0, m0);
        v1 = Epilogue(v1, t, r, 16, m1);
      }
      _mm512_mask_storeu_ps(row, m0, v0);
      _mm512_mask_storeu_ps(row + 16, m1, v1);
    }
    if (late) {
      for (int r = 0; r < t.rows; ++r) {
        float* row = t.C + r * t.ldc;
        const __m512 v0 = Epilogue(_mm512_maskz_loadu_ps(m0, row), t, r, 0, m0);
        const __m512 v1 = Epilogue(_mm512_maskz_loadu_ps(m1, row + 16), t, r, 16, m1);
        _mm512_mask_storeu_ps(row, m0, v0);
        _mm512_mask_storeu_ps(row + 16, m1, v1);
      }
    }
  }
};

}  // namespace

void GemmKernel(const GemmParams& p) { gemm_detail::Run<Traits>(p); }

}  // namespace avx512
}  // namespace frugal
