// CUDA launchers of the path-attention family (frugal/path_attention.h); the
// int32 layout arrays are device copies (cuda/path_attention.h).
//
// Row copies. Gather and restore's kept rows run one x block per path (y parts
// so that a small batch still fills the device), a thread per element. Restore
// first writes the fill row (or zeros) to every row, then the kept rows over it:
// stream order keeps the passes apart and keep positions are unique per path, so
// no two threads write one element. The removed sum marks the kept rows in a
// stream-ordered flag buffer, then a thread per column adds the unmarked rows in
// ascending order, plain float adds from 0: the CPU's order, so the same bits.
//
// Attention. A block per (path, head) and share of the path's tiles of 16 rows
// (shares only when there are too few pairs to fill the device). Each of its 4
// warps owns 4 rows, kept in registers spread over the lanes (register t holds
// element 32t + lane), and the block stages the path's other operands 32 rows at
// a time in shared memory. Against a staged block, lane j takes the dot products
// of the warp's rows with staged row j (the row elements broadcast by shuffles),
// then the warp folds those coefficients times the staged rows back into its row
// accumulators (coefficient j broadcast, lanes over columns).
// - Forward: rows are queries, staged are keys and values; online softmax over
//   the key blocks (running max, running sum, rescaled accumulator).
// - Backward (FlashAttention-2, p recomputed from lse): D_i = dout_i·out_i first,
//   a warp per row; then ∂K, ∂V with rows = keys against staged queries and ∂out,
//   and ∂Q with rows = queries against staged keys and values.
// Head dims are rounded up to 1, 2, 4 or 8 chunks of 32 columns (a template),
// zero padded, so padding adds exact zeros.
//
// Determinism: every output row is summed by one warp in a fixed order (staged
// rows ascending, columns ascending within a dot product, butterfly warp sums),
// with no atomics; the split of a path's tiles over blocks never changes a row's
// arithmetic, so results are the same on every run.
#include <climits>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include "check.cuh"
#include "cuda/path_attention.h"
#include "reduce.cuh"

namespace frugal {
namespace {

constexpr int kThreads = 256;              // row copies, sums and D
constexpr long long kMaxBlocks = 65536;    // grid-stride beyond this (elementwise kernels)
constexpr long long kTargetBlocks = 1024;  // split sizes aim at this many blocks (a function of the sizes only)
constexpr unsigned kFullMask = 0xffffffffu;

unsigned GridFor(long long n) {
  const long long blocks = CeilDiv(n, kThreads);
  return static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks);
}

// ---- gather / restore / removed sum -------------------------------------------

// One x block per path, enough y parts that a small batch still fills the device.
dim3 PathGrid(long long paths) {
  long long parts = CeilDiv(kTargetBlocks, paths);
  if (parts > 64) parts = 64;
  return dim3(static_cast<unsigned>(paths), static_cast<unsigned>(parts));
}

Status CheckPaths(const char* op, int64_t paths) {
  if (paths > INT_MAX) return Status::Range(std::string(op) + ": " + std::to_string(paths) + " paths exceed the grid limit");
  return Status::Ok();
}

// Path b's kept rows: kGather copies full row lengths_offsets[b] + keep[j] to kept
// row j, otherwise kept row j back to that full row.
template <bool kGather>
__global__ void PlaceKeptRowsKernel(const int32_t* lengths_offsets, const int32_t* offsets, const int32_t* keep,
                                    long long dim, const float* src, float* dst) {
  const long long b = blockIdx.x;
  const long long j0 = offsets[b], base = lengths_offsets[b];
  const long long run = (offsets[b + 1] - j0) * dim;
  const long long stride = static_cast<long long>(gridDim.y) * blockDim.x;
  for (long long idx = blockIdx.y * static_cast<long long>(blockDim.x) + threadIdx.x; idx < run; idx += stride) {
    const long long j = j0 + idx / dim, c = idx % dim;
    const long long full = (base + keep[j]) * dim + c, kept = j * dim + c;
    if (kGather) {
      dst[kept] = src[full];
    } else {
      dst[full] = src[kept];
    }
  }
}

// full[e] = fill[e mod dim], or 0 without fill, for every element.
__global__ void FillRowsKernel(long long n, long long dim, const float* fill, float* full) {
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < n; e += stride) {
    full[e] = fill ? fill[e % dim] : 0.0f;
  }
}

// is_kept[lengths_offsets[b] + keep[j]] = 1 for every kept j of path b.
__global__ void MarkKeptKernel(const int32_t* lengths_offsets, const int32_t* offsets, const int32_t* keep,
                               uint8_t* is_kept) {
  const long long b = blockIdx.x;
  const long long stride = static_cast<long long>(gridDim.y) * blockDim.x;
  for (long long j = offsets[b] + blockIdx.y * static_cast<long long>(blockDim.x) + threadIdx.x; j < offsets[b + 1];
       j += stride) {
    is_kept[lengths_offsets[b] + keep[j]] = 1;
  }
}

// dfill[c] = Σ of dfull[r, c] over the rows r not kept, r ascending (the CPU's order).
__global__ void RemovedSumKernel(long long rows, long long dim, const uint8_t* is_kept, const float* dfull,
                                 float* dfill) {
  const long long c = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (c >= dim) return;
  float sum = 0.0f;
  for (long long r = 0; r < rows; ++r) {
    if (!is_kept[r]) sum += dfull[r * dim + c];
  }
  dfill[c] = sum;
}

Status SumRemovedRows(const PathRemovedSumParams& p, const PathIndexDevice& d, uint8_t* is_kept, cudaStream_t s) {
  CUDA_CHECK(cudaMemsetAsync(is_kept, 0, d.total_tokens, s));
  if (d.total_kept > 0) {
    MarkKeptKernel<<<PathGrid(p.paths), kThreads, 0, s>>>(d.lengths_offsets, d.offsets, d.keep, is_kept);
    CUDA_CHECK_LAUNCH();
  }
  RemovedSumKernel<<<GridBlocks(p.dim, kThreads), kThreads, 0, s>>>(d.total_tokens, p.dim, is_kept, p.dfull, p.dfill);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

// ---- attention ------------------------------------------------------------------

constexpr int kWarps = 4, kAttentionThreads = 32 * kWarps;
constexpr int kRows = 4;                   // rows per warp
constexpr int kTileRows = kWarps * kRows;  // rows per block tile
constexpr int kStaged = 32;                // staged rows per block: one per lane

// Shape of one call, as the kernels see it.
struct HeadLayout {
  const int32_t* offsets;  // device
  long long heads;
  int head_dim;
  long long stride;  // between rows of q, k, v and of dq, dk, dv
  float scale;
};

// The path and head of this block: rows [first, first + tokens) of every tensor.
struct PathHead {
  long long first, tokens, head;
};

__device__ __forceinline__ PathHead ThisPathHead(const HeadLayout& g) {
  const long long b = blockIdx.x / g.heads;
  const long long first = g.offsets[b];
  return {first, g.offsets[b + 1] - first, blockIdx.x % g.heads};
}

__device__ __forceinline__ float WarpMax(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}

// Row r0 + warp·kRows + k of the warp, for k < kRows.
__device__ __forceinline__ long long WarpRow(long long r0, int k) { return r0 + (threadIdx.x >> 5) * kRows + k; }

// x[k][t] = element 32t + lane of the warp's row k of src (rows `stride` apart),
// zero past the head or past the path's `rows`.
template <int NC>
__device__ __forceinline__ void LoadRows(const float* src, long long stride, long long rows, int hd, long long r0,
                                         float (&x)[kRows][NC]) {
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int k = 0; k < kRows; ++k) {
    const long long r = WarpRow(r0, k);
#pragma unroll
    for (int t = 0; t < NC; ++t) {
      const int d = 32 * t + lane;
      x[k][t] = r < rows && d < hd ? src[r * stride + d] : 0.0f;
    }
  }
}

// The warp's rows of dst (rows `stride` apart) = factor·x, only the path's rows
// and the head's columns: whatever lies between rows is never touched.
template <int NC>
__device__ __forceinline__ void StoreRows(const float (&x)[kRows][NC], float factor, long long rows, int hd,
                                          long long r0, long long stride, float* dst) {
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int k = 0; k < kRows; ++k) {
    const long long r = WarpRow(r0, k);
    if (r >= rows) continue;
#pragma unroll
    for (int t = 0; t < NC; ++t) {
      const int d = 32 * t + lane;
      if (d < hd) dst[r * stride + d] = factor * x[k][t];
    }
  }
}

// buf[r][d] = src row r (rows `stride` apart), element d, for r < n and d < hd;
// zeros elsewhere, so staged padding adds nothing. Element d of row r sits at
// column d ^ r of its 32-column chunk: a warp reading one column of all 32 rows
// (lane = row, DotStaged) and one reading a row (lane = column, FoldStaged) both
// hit 32 distinct banks.
template <int NC>
__device__ __forceinline__ void Stage(const float* src, long long stride, int n, int hd, float* buf) {
  constexpr int kCols = 32 * NC;
  for (int e = threadIdx.x; e < kStaged * kCols; e += blockDim.x) {
    const int r = e / kCols, d = e % kCols;
    buf[r * kCols + (d ^ r)] = r < n && d < hd ? src[r * stride + d] : 0.0f;
  }
}

// s[k] = Σ_d x[k][d]·staged[lane][d], d ascending: the warp's row k against
// staged row `lane`, the row's elements broadcast from the lane holding them.
template <int NC>
__device__ __forceinline__ void DotStaged(const float (&x)[kRows][NC], const float* buf, float (&s)[kRows]) {
  const int lane = threadIdx.x & 31;
  const float* row = buf + lane * (32 * NC);
#pragma unroll
  for (int k = 0; k < kRows; ++k) s[k] = 0.0f;
#pragma unroll
  for (int t = 0; t < NC; ++t) {
#pragma unroll
    for (int src = 0; src < 32; ++src) {
      const float b = row[32 * t + (src ^ lane)];
#pragma unroll
      for (int k = 0; k < kRows; ++k) s[k] = fmaf(__shfl_sync(kFullMask, x[k][t], src), b, s[k]);
    }
  }
}

// acc[k][d] += Σ_{j < n} c[k] of lane j · staged[j][d], j ascending, d = 32t + lane.
template <int NC>
__device__ __forceinline__ void FoldStaged(const float (&c)[kRows], const float* buf, int n, float (&acc)[kRows][NC]) {
  const int lane = threadIdx.x & 31;
  for (int j = 0; j < n; ++j) {
    float cj[kRows];
#pragma unroll
    for (int k = 0; k < kRows; ++k) cj[k] = __shfl_sync(kFullMask, c[k], j);
    const float* row = buf + j * (32 * NC) + (lane ^ j);
#pragma unroll
    for (int t = 0; t < NC; ++t) {
      const float b = row[32 * t];
#pragma unroll
      for (int k = 0; k < kRows; ++k) acc[k][t] = fmaf(cj[k], b, acc[k][t]);
    }
  }
}

// Staged rows in a block of a path of `tokens`, from row j0.
__device__ __forceinline__ int StagedCount(long long tokens, long long j0) {
  return static_cast<int>(tokens - j0 < kStaged ? tokens - j0 : kStaged);
}

template <int NC>
__global__ void __launch_bounds__(kAttentionThreads)
    ForwardKernel(HeadLayout g, const float* q, const float* k, const float* v, float* out, float* lse) {
  extern __shared__ float staged[];
  float* ks = staged;
  float* vs = staged + kStaged * 32 * NC;
  const PathHead ph = ThisPathHead(g);
  const long long in = ph.first * g.stride + ph.head * g.head_dim, width = g.heads * g.head_dim;
  const int lane = threadIdx.x & 31;
  for (long long r0 = blockIdx.y * static_cast<long long>(kTileRows); r0 < ph.tokens;
       r0 += static_cast<long long>(gridDim.y) * kTileRows) {
    float qr[kRows][NC], acc[kRows][NC] = {}, m[kRows], l[kRows];
    LoadRows<NC>(q + in, g.stride, ph.tokens, g.head_dim, r0, qr);
#pragma unroll
    for (int r = 0; r < kRows; ++r) m[r] = -INFINITY, l[r] = 0.0f;
    for (long long j0 = 0; j0 < ph.tokens; j0 += kStaged) {
      const int n = StagedCount(ph.tokens, j0);
      __syncthreads();  // every warp is done with the previous block
      Stage<NC>(k + in + j0 * g.stride, g.stride, n, g.head_dim, ks);
      Stage<NC>(v + in + j0 * g.stride, g.stride, n, g.head_dim, vs);
      __syncthreads();
      float p[kRows];
      DotStaged<NC>(qr, ks, p);
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        const float s = lane < n ? p[r] * g.scale : -INFINITY;
        // Online softmax: rescale what the earlier blocks summed to the new maximum.
        const float m_new = fmaxf(m[r], WarpMax(s));
        const float alpha = expf(m[r] - m_new);
        p[r] = expf(s - m_new);
        l[r] = l[r] * alpha + WarpSum(p[r]);
#pragma unroll
        for (int t = 0; t < NC; ++t) acc[r][t] *= alpha;
        m[r] = m_new;
      }
      FoldStaged<NC>(p, vs, n, acc);
    }
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const float inv_l = 1.0f / l[r];
#pragma unroll
      for (int t = 0; t < NC; ++t) acc[r][t] *= inv_l;
      const long long row = WarpRow(r0, r);
      if (lane == 0 && row < ph.tokens) lse[(ph.first + row) * g.heads + ph.head] = m[r] + logf(l[r]);
    }
    StoreRows<NC>(acc, 1.0f, ph.tokens, g.head_dim, r0, width, out + ph.first * width + ph.head * g.head_dim);
  }
}

// D[e] = dout row e · out row e for the rows e = token·heads + head of [total, heads, head_dim]: a warp per row.
__global__ void RowDotKernel(long long rows, int hd, const float* dout, const float* out, float* D) {
  const int lane = threadIdx.x & 31;
  const long long warps = static_cast<long long>(gridDim.x) * (blockDim.x >> 5);
  for (long long e = (blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x) >> 5; e < rows; e += warps) {
    float s = 0.0f;
    for (int d = lane; d < hd; d += 32) s = fmaf(dout[e * hd + d], out[e * hd + d], s);
    s = WarpSum(s);
    if (lane == 0) D[e] = s;
  }
}

// ∂K and ∂V: the warp's rows are keys j, the staged blocks queries i and their ∂out:
// dv_j = Σ_i p_ij dout_i, dk_j = scale Σ_i ds_ij q_i.
template <int NC>
__global__ void __launch_bounds__(kAttentionThreads)
    KeyGradKernel(HeadLayout g, const float* q, const float* k, const float* v, const float* lse, const float* D,
                  const float* dout, float* dk, float* dv) {
  extern __shared__ float staged[];
  float* qs = staged;
  float* os = staged + kStaged * 32 * NC;
  const PathHead ph = ThisPathHead(g);
  const long long in = ph.first * g.stride + ph.head * g.head_dim, width = g.heads * g.head_dim;
  const long long o = ph.first * width + ph.head * g.head_dim, stats = ph.first * g.heads + ph.head;
  const int lane = threadIdx.x & 31;
  for (long long r0 = blockIdx.y * static_cast<long long>(kTileRows); r0 < ph.tokens;
       r0 += static_cast<long long>(gridDim.y) * kTileRows) {
    float kr[kRows][NC], vr[kRows][NC], dk_acc[kRows][NC] = {}, dv_acc[kRows][NC] = {};
    LoadRows<NC>(k + in, g.stride, ph.tokens, g.head_dim, r0, kr);
    LoadRows<NC>(v + in, g.stride, ph.tokens, g.head_dim, r0, vr);
    for (long long i0 = 0; i0 < ph.tokens; i0 += kStaged) {
      const int n = StagedCount(ph.tokens, i0);
      __syncthreads();  // every warp is done with the previous block
      Stage<NC>(q + in + i0 * g.stride, g.stride, n, g.head_dim, qs);
      Stage<NC>(dout + o + i0 * width, width, n, g.head_dim, os);
      __syncthreads();
      // Lane i is query i0 + i: its saved statistics; lanes past the path give p = ds = 0.
      const bool query = lane < n;
      const float lse_i = query ? lse[stats + (i0 + lane) * g.heads] : 0.0f;
      const float D_i = query ? D[stats + (i0 + lane) * g.heads] : 0.0f;
      float p[kRows], ds[kRows];
      DotStaged<NC>(kr, qs, p);   // k_j·q_i
      DotStaged<NC>(vr, os, ds);  // v_j·dout_i
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        p[r] = query ? expf(p[r] * g.scale - lse_i) : 0.0f;
        ds[r] = query ? p[r] * (ds[r] - D_i) : 0.0f;
      }
      FoldStaged<NC>(p, os, n, dv_acc);
      FoldStaged<NC>(ds, qs, n, dk_acc);
    }
    StoreRows<NC>(dk_acc, g.scale, ph.tokens, g.head_dim, r0, g.stride, dk + in);
    StoreRows<NC>(dv_acc, 1.0f, ph.tokens, g.head_dim, r0, g.stride, dv + in);
  }
}

// ∂Q: the warp's rows are queries i, the staged blocks keys j and values:
// dq_i = scale Σ_j ds_ij k_j.
template <int NC>
__global__ void __launch_bounds__(kAttentionThreads)
    QueryGradKernel(HeadLayout g, const float* q, const float* k, const float* v, const float* lse, const float* D,
                    const float* dout, float* dq) {
  extern __shared__ float staged[];
  float* ks = staged;
  float* vs = staged + kStaged * 32 * NC;
  const PathHead ph = ThisPathHead(g);
  const long long in = ph.first * g.stride + ph.head * g.head_dim, width = g.heads * g.head_dim;
  const long long o = ph.first * width + ph.head * g.head_dim, stats = ph.first * g.heads + ph.head;
  const int lane = threadIdx.x & 31;
  for (long long r0 = blockIdx.y * static_cast<long long>(kTileRows); r0 < ph.tokens;
       r0 += static_cast<long long>(gridDim.y) * kTileRows) {
    float qr[kRows][NC], dor[kRows][NC], dq_acc[kRows][NC] = {}, lse_r[kRows], D_r[kRows];
    LoadRows<NC>(q + in, g.stride, ph.tokens, g.head_dim, r0, qr);
    LoadRows<NC>(dout + o, width, ph.tokens, g.head_dim, r0, dor);
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const long long row = WarpRow(r0, r);
      lse_r[r] = row < ph.tokens ? lse[stats + row * g.heads] : 0.0f;
      D_r[r] = row < ph.tokens ? D[stats + row * g.heads] : 0.0f;
    }
    for (long long j0 = 0; j0 < ph.tokens; j0 += kStaged) {
      const int n = StagedCount(ph.tokens, j0);
      __syncthreads();  // every warp is done with the previous block
      Stage<NC>(k + in + j0 * g.stride, g.stride, n, g.head_dim, ks);
      Stage<NC>(v + in + j0 * g.stride, g.stride, n, g.head_dim, vs);
      __syncthreads();
      float ds[kRows], dp[kRows];
      DotStaged<NC>(qr, ks, ds);   // q_i·k_j
      DotStaged<NC>(dor, vs, dp);  // dout_i·v_j
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        const float p = expf(ds[r] * g.scale - lse_r[r]);
        ds[r] = lane < n ? p * (dp[r] - D_r[r]) : 0.0f;
      }
      FoldStaged<NC>(ds, ks, n, dq_acc);
    }
    StoreRows<NC>(dq_acc, g.scale, ph.tokens, g.head_dim, r0, g.stride, dq + in);
  }
}

// Dynamic shared memory of an attention kernel: two staged blocks.
constexpr size_t StagedBytes(int nc) { return 2 * kStaged * 32 * static_cast<size_t>(nc) * sizeof(float); }

// f(std::integral_constant<int, NC>{}) with the fewest of 1, 2, 4, 8 chunks of 32
// columns that hold head_dim.
template <class F>
Status WithChunks(int64_t head_dim, F&& f) {
  if (head_dim <= 32) return f(std::integral_constant<int, 1>{});
  if (head_dim <= 64) return f(std::integral_constant<int, 2>{});
  if (head_dim <= 128) return f(std::integral_constant<int, 4>{});
  return f(std::integral_constant<int, 8>{});
}

// Launches an attention kernel with `bytes` of dynamic shared memory, raising the
// kernel's limit past the 48 KiB default when it needs more (8 chunks: 64 KiB,
// which every targeted architecture allows).
template <class... Params, class... Args>
Status LaunchAttention(void (*kernel)(Params...), dim3 grid, size_t bytes, cudaStream_t s, Args... args) {
  if (bytes > 48 * 1024) {
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
  }
  kernel<<<grid, kAttentionThreads, bytes, s>>>(args...);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

// The kernels' view of a call and their grid: a block per (path, head) pair, and
// shares of each path's row tiles when there are fewer pairs than kTargetBlocks
// (never more shares than tiles of all `total` rows).
Status AttentionLayout(const char* op, int64_t paths, int64_t heads, int64_t head_dim, int64_t qkv_stride, float scale,
                       const PathIndexDevice& d, HeadLayout* g, dim3* grid) {
  if (head_dim < 1 || head_dim > kPathAttentionMaxHeadDim) {
    return Status::Shape(std::string(op) + ": head_dim " + std::to_string(head_dim) + " outside [1, " +
                         std::to_string(kPathAttentionMaxHeadDim) + "]");
  }
  const long long pairs = static_cast<long long>(paths) * heads;
  if (pairs > INT_MAX) return Status::Range(std::string(op) + ": paths·heads = " + std::to_string(pairs) + " exceeds the grid limit");
  long long shares = CeilDiv(kTargetBlocks, pairs);
  const long long tiles = CeilDiv(d.total_kept, kTileRows);
  if (shares > tiles) shares = tiles;
  *g = HeadLayout{d.offsets, heads, static_cast<int>(head_dim), qkv_stride ? qkv_stride : heads * head_dim, scale};
  *grid = dim3(static_cast<unsigned>(pairs), static_cast<unsigned>(shares));
  return Status::Ok();
}

// D, then ∂K/∂V and ∂Q (independent: they read the inputs and D, and write
// disjoint columns even when dq, dk, dv interleave in one buffer).
Status BackwardKernels(const PathAttentionBackwardParams& p, const HeadLayout& g, dim3 grid, long long rows, float* D,
                       cudaStream_t s) {
  const long long blocks = CeilDiv(rows, kThreads / 32);
  RowDotKernel<<<static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks), kThreads, 0, s>>>(
      rows, g.head_dim, p.dout, p.out, D);
  CUDA_CHECK_LAUNCH();
  return WithChunks(p.head_dim, [&](auto chunks) {
    constexpr int NC = decltype(chunks)::value;
    FRUGAL_RETURN_IF_ERROR(LaunchAttention(KeyGradKernel<NC>, grid, StagedBytes(NC), s, g, p.q, p.k, p.v, p.lse, D,
                                           p.dout, p.dk, p.dv));
    return LaunchAttention(QueryGradKernel<NC>, grid, StagedBytes(NC), s, g, p.q, p.k, p.v, p.lse, D, p.dout, p.dq);
  });
}

}  // namespace

Status PathGatherCuda(const PathGatherParams& p, const PathIndexDevice& d, void* stream) {
  if (d.total_kept == 0 || p.dim == 0) return Status::Ok();
  FRUGAL_RETURN_IF_ERROR(CheckPaths("PathGatherCuda", p.paths));
  PlaceKeptRowsKernel<true><<<PathGrid(p.paths), kThreads, 0, AsStream(stream)>>>(d.lengths_offsets, d.offsets, d.keep,
                                                                                  p.dim, p.x, p.kept);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status PathRestoreCuda(const PathRestoreParams& p, const PathIndexDevice& d, void* stream) {
  const long long n = d.total_tokens * p.dim;
  if (n == 0) return Status::Ok();
  FRUGAL_RETURN_IF_ERROR(CheckPaths("PathRestoreCuda", p.paths));
  const cudaStream_t s = AsStream(stream);
  FillRowsKernel<<<GridFor(n), kThreads, 0, s>>>(n, p.dim, p.fill, p.full);
  CUDA_CHECK_LAUNCH();
  if (d.total_kept > 0) {
    PlaceKeptRowsKernel<false><<<PathGrid(p.paths), kThreads, 0, s>>>(d.lengths_offsets, d.offsets, d.keep, p.dim,
                                                                      p.kept, p.full);
    CUDA_CHECK_LAUNCH();
  }
  return Status::Ok();
}

Status PathRemovedSumCuda(const PathRemovedSumParams& p, const PathIndexDevice& d, void* stream) {
  if (p.dim == 0) return Status::Ok();
  FRUGAL_RETURN_IF_ERROR(CheckPaths("PathRemovedSumCuda", p.paths));
  const cudaStream_t s = AsStream(stream);
  if (d.total_tokens == 0) {  // no rows: the sum is zero
    CUDA_CHECK(cudaMemsetAsync(p.dfill, 0, p.dim * sizeof(float), s));
    return Status::Ok();
  }
  // Stream-ordered flags: no device-wide synchronisation, pooled by the driver.
  uint8_t* is_kept = nullptr;
  CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&is_kept), d.total_tokens, s));
  const Status run = SumRemovedRows(p, d, is_kept, s);
  CUDA_CHECK(cudaFreeAsync(is_kept, s));
  return run;
}

Status PathAttentionCuda(const PathAttentionParams& p, const PathIndexDevice& d, void* stream) {
  if (d.total_kept == 0) return Status::Ok();
  HeadLayout g;
  dim3 grid;
  FRUGAL_RETURN_IF_ERROR(
      AttentionLayout("PathAttentionCuda", p.paths, p.heads, p.head_dim, p.qkv_stride, p.scale, d, &g, &grid));
  return WithChunks(p.head_dim, [&](auto chunks) {
    constexpr int NC = decltype(chunks)::value;
    return LaunchAttention(ForwardKernel<NC>, grid, StagedBytes(NC), AsStream(stream), g, p.q, p.k, p.v, p.out, p.lse);
  });
}

Status PathAttentionBackwardCuda(const PathAttentionBackwardParams& p, const PathIndexDevice& d, void* stream) {
  if (d.total_kept == 0) return Status::Ok();
  HeadLayout g;
  dim3 grid;
  FRUGAL_RETURN_IF_ERROR(AttentionLayout("PathAttentionBackwardCuda", p.paths, p.heads, p.head_dim, p.qkv_stride,
                                         p.scale, d, &g, &grid));
  const cudaStream_t s = AsStream(stream);
  const long long rows = d.total_kept * p.heads;
  // D_i in stream-ordered workspace, read by both gradient kernels.
  float* D = nullptr;
  CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&D), rows * sizeof(float), s));
  const Status run = BackwardKernels(p, g, grid, rows, D, s);
  CUDA_CHECK(cudaFreeAsync(D, s));
  return run;
}

}  // namespace frugal
