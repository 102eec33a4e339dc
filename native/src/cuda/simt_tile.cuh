// The k-loop of one shared-memory tile in the SIMT fp32 GEMMs (gemm.cu, and
// graddrop.cu's masked weight gradient): each thread owns a TM×TN register block
// made of GM×GN groups of 4×4, reads float4s of the staged tiles and sums every
// product in k order (so an element's sum does not depend on the tile shape).
#pragma once

namespace frugal {
namespace {

// As[k][m] and Bs[k][n] are BK staged rows (padded by kPad); (tx, ty) is the
// thread's place in the (BN/TN) × (BM/TM) grid.
template <int BM, int BN, int TM, int TN, int BK, int kPad>
__device__ __forceinline__ void TileProducts(const float (&As)[BK][BM + kPad], const float (&Bs)[BK][BN + kPad], int tx,
                                             int ty, float (&acc)[TM][TN]) {
  constexpr int GM = TM / 4, GN = TN / 4;
#pragma unroll
  for (int k = 0; k < BK; ++k) {
    float a[TM], b[TN];
#pragma unroll
    for (int g = 0; g < GM; ++g) {
      const float4 v = *reinterpret_cast<const float4*>(&As[k][g * (BM / GM) + ty * 4]);
      a[4 * g] = v.x, a[4 * g + 1] = v.y, a[4 * g + 2] = v.z, a[4 * g + 3] = v.w;
    }
#pragma unroll
    for (int g = 0; g < GN; ++g) {
      const float4 v = *reinterpret_cast<const float4*>(&Bs[k][g * (BN / GN) + tx * 4]);
      b[4 * g] = v.x, b[4 * g + 1] = v.y, b[4 * g + 2] = v.z, b[4 * g + 3] = v.w;
    }
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
  }
}

}  // namespace
}  // namespace frugal
