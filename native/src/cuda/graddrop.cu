// CUDA launchers of the GradDrop family (frugal/graddrop.h).
//
// Multipliers. Unit u of a mask is dropped iff the top 24 bits of word u mod 4
// of Philox block (⌊u/4⌋, step, layer, 2) are below T = ⌈p·2²⁴⌉ (an integer
// compare, exactly "uniform < p"), so masks are bit-identical to the CPU's. A
// kept unit's multiplier is 1/(1−p) with rescale (p < 1), else 1.
// - Element masks draw one Philox block per four consecutive elements.
// - Row, column and block masks first draw a table of their units (one Philox
//   block per four units), then every element reads its unit from the table.
// - p = 0, p = 1 and whole-tensor masks have one multiplier for every element:
//   a fill, a zeroing or a scaling pass (none when the multiplier is 1).
//
// Masked weight gradient weight = beta·weight + mask ⊙ (Gᵀ·A), a SIMT fp32 GEMM
// (M = dout, N = din, K = tokens; shared-memory tiles, a TM×TN register block
// per thread) whose epilogue writes kept elements as beta·old + m·Σ and
// dropped ones as beta·old (0 when beta = 0, never reading old; untouched when
// beta = 1), so each element is written by exactly one thread. Dropped work is
// not computed:
// - p = 1, or a dropped tensor: no GEMM, only the beta pass over the weight.
// - p = 0, or a kept tensor: one GEMM with the kept multiplier.
// - rows (columns): the unit table is compacted on the device into a
//   permutation, kept rows (columns) first, and the GEMM runs over permuted
//   positions, gathering rows of Gᵀ (columns of A) and scattering the results
//   through the permutation. Tiles at positions past the kept count run no
//   k-loop, they only apply beta to the dropped rows (columns), so the GEMM
//   shrinks by the drop rate, with no host synchronisation (the kept count stays
//   on the device).
// - blocks: a tile is live when any block it overlaps is kept; live tiles are
//   compacted to the front of a tile list and dead ones run no k-loop. The tile
//   (32, 64 or 128) is picked from the block shape and p to skip the most work;
//   when hardly any tile can die, the list is skipped and every tile is live.
// - elements: every tile is computed, the epilogue draws the mask (one or two
//   Philox blocks per four consecutive elements of a row).
// Each element's sum runs over k in order whatever the tile, so results do not
// depend on the tile chosen or the device. The bias sums Σ_t G[t, i] in a fixed
// order (16 token lanes per column, lanes added in order), skipped for dropped
// rows. Workspace is stream-ordered (cudaMallocAsync / cudaFreeAsync, as in
// slash.cu): no device-wide synchronisation.
#include <climits>
#include <cmath>
#include <cstdint>
#include <string>

#include "check.cuh"
#include "common/grad_mask.h"
#include "cuda/graddrop.h"
#include "frugal/random.h"
#include "philox.cuh"
#include "simt_tile.cuh"
#include "stream_buffer.cuh"

namespace frugal {
namespace {

constexpr int kThreads = 256;
constexpr long long kMaxBlocks = 65536;  // elementwise kernels grid-stride beyond this
constexpr uint32_t kAllDropped = 1u << 24;

// What a kernel needs to draw multipliers.
struct Draw {
  uint32_t k0 = 0, k1 = 0;  // key: seed mod 2³², ⌊seed/2³²⌋
  uint32_t layer = 0, step = 0;
  uint32_t threshold = 0;  // ⌈p·2²⁴⌉ in [0, 2²⁴]: dropped iff (w >> 8) < threshold
  float scale = 1.0f;      // a kept unit's multiplier
};

Draw DrawOf(const GradMask& m) {
  Draw d;
  d.k0 = static_cast<uint32_t>(m.seed);
  d.k1 = static_cast<uint32_t>(m.seed >> 32);
  d.layer = m.layer;
  d.step = m.step;
  d.threshold = GradMaskThreshold(m);
  d.scale = GradMaskKeptScale(m);
  return d;
}

// The multiplier of unit 0 (the whole-tensor unit), drawn on the host.
float TensorMultiplier(const Draw& d) {
  const uint32_t counter[4] = {0u, d.step, d.layer, kTagGradientMask};
  const uint32_t key[2] = {d.k0, d.k1};
  uint32_t w[4];
  Philox4x32(counter, key, w);
  return (w[0] >> 8) < d.threshold ? 0.0f : d.scale;
}


unsigned GridFor(long long n, long long per_block) {
  const long long blocks = CeilDiv(n, per_block);
  return static_cast<unsigned>(blocks < kMaxBlocks ? (blocks > 0 ? blocks : 1) : kMaxBlocks);
}


// ---- device helpers ----------------------------------------------------------

// a / b for a >= 0, b > 0, in 32 bits when both fit.
__device__ __forceinline__ long long Div(long long a, long long b) {
  if (((a | b) >> 32) == 0) return static_cast<uint32_t>(a) / static_cast<uint32_t>(b);
  return a / b;
}

// The four words of the counter block of units 4·⌊u/4⌋ … 4·⌊u/4⌋ + 3.
__device__ __forceinline__ uint4 UnitWords(const Draw& d, unsigned long long u) {
  return philox::StreamBlock(d.k0, d.k1, d.layer, kTagGradientMask,
                             (static_cast<unsigned long long>(d.step) << 32) | (u >> 2));
}

__device__ __forceinline__ uint32_t Word(uint4 w, unsigned i) {
  return i == 0 ? w.x : i == 1 ? w.y : i == 2 ? w.z : w.w;
}

__device__ __forceinline__ float Multiplier(const Draw& d, uint32_t w) {
  return (w >> 8) < d.threshold ? 0.0f : d.scale;
}

// Apply's rule: kept values times their multiplier, dropped ones exactly 0.
__device__ __forceinline__ float Masked(float x, float m) { return m != 0.0f ? x * m : 0.0f; }

// ---- masks and apply -----------------------------------------------------------

// out[u] = the multiplier of unit u < n: one Philox block per four units.
__global__ void UnitsKernel(const Draw d, long long n, float* out) {
  const long long groups = (n + 3) >> 2;
  for (long long q = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; q < groups;
       q += static_cast<long long>(gridDim.x) * blockDim.x) {
    const uint4 w = UnitWords(d, static_cast<unsigned long long>(q) << 2);
    const long long u0 = q << 2;
#pragma unroll
    for (unsigned c = 0; c < 4; ++c) {
      if (u0 + c < n) out[u0 + c] = Multiplier(d, Word(w, c));
    }
  }
}

// Element granularity over n elements (unit = element index): the mask into x,
// or apply it to x. `vector`: x is 16-byte aligned, full groups use float4.
template <bool kApply>
__global__ void ElementKernel(const Draw d, long long n, bool vector, float* x) {
  const long long groups = (n + 3) >> 2;
  for (long long q = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; q < groups;
       q += static_cast<long long>(gridDim.x) * blockDim.x) {
    const uint4 w = UnitWords(d, static_cast<unsigned long long>(q) << 2);
    const float m0 = Multiplier(d, w.x), m1 = Multiplier(d, w.y), m2 = Multiplier(d, w.z), m3 = Multiplier(d, w.w);
    const long long e0 = q << 2;
    if (vector && e0 + 3 < n) {
      float4* p = reinterpret_cast<float4*>(x + e0);
      if (kApply) {
        const float4 v = *p;
        *p = make_float4(Masked(v.x, m0), Masked(v.y, m1), Masked(v.z, m2), Masked(v.w, m3));
      } else {
        *p = make_float4(m0, m1, m2, m3);
      }
      continue;
    }
    const float m[4] = {m0, m1, m2, m3};
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      if (e0 + c < n) x[e0 + c] = kApply ? Masked(x[e0 + c], m[c]) : m[c];
    }
  }
}

// Row, column or block granularity from the unit table: a thread owns a column
// j (grid-stride) and the rows threadIdx.y, + blockDim.y, … of its block's
// chunk of rows [blockIdx.y·rowsPer, …).
template <MaskGranularity kG, bool kApply>
__global__ void ExpandKernel(const float* units, long long rows, long long cols, long long br, long long bc,
                             long long unitCols, long long rowsPer, float* x) {
  const long long i0 = blockIdx.y * rowsPer;
  const long long i1 = i0 + rowsPer < rows ? i0 + rowsPer : rows;
  for (long long j = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; j < cols;
       j += static_cast<long long>(gridDim.x) * blockDim.x) {
    const float column = kG == MaskGranularity::kColumn ? units[j] : 0.0f;
    const long long jb = kG == MaskGranularity::kBlock ? Div(j, bc) : 0;
    for (long long i = i0 + threadIdx.y; i < i1; i += blockDim.y) {
      float m;
      if (kG == MaskGranularity::kRow) {
        m = units[i];
      } else if (kG == MaskGranularity::kColumn) {
        m = column;
      } else {
        m = units[Div(i, br) * unitCols + jb];
      }
      float* e = x + i * cols + j;
      *e = kApply ? Masked(*e, m) : m;
    }
  }
}

__global__ void FillKernel(float* x, long long n, float v) {
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<long long>(gridDim.x) * blockDim.x) {
    x[e] = v;
  }
}

__global__ void ScaleKernel(float* x, long long n, float v) {
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<long long>(gridDim.x) * blockDim.x) {
    x[e] *= v;
  }
}

// x = beta·x over n floats (0 without reading when beta = 0; nothing when beta = 1).
Status ScaleOld(float* x, long long n, float beta, cudaStream_t s) {
  if (n == 0 || beta == 1.0f) return Status::Ok();
  if (beta == 0.0f) {
    CUDA_CHECK(cudaMemsetAsync(x, 0, static_cast<size_t>(n) * sizeof(float), s));
    return Status::Ok();
  }
  ScaleKernel<<<GridFor(n, kThreads), kThreads, 0, s>>>(x, n, beta);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status LaunchUnits(const Draw& d, long long n, float* out, cudaStream_t s) {
  UnitsKernel<<<GridFor(CeilDiv(n, 4), kThreads), kThreads, 0, s>>>(d, n, out);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

template <MaskGranularity kG>
Status LaunchExpand(const GradMask& m, const float* units, bool apply, float* x, cudaStream_t s) {
  // Blocks of 256 threads: as many columns as a power of two in [32, 256] covers.
  int bx = 32;
  while (bx < 256 && bx < m.cols) bx *= 2;
  const int by = kThreads / bx;
  const long long xblocks = CeilDiv(m.cols, bx) < kMaxBlocks ? CeilDiv(m.cols, bx) : kMaxBlocks;
  long long yblocks = CeilDiv(4 * kMaxBlocks / 16, xblocks);  // about 16k blocks in all
  if (yblocks > 65535) yblocks = 65535;
  if (yblocks > CeilDiv(m.rows, by)) yblocks = CeilDiv(m.rows, by);
  const long long rows_per = CeilDiv(m.rows, yblocks);
  yblocks = CeilDiv(m.rows, rows_per);
  const dim3 grid(static_cast<unsigned>(xblocks), static_cast<unsigned>(yblocks)), block(bx, by);
  const long long unit_cols = CeilDiv(m.cols, m.blockCols);
  if (apply) {
    ExpandKernel<kG, true><<<grid, block, 0, s>>>(units, m.rows, m.cols, m.blockRows, m.blockCols, unit_cols,
                                                  rows_per, x);
  } else {
    ExpandKernel<kG, false><<<grid, block, 0, s>>>(units, m.rows, m.cols, m.blockRows, m.blockCols, unit_cols,
                                                   rows_per, x);
  }
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

// The mask (apply = false) into x, or x = mask ⊙ x (apply = true).
Status MaskOrApply(const GradMask& m, float* x, bool apply, cudaStream_t s) {
  const long long n = m.rows * m.cols;
  if (n == 0) return Status::Ok();
  const Draw d = DrawOf(m);
  // One multiplier for every element: p = 0, p = 1 or a whole-tensor mask.
  if (d.threshold == 0 || d.threshold >= kAllDropped || m.granularity == MaskGranularity::kTensor) {
    const float mult = d.threshold == 0 ? d.scale : d.threshold >= kAllDropped ? 0.0f : TensorMultiplier(d);
    if (mult == 0.0f) {
      CUDA_CHECK(cudaMemsetAsync(x, 0, static_cast<size_t>(n) * sizeof(float), s));
    } else if (!apply) {
      FillKernel<<<GridFor(n, kThreads), kThreads, 0, s>>>(x, n, mult);
      CUDA_CHECK_LAUNCH();
    } else if (mult != 1.0f) {
      ScaleKernel<<<GridFor(n, kThreads), kThreads, 0, s>>>(x, n, mult);
      CUDA_CHECK_LAUNCH();
    }
    return Status::Ok();
  }
  if (m.granularity == MaskGranularity::kElement) {
    const bool vector = reinterpret_cast<uintptr_t>(x) % 16 == 0;
    if (apply) {
      ElementKernel<true><<<GridFor(CeilDiv(n, 4), kThreads), kThreads, 0, s>>>(d, n, vector, x);
    } else {
      ElementKernel<false><<<GridFor(CeilDiv(n, 4), kThreads), kThreads, 0, s>>>(d, n, vector, x);
    }
    CUDA_CHECK_LAUNCH();
    return Status::Ok();
  }
  const long long units = static_cast<long long>(GradMaskUnits(m));
  StreamBuffer table(s);
  FRUGAL_RETURN_IF_ERROR(table.Allocate(units * static_cast<long long>(sizeof(float))));
  FRUGAL_RETURN_IF_ERROR(LaunchUnits(d, units, table.as<float>(), s));
  switch (m.granularity) {
    case MaskGranularity::kRow: return LaunchExpand<MaskGranularity::kRow>(m, table.as<float>(), apply, x, s);
    case MaskGranularity::kColumn: return LaunchExpand<MaskGranularity::kColumn>(m, table.as<float>(), apply, x, s);
    default: break;
  }
  return LaunchExpand<MaskGranularity::kBlock>(m, table.as<float>(), apply, x, s);
}

// ---- compaction ----------------------------------------------------------------

constexpr int kCompactThreads = 1024, kCompactPer = 4;

// perm[0..n) = the indices i < n with flags[i] != 0 in increasing order, then
// the others in decreasing order; perm[n] = the number of the first kind. One
// thread block, kCompactThreads·kCompactPer indices per pass, in index order.
__global__ void __launch_bounds__(kCompactThreads) CompactKernel(const float* flags, long long n, long long* perm) {
  __shared__ int warp_sums[kCompactThreads / 32];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  long long kept = 0;  // kept indices before this pass (the same in every thread)
  for (long long base = 0; base < n; base += static_cast<long long>(kCompactThreads) * kCompactPer) {
    const long long i0 = base + static_cast<long long>(tid) * kCompactPer;
    bool f[kCompactPer];
    int count = 0;
#pragma unroll
    for (int k = 0; k < kCompactPer; ++k) {
      f[k] = i0 + k < n && flags[i0 + k] != 0.0f;
      count += f[k] ? 1 : 0;
    }
    int inclusive = count;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const int v = __shfl_up_sync(0xffffffffu, inclusive, o);
      if (lane >= o) inclusive += v;
    }
    if (lane == 31) warp_sums[warp] = inclusive;
    __syncthreads();
    if (warp == 0) {
      int v = warp_sums[lane];
#pragma unroll
      for (int o = 1; o < 32; o <<= 1) {
        const int u = __shfl_up_sync(0xffffffffu, v, o);
        if (lane >= o) v += u;
      }
      warp_sums[lane] = v;  // inclusive over warps
    }
    __syncthreads();
    long long before = kept + (inclusive - count) + (warp > 0 ? warp_sums[warp - 1] : 0);
#pragma unroll
    for (int k = 0; k < kCompactPer; ++k) {
      const long long i = i0 + k;
      if (i >= n) break;
      if (f[k]) {
        perm[before++] = i;
      } else {
        perm[n - 1 - (i - before)] = i;  // i − before dropped indices precede i
      }
    }
    kept += warp_sums[kCompactThreads / 32 - 1];
    __syncthreads();  // warp_sums is rewritten by the next pass
  }
  if (tid == 0) perm[n] = kept;
}

Status LaunchCompact(const float* flags, long long n, long long* perm, cudaStream_t s) {
  CompactKernel<<<1, kCompactThreads, 0, s>>>(flags, n, perm);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

// ---- masked weight gradient --------------------------------------------------

enum class Mode { kDense, kRows, kCols, kTiles, kElement };

struct LinearArgs {
  long long M = 0, N = 0, K = 0;  // dout, din, tokens
  const float* A = nullptr;       // [K, N]
  const float* G = nullptr;       // [K, M]
  float* W = nullptr;             // [M, N]
  float beta = 0.0f;
  float scale = 1.0f;  // the kept multiplier (kDense, kRows, kCols)
  // kRows / kCols: the row / column permutation of CompactKernel (kept first,
  // perm[M] / perm[N] their count). kTiles: the tile list (live first,
  // perm[tiles] their count), or null when every tile is live.
  const long long* perm = nullptr;
  const float* units = nullptr;  // kTiles: the block multipliers
  long long br = 1, bc = 1, unitCols = 1;
  long long tilesM = 1;  // tile t is (t mod tilesM, ⌊t / tilesM⌋)
  Draw draw;             // kElement
};

// One element of the weight: kept (m ≠ 0) beta·old + m·acc, dropped beta·old;
// old is never read when beta = 0, and a dropped element is left alone when beta = 1.
__device__ __forceinline__ void StoreWeight(float* w, float m, float acc, float beta) {
  if (m != 0.0f) {
    const float v = m * acc;
    *w = beta != 0.0f ? fmaf(beta, *w, v) : v;
  } else if (beta != 1.0f) {
    *w = beta != 0.0f ? beta * *w : 0.0f;
  }
}

// A thread's rows are TM/4 groups of 4 spread BM/(TM/4) apart (likewise its
// columns), so a warp's float4 reads of shared memory do not collide on banks.
template <int BM, int BN, int TM, int TN, Mode kMode>
__global__ void __launch_bounds__((BM / TM) * (BN / TN), (BM / TM) * (BN / TN) >= 256 ? 2 : 8)
    LinearGradKernel(const LinearArgs a) {
  constexpr int kT = (BM / TM) * (BN / TN), BK = 16, kPad = 4, GM = TM / 4, GN = TN / 4;
  constexpr bool kTiled = kMode == Mode::kTiles;
  __shared__ __align__(16) float As[BK][BM + kPad];  // As[k][m] = G[k][row of m]
  __shared__ __align__(16) float Bs[BK][BN + kPad];  // Bs[k][n] = A[k][column of n]
  __shared__ long long row_of[BM], col_of[BN];       // the weight's row / column at a tile position, −1 outside
  __shared__ long long row_unit[kTiled ? BM : 1], col_unit[kTiled ? BN : 1];  // block coordinates
  const int tid = threadIdx.x, tx = tid % (BN / TN), ty = tid / (BN / TN);

  long long t = blockIdx.x;
  bool live = true;
  if (kTiled && a.perm) {
    const long long tiles = a.tilesM * CeilDiv(a.N, BN);
    live = t < a.perm[tiles];
    t = a.perm[t];
  }
  const long long m0 = (t % a.tilesM) * BM, n0 = (t / a.tilesM) * BN;
  long long kept_rows = a.M, kept_cols = a.N;  // positions below these are kept (kRows, kCols)
  if (kMode == Mode::kRows) {
    kept_rows = a.perm[a.M];
    live = m0 < kept_rows;
  }
  if (kMode == Mode::kCols) {
    kept_cols = a.perm[a.N];
    live = n0 < kept_cols;
  }
  if (!live && a.beta == 1.0f) return;  // every element of the tile is dropped and keeps its value

  for (int i = tid; i < BM; i += kT) {
    const long long pos = m0 + i;
    row_of[i] = pos < a.M ? (kMode == Mode::kRows ? a.perm[pos] : pos) : -1;
    if (kTiled) row_unit[i] = pos < a.M ? Div(pos, a.br) * a.unitCols : 0;
  }
  for (int j = tid; j < BN; j += kT) {
    const long long pos = n0 + j;
    col_of[j] = pos < a.N ? (kMode == Mode::kCols ? a.perm[pos] : pos) : -1;
    if (kTiled) col_unit[j] = pos < a.N ? Div(pos, a.bc) : 0;
  }
  __syncthreads();

  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;
  if (live) {  // the same in every thread of the block
    for (long long k0 = 0; k0 < a.K; k0 += BK) {
#pragma unroll
      for (int i = tid; i < BM * BK; i += kT) {  // m fastest: a row of G is contiguous
        const int m = i % BM, k = i / BM;
        const long long row = row_of[m];
        As[k][m] = row >= 0 && k0 + k < a.K ? a.G[(k0 + k) * a.M + row] : 0.0f;
      }
#pragma unroll
      for (int i = tid; i < BN * BK; i += kT) {
        const int n = i % BN, k = i / BN;
        const long long col = col_of[n];
        Bs[k][n] = col >= 0 && k0 + k < a.K ? a.A[(k0 + k) * a.N + col] : 0.0f;
      }
      __syncthreads();
      TileProducts<BM, BN, TM, TN, BK, kPad>(As, Bs, tx, ty, acc);
      __syncthreads();
    }
  }

#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int ml = (i / 4) * (BM / GM) + ty * 4 + i % 4;
    const long long row = row_of[ml];
    if (row < 0) continue;
    const bool row_kept = m0 + ml < kept_rows;
#pragma unroll
    for (int g = 0; g < GN; ++g) {
      const int nl0 = g * (BN / GN) + tx * 4;
      if (col_of[nl0] < 0) continue;  // the group's columns are consecutive positions: all outside
      uint4 w0 = make_uint4(0, 0, 0, 0), w1 = w0;
      unsigned long long u0 = 0;
      if (kMode == Mode::kElement) {  // units u0 … u0 + 3 of this row: at most two counter blocks
        u0 = static_cast<unsigned long long>(row) * static_cast<unsigned long long>(a.N) +
             static_cast<unsigned long long>(col_of[nl0]);
        w0 = UnitWords(a.draw, u0);
        w1 = ((u0 + 3) >> 2) != (u0 >> 2) ? UnitWords(a.draw, u0 + 3) : w0;
      }
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const int nl = nl0 + c;
        const long long col = col_of[nl];
        if (col < 0) continue;
        float m;
        if (kMode == Mode::kDense) {
          m = a.scale;
        } else if (kMode == Mode::kRows) {
          m = row_kept ? a.scale : 0.0f;
        } else if (kMode == Mode::kCols) {
          m = n0 + nl < kept_cols ? a.scale : 0.0f;
        } else if (kMode == Mode::kTiles) {
          m = live ? a.units[row_unit[ml] + col_unit[nl]] : 0.0f;
        } else {
          const unsigned long long u = u0 + c;
          m = Multiplier(a.draw, Word((u >> 2) == (u0 >> 2) ? w0 : w1, static_cast<unsigned>(u & 3)));
        }
        StoreWeight(a.W + row * a.N + col, m, acc[i * 1][g * 4 + c], a.beta);
      }
    }
  }
}

template <int BM, int BN, int TM, int TN, Mode kMode>
Status LaunchLinearTiles(LinearArgs a, cudaStream_t s) {
  a.tilesM = CeilDiv(a.M, BM);
  const long long tiles = a.tilesM * CeilDiv(a.N, BN);
  if (tiles > INT_MAX) {
    return Status::Shape("graddrop.linearGrad (CUDA): a [" + std::to_string(a.M) + ", " + std::to_string(a.N) +
                         "] weight has too many tiles for one grid");
  }
  LinearGradKernel<BM, BN, TM, TN, kMode><<<static_cast<unsigned>(tiles), (BM / TM) * (BN / TN), 0, s>>>(a);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

// The GEMM with tiles of `tile` (32 only for block masks).
template <Mode kMode>
Status LaunchLinear(const LinearArgs& a, int tile, cudaStream_t s) {
  if (tile == 128) return LaunchLinearTiles<128, 128, 8, 8, kMode>(a, s);
  if constexpr (kMode == Mode::kTiles) {
    if (tile == 32) return LaunchLinearTiles<32, 32, 4, 4, kMode>(a, s);
  }
  return LaunchLinearTiles<64, 64, 4, 4, kMode>(a, s);
}

// Big tiles reuse each loaded value more; small problems need small tiles to
// fill the SMs. `rows` is the expected number of rows computed.
int DenseTile(double rows, long long cols, int sms) {
  const double big = std::ceil(rows / 128.0) * static_cast<double>(CeilDiv(cols, 128));
  return big >= sms ? 128 : 64;
}

// The mean number of blocks of `b` that a tile [t·T, min(t·T + T, size)) spans
// (sampled over at most ~4096 tiles).
double MeanSpan(long long size, long long T, long long b) {
  const long long tiles = CeilDiv(size, T);
  const long long step = tiles > 4096 ? tiles / 4096 : 1;
  double sum = 0, count = 0;
  for (long long t = 0; t < tiles; t += step) {
    const long long s = t * T, e = s + T < size ? s + T : size;
    sum += static_cast<double>((e - 1) / b - s / b + 1);
    count += 1;
  }
  return sum / count;
}

struct TileChoice {
  int tile = 64;
  bool list = false;  // compact the live tiles (else every tile is computed)
};

// Block masks: the tile whose expected cost, (live fraction) × (relative cost
// of a product at that tile), is least. A tile dies when all the blocks it
// spans are dropped, with probability about p^(blocks spanned).
TileChoice ChooseBlockTile(long long M, long long N, long long br, long long bc, double p, int sms) {
  struct Option {
    int tile;
    double cost;
  };
  const Option options[] = {{128, 1.0}, {64, 1.3}, {32, 2.0}};
  TileChoice best;
  double best_score = 1e300, best_live = 1.0;
  for (const Option& o : options) {
    if (o.tile == 128 && CeilDiv(M, 128) * CeilDiv(N, 128) < sms) continue;
    const double spans = MeanSpan(M, o.tile, br) * MeanSpan(N, o.tile, bc);
    const double live = 1.0 - std::pow(p, spans);
    const double score = live * o.cost;
    if (score < best_score) {
      best_score = score;
      best_live = live;
      best.tile = o.tile;
    }
  }
  best.list = best_live < 0.98;
  return best;
}

// flags[t] = 1 when tile t (tile × tile, (t mod tilesM, ⌊t/tilesM⌋)) overlaps a kept block.
__global__ void TileFlagsKernel(const float* units, long long M, long long N, long long br, long long bc,
                                long long unit_cols, int tile, long long tiles_m, long long tiles, float* flags) {
  for (long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; t < tiles;
       t += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long m0 = (t % tiles_m) * tile, n0 = (t / tiles_m) * tile;
    const long long m1 = m0 + tile < M ? m0 + tile : M, n1 = n0 + tile < N ? n0 + tile : N;
    const long long r0 = Div(m0, br), r1 = Div(m1 - 1, br), c0 = Div(n0, bc), c1 = Div(n1 - 1, bc);
    bool live = false;
    for (long long r = r0; r <= r1 && !live; ++r) {
      for (long long c = c0; c <= c1; ++c) {
        if (units[r * unit_cols + c] != 0.0f) {
          live = true;
          break;
        }
      }
    }
    flags[t] = live ? 1.0f : 0.0f;
  }
}

// bias[i] = beta·bias[i] + m_i·Σ_t G[t, i] (beta·bias alone where m_i = 0), with
// m_i = rowMult[i] when given, else `mult`. 32 columns × 16 token lanes per
// block; the lanes are added in order.
constexpr int kBiasCols = 32, kBiasLanes = 16;

__global__ void __launch_bounds__(kBiasCols* kBiasLanes)
    BiasKernel(const float* G, long long T, long long M, const float* row_mult, float mult, float beta, float* bias) {
  __shared__ float part[kBiasLanes][kBiasCols + 1];
  const long long i = blockIdx.x * static_cast<long long>(kBiasCols) + threadIdx.x;
  const float m = i < M ? (row_mult ? row_mult[i] : mult) : 0.0f;
  float sum = 0.0f;
  if (m != 0.0f) {
    for (long long t = threadIdx.y; t < T; t += kBiasLanes) sum += G[t * M + i];
  }
  part[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y != 0 || i >= M) return;
  float total = 0.0f;
#pragma unroll
  for (int l = 0; l < kBiasLanes; ++l) total += part[l][threadIdx.x];
  const float old = beta != 0.0f ? beta * bias[i] : 0.0f;
  bias[i] = m != 0.0f ? fmaf(m, total, old) : old;
}

}  // namespace

Status GradDropMaskCuda(const GradMask& m, float* out, void* stream) {
  return MaskOrApply(m, out, false, AsStream(stream));
}

Status GradDropApplyCuda(const GradMask& m, float* grad, void* stream) {
  return MaskOrApply(m, grad, true, AsStream(stream));
}

Status GradDropLinearGradCuda(const MaskedLinearGradParams& p, void* stream) {
  const cudaStream_t s = AsStream(stream);
  const GradMask& mask = p.mask;
  const long long M = p.dout, N = p.din, K = p.tokens;
  if (M == 0) return Status::Ok();
  const Draw d = DrawOf(mask);

  // What is computed. A uniform mask (p = 0, p = 1, a tensor mask) is all kept
  // (one GEMM, multiplier `uniform`) or all dropped (no GEMM).
  bool uniform = d.threshold == 0 || d.threshold >= kAllDropped || mask.granularity == MaskGranularity::kTensor;
  const float uniform_mult =
      !uniform ? 0.0f : d.threshold == 0 ? d.scale : d.threshold >= kAllDropped ? 0.0f : TensorMultiplier(d);
  const MaskGranularity g = mask.granularity;

  // The unit table of a row, column or block mask (rows also serve the bias).
  StreamBuffer table(s);
  const bool needs_table = !uniform && (g == MaskGranularity::kColumn || g == MaskGranularity::kBlock
                                            ? N > 0
                                            : g == MaskGranularity::kRow);
  if (needs_table) {
    const long long units = static_cast<long long>(GradMaskUnits(mask));
    FRUGAL_RETURN_IF_ERROR(table.Allocate(units * static_cast<long long>(sizeof(float))));
    FRUGAL_RETURN_IF_ERROR(LaunchUnits(d, units, table.as<float>(), s));
  }

  if (p.bias) {
    const bool follows_rows = g == MaskGranularity::kRow || g == MaskGranularity::kTensor;
    const float* row_mult = follows_rows && !uniform ? table.as<float>() : nullptr;
    const float mult = follows_rows ? uniform_mult : 1.0f;
    BiasKernel<<<static_cast<unsigned>(CeilDiv(M, kBiasCols)), dim3(kBiasCols, kBiasLanes), 0, s>>>(
        p.G, K, M, row_mult, mult, p.beta, p.bias);
    CUDA_CHECK_LAUNCH();
  }
  if (N == 0) return Status::Ok();
  if (uniform && uniform_mult == 0.0f) return ScaleOld(p.weight, M * N, p.beta, s);

  int device = 0, sms = 1;
  CUDA_CHECK(cudaGetDevice(&device));
  CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  LinearArgs a;
  a.M = M;
  a.N = N;
  a.K = K;
  a.A = p.A;
  a.G = p.G;
  a.W = p.weight;
  a.beta = p.beta;
  a.scale = uniform ? uniform_mult : d.scale;
  a.draw = d;
  if (uniform) return LaunchLinear<Mode::kDense>(a, DenseTile(static_cast<double>(M), N, sms), s);
  const double kept = 1.0 - mask.p;
  switch (g) {
    case MaskGranularity::kElement: return LaunchLinear<Mode::kElement>(a, DenseTile(static_cast<double>(M), N, sms), s);
    case MaskGranularity::kRow:
    case MaskGranularity::kColumn: {
      const bool rows = g == MaskGranularity::kRow;
      const long long n = rows ? M : N;
      StreamBuffer perm(s);
      FRUGAL_RETURN_IF_ERROR(perm.Allocate((n + 1) * static_cast<long long>(sizeof(long long))));
      FRUGAL_RETURN_IF_ERROR(LaunchCompact(table.as<float>(), n, perm.as<long long>(), s));
      a.perm = perm.as<long long>();
      if (rows) return LaunchLinear<Mode::kRows>(a, DenseTile(kept * static_cast<double>(M), N, sms), s);
      return LaunchLinear<Mode::kCols>(a, DenseTile(static_cast<double>(M), static_cast<long long>(std::ceil(kept * N)), sms), s);
    }
    default: break;
  }
  // Block masks.
  a.units = table.as<float>();
  a.br = mask.blockRows;
  a.bc = mask.blockCols;
  a.unitCols = CeilDiv(N, mask.blockCols);
  const TileChoice choice = ChooseBlockTile(M, N, a.br, a.bc, mask.p, sms);
  if (!choice.list) return LaunchLinear<Mode::kTiles>(a, choice.tile, s);
  const long long tiles_m = CeilDiv(M, choice.tile), tiles = tiles_m * CeilDiv(N, choice.tile);
  StreamBuffer flags(s), perm(s);
  FRUGAL_RETURN_IF_ERROR(flags.Allocate(tiles * static_cast<long long>(sizeof(float))));
  FRUGAL_RETURN_IF_ERROR(perm.Allocate((tiles + 1) * static_cast<long long>(sizeof(long long))));
  TileFlagsKernel<<<GridFor(tiles, kThreads), kThreads, 0, s>>>(a.units, M, N, a.br, a.bc, a.unitCols, choice.tile,
                                                                tiles_m, tiles, flags.as<float>());
  CUDA_CHECK_LAUNCH();
  FRUGAL_RETURN_IF_ERROR(LaunchCompact(flags.as<float>(), tiles, perm.as<long long>(), s));
  a.perm = perm.as<long long>();
  return LaunchLinear<Mode::kTiles>(a, choice.tile, s);
}

}  // namespace frugal
