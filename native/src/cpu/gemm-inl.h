// The GEMM micro-kernel, written once over the vector wrapper inside the packed
// driver of gemm_driver-inl.h, and compiled per ISA by x86/gemm_<isa>.cc, which
// sets the register tile and two per-ISA choices:
//   kGemmMR, kGemmMC   rows of the tile (MR × 2·kLanes; per k, two B vectors and
//                      MR broadcasts of A feed 2·MR FMAs) and rows per A block;
//   kGemmPrefetchC     prefetch the C tile before the k loop (its rows are too
//                      far apart for the hardware prefetcher; pays on AMD AVX2);
//   kGemmLateGelu      run GELU in a second pass over the L1-hot tile once the
//                      accumulators are dead, rather than squeezed between them
//                      with spills (pays with AVX-512's 28 accumulators).
// Column edges use masks; rows past the edge are computed on zero padding and
// not stored. Without cheap masks (kCheapMasks) full tiles take plain loads and
// stores, since vmaskmov is microcoded on AMD.

#include "cpu/gemm_driver-inl.h"

namespace gemm_detail {

// The epilogue of one row half (kLanes columns) while it is still in a register;
// mult: the output mask's multipliers of those columns, or null.
template <bool Full>
inline F Epilogue(F v, const Tile& t, int r, int c0, Mask m, const float* mult) {
  v = Mul(v, Set1(t.alpha));
  if (mult) {
    const F k = LoadAny(mult + c0, m, Full);
    v = KeepLanes(Greater(k, Zero()), Mul(v, k));  // a dropped NaN product is 0 too
  }
  if (t.bias) v = Add(v, LoadAny(t.bias + c0, m, Full));
  if (t.pre) StoreAny(t.pre + r * t.ldp + c0, m, Full, v);
  if (t.gelu) v = Gelu(v);
  if (t.relu) v = Max(v, Zero());
  if (t.colScale) v = Mul(v, LoadAny(t.colScale + c0, m, Full));
  if (t.residual) v = Add(v, LoadAny(t.residual + r * t.ldr + c0, m, Full));
  if (t.old) v = MulAdd(Set1(t.beta), LoadAny(t.old + r * t.ldo + c0, m, Full), v);
  return v;
}

struct Traits {
  static constexpr int MR = kGemmMR, NR = 2 * kLanes;
  static constexpr int64_t KC = 256, MC = kGemmMC;

  static void Micro(int64_t kc, const float* a, const float* b, const Tile& t) {
    if (kGemmPrefetchC) {
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        if (r >= t.rows) break;
        _mm_prefetch(reinterpret_cast<const char*>(t.C + r * t.ldc), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(t.C + r * t.ldc + NR - 1), _MM_HINT_T0);
      }
    }
    F c[MR][2];
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) c[r][0] = c[r][1] = Zero();
    for (int64_t k = 0; k < kc; ++k) {
      const F b0 = LoadAligned(b + k * NR), b1 = LoadAligned(b + k * NR + kLanes);
      const float* ak = a + k * MR;
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        const F av = Set1(ak[r]);
        c[r][0] = MulAdd(av, b0, c[r][0]);
        c[r][1] = MulAdd(av, b1, c[r][1]);
      }
    }
    if (!kCheapMasks && t.cols == NR) {
      WriteTile<true>(c, t, AllLanes(), AllLanes());
    } else {
      WriteTile<false>(c, t, TailMask(t.cols), TailMask(t.cols > kLanes ? t.cols - kLanes : 0));
    }
  }

  // Adds the earlier partial sum, applies the epilogue on the last KC block and
  // writes the tile; Full: all NR columns, without masks. With beta the late
  // GELU pass is off: the first pass would overwrite the old C it reads; with
  // an output mask too, which only the first pass applies.
  template <bool Full>
  static void WriteTile(F (&c)[MR][2], const Tile& t, Mask m0, Mask m1) {
    const bool late = kGemmLateGelu && t.final && t.gelu && !t.old && !t.mask;
    alignas(64) float mult[NR];
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      if (r >= t.rows) break;
      float* row = t.C + r * t.ldc;
      F v0 = c[r][0], v1 = c[r][1];
      if (t.accumulate) {
        v0 = Add(v0, LoadAny(row, m0, Full));
        v1 = Add(v1, LoadAny(row + kLanes, m1, Full));
      }
      if (t.final && !late) {
        if (t.mask) t.mask->multipliers(t.mask->self, t.row + r, t.col, t.cols, mult);
        v0 = Epilogue<Full>(v0, t, r, 0, m0, t.mask ? mult : nullptr);
        v1 = Epilogue<Full>(v1, t, r, kLanes, m1, t.mask ? mult : nullptr);
      }
      StoreAny(row, m0, Full, v0);
      StoreAny(row + kLanes, m1, Full, v1);
    }
    if (late) {
      for (int r = 0; r < t.rows; ++r) {
        float* row = t.C + r * t.ldc;
        const F v0 = Epilogue<Full>(LoadAny(row, m0, Full), t, r, 0, m0, nullptr);
        const F v1 = Epilogue<Full>(LoadAny(row + kLanes, m1, Full), t, r, kLanes, m1, nullptr);
        StoreAny(row, m0, Full, v0);
        StoreAny(row + kLanes, m1, Full, v1);
      }
    }
  }
};

}  // namespace gemm_detail

void GemmKernel(const GemmParams& p) { gemm_detail::Run<gemm_detail::Traits>(p); }

void GemmTile(int* rows, int* cols) {
  *rows = gemm_detail::Traits::MR;
  *cols = gemm_detail::Traits::NR;
}
