// CUDA launchers of the SLaSh / JR-WARP family (frugal/slash.h).
//
// Projection: W_l is never stored. A thread block regenerates a tile of W_l
// (kTileRows rows i × kTileCols columns j) into shared memory from the random
// stream (seed, sub = l, tag 1): element (i, j) is stream element e = i·H + j, one
// thread per counter block of four elements (philox.cuh, the same values as
// the random family). The factor 1/√d is applied once to each finished sum, as on the CPU.
// - Forward, shifts[l, j] = Σ_i z[i]·W_l[i, j]: a block per (layer, column tile)
//   loops over the rows i of its chunk; a thread owns one column and one of four
//   row lanes, and the lanes are added in lane order. When there are few column
//   blocks the rows are split into chunks whose partial sums a second kernel adds
//   in chunk order.
// - Backward, dz[b, i] = Σ_l Σ_j g[b, l, j]·W_l[i, j]: a block per row tile loops
//   over the (layer, column tile) pairs of its share; each W tile is generated
//   once and used for every sample b. A thread owns one row i and four samples
//   and adds each tile's dot product (columns in order) to its running sums in
//   the output, which only it touches. When there are few row tiles the (layer,
//   column tile) pairs are split into shares whose partials are added in order.
// No float atomics anywhere: every sum runs in an order fixed by the sizes alone,
// so results are deterministic. Workspace (split partials) is stream-ordered
// (cudaMallocAsync), never a device-wide synchronisation.
//
// The other launchers are elementwise or per-column loops: LayerNorm inversion
// (x̂ recovered from y), vector add, and the JR-WARP prompt ops on packed batches
// with device offsets.
#include <climits>
#include <cmath>
#include <cstdint>
#include <string>

#include "check.cuh"
#include "frugal/random.h"
#include "cuda/slash.h"
#include "philox.cuh"

namespace frugal {
namespace {

constexpr int kThreads = 256;
constexpr long long kMaxBlocks = 65536;  // grid-stride beyond this (elementwise kernels)

// W tiles: 32 rows × 60 columns. A row of 60 consecutive stream elements touches
// at most 16 counter blocks, so a tile is exactly 512 generation tasks, two per
// thread. Rows are padded to 61 floats: a warp reading one column of 32 rows hits
// 32 different banks.
constexpr int kTileRows = 32, kTileCols = 60, kLd = kTileCols + 1;
constexpr int kBlocksPerRow = kTileCols / 4 + 1;
static_assert(kTileRows * kBlocksPerRow == 2 * kThreads, "two generation tasks per thread");

// Forward: 4 row lanes × 64 column slots (60 used).
constexpr int kRowLanes = kThreads / 64;
// Backward: 8 warps × 4 samples per thread = 32 samples per pass over a tile.
constexpr int kSamplesPerThread = 4, kSamplesPerPass = (kThreads / 32) * kSamplesPerThread;

// Split sizes aim at this many thread blocks (a function of the sizes only, never
// of the device, so the summation order is the same on every GPU).
constexpr long long kTargetBlocks = 1024;
// Bound on the backward's split partials (floats): 64 MiB.
constexpr long long kMaxWorkspaceFloats = 16ll << 20;

long long Ceil(long long a, long long b) { return (a + b - 1) / b; }

unsigned GridFor(long long n) {
  const long long blocks = Ceil(n, kThreads);
  return static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks);
}

// 1/√d, rounded once from double (as core/slash.cc does).
float ProjectionScale(int64_t dim) { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(dim))); }

// Fills ws[r][c] = √d·W_layer[i0 + r, j0 + c] (the unscaled stream values) for
// r < rows, c < cols.
template <bool kNormal>
__device__ __forceinline__ void GenerateTile(uint32_t k0, uint32_t k1, uint32_t layer, long long hidden, long long i0,
                                             int rows, long long j0, int cols, float (*ws)[kLd]) {
  for (int task = threadIdx.x; task < rows * kBlocksPerRow; task += blockDim.x) {
    const int r = task / kBlocksPerRow, q = task % kBlocksPerRow;
    const unsigned long long e0 = static_cast<unsigned long long>(i0 + r) * static_cast<unsigned long long>(hidden) +
                                  static_cast<unsigned long long>(j0);
    const unsigned long long e1 = e0 + static_cast<unsigned long long>(cols);  // exclusive
    const unsigned long long block = e0 / 4 + static_cast<unsigned long long>(q);
    if (4 * block >= e1) continue;
    const uint4 c = philox::StreamBlock(k0, k1, layer, kTagProjection, block);
    const uint32_t w[4] = {c.x, c.y, c.z, c.w};
    float v[4];
    if (kNormal) {
      philox::Normals(w, 1.0f, v);
    } else {
      for (int k = 0; k < 4; ++k) v[k] = philox::Rademacher(w[k], 1.0f);
    }
    for (int k = 0; k < 4; ++k) {
      const unsigned long long e = 4 * block + static_cast<unsigned long long>(k);
      if (e >= e0 && e < e1) ws[r][e - e0] = v[k];
    }
  }
}

// Block (column block x = layer·tilesJ + column tile, row chunk y): out[y][layer][j]
// = out_scale·Σ over the chunk's rows i of z[i]·√d·W_layer[i, j].
template <bool kNormal>
__global__ void __launch_bounds__(kThreads)
    ProjectKernel(uint32_t k0, uint32_t k1, long long layers, long long dim, long long hidden, long long tiles_j,
                  long long chunk_rows, float out_scale, const float* z, float* out) {
  __shared__ float ws[kTileRows][kLd];
  __shared__ float zs[kTileRows];
  __shared__ float lanes[kRowLanes][64];
  const long long layer = blockIdx.x / tiles_j;
  const long long j0 = (blockIdx.x % tiles_j) * kTileCols;
  const int cols = static_cast<int>(hidden - j0 < kTileCols ? hidden - j0 : kTileCols);
  const long long i_begin = blockIdx.y * chunk_rows;
  const long long i_end = i_begin + chunk_rows < dim ? i_begin + chunk_rows : dim;
  const int jj = threadIdx.x & 63, lane = threadIdx.x >> 6;
  float acc = 0;
  for (long long i0 = i_begin; i0 < i_end; i0 += kTileRows) {
    const int rows = static_cast<int>(i_end - i0 < kTileRows ? i_end - i0 : kTileRows);
    __syncthreads();  // the previous tile has been read
    GenerateTile<kNormal>(k0, k1, static_cast<uint32_t>(layer), hidden, i0, rows, j0, cols, ws);
    if (threadIdx.x < rows) zs[threadIdx.x] = z[i0 + threadIdx.x];
    __syncthreads();
    if (jj < cols) {
      for (int r = lane; r < rows; r += kRowLanes) acc = fmaf(zs[r], ws[r][jj], acc);
    }
  }
  lanes[lane][jj] = acc;
  __syncthreads();
  if (lane == 0 && jj < cols) {
    float sum = lanes[0][jj];
    for (int k = 1; k < kRowLanes; ++k) sum += lanes[k][jj];
    out[(blockIdx.y * layers + layer) * hidden + j0 + jj] = sum * out_scale;
  }
}

// Block (row tile x, share y) adds, for its rows i and every sample b, the dot
// products with √d·W over the (layer, column tile) pairs [y·per_split,
// (y+1)·per_split) into out[y][b][i] (first pair writes, later pairs add, the last
// one multiplies the total by out_scale).
template <bool kNormal>
__global__ void __launch_bounds__(kThreads)
    ProjectBackwardKernel(uint32_t k0, uint32_t k1, long long layers, long long dim, long long hidden,
                          long long tiles_j, long long per_split, long long batch, float out_scale, const float* g,
                          float* out) {
  __shared__ float ws[kTileRows][kLd];
  __shared__ float gs[kSamplesPerPass][kTileCols];
  const long long i0 = blockIdx.x * static_cast<long long>(kTileRows);
  const int rows = static_cast<int>(dim - i0 < kTileRows ? dim - i0 : kTileRows);
  const long long total = layers * tiles_j;
  const long long t_begin = blockIdx.y * per_split;
  const long long t_end = t_begin + per_split < total ? t_begin + per_split : total;
  out += blockIdx.y * batch * dim;
  const int ii = threadIdx.x & 31, slot = threadIdx.x >> 5;
  for (long long t = t_begin; t < t_end; ++t) {
    const long long layer = t / tiles_j;
    const long long j0 = (t % tiles_j) * kTileCols;
    const int cols = static_cast<int>(hidden - j0 < kTileCols ? hidden - j0 : kTileCols);
    __syncthreads();  // the previous tile and g block have been read
    GenerateTile<kNormal>(k0, k1, static_cast<uint32_t>(layer), hidden, i0, rows, j0, cols, ws);
    for (long long b0 = 0; b0 < batch; b0 += kSamplesPerPass) {
      const int nb = static_cast<int>(batch - b0 < kSamplesPerPass ? batch - b0 : kSamplesPerPass);
      __syncthreads();  // ws is complete; the previous pass's gs has been read
      for (int x = threadIdx.x; x < nb * kTileCols; x += blockDim.x) {
        const int bb = x / kTileCols, c = x % kTileCols;
        gs[bb][c] = c < cols ? g[((b0 + bb) * layers + layer) * hidden + j0 + c] : 0.0f;
      }
      __syncthreads();
      if (ii < rows && slot * kSamplesPerThread < nb) {
        float acc[kSamplesPerThread] = {};
        for (int c = 0; c < cols; ++c) {
          const float w = ws[ii][c];
#pragma unroll
          for (int k = 0; k < kSamplesPerThread; ++k) acc[k] = fmaf(gs[slot * kSamplesPerThread + k][c], w, acc[k]);
        }
#pragma unroll
        for (int k = 0; k < kSamplesPerThread; ++k) {
          const long long b = b0 + slot * kSamplesPerThread + k;
          if (b < batch) {
            float* o = out + b * dim + i0 + ii;
            const float sum = t == t_begin ? acc[k] : *o + acc[k];
            *o = t + 1 == t_end ? sum * out_scale : sum;
          }
        }
      }
    }
  }
}

// out[e] = scale·Σ_s part[s·n + e], s in order.
__global__ void SumSplitsKernel(const float* part, long long splits, long long n, float scale, float* out) {
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < n; e += stride) {
    float sum = part[e];
    for (long long s = 1; s < splits; ++s) sum += part[s * n + e];
    out[e] = sum * scale;
  }
}

__global__ void UnnormalizeKernel(long long rows, long long hidden, const float* y, const float* gamma,
                                  const float* beta, const float* mean, const float* rstd, float* pre) {
  const long long n = rows * hidden;
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < n; e += stride) {
    const long long r = e / hidden, j = e - r * hidden;
    pre[e] = (y[e] - beta[j]) / gamma[j] / rstd[r] + mean[r];
  }
}

__global__ void AddKernel(long long n, const float* x, const float* y, float* out) {
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < n; e += stride) {
    out[e] = x[e] + y[e];
  }
}

// Tokens of sample b: [offsets[b], offsets[b+1]); a decreasing pair counts as empty.
__device__ __forceinline__ long long SampleLength(const int32_t* offsets, long long b) {
  const long long len = static_cast<long long>(offsets[b + 1]) - offsets[b];
  return len > 0 ? len : 0;
}

// Block (sample b, part y): sample b's rows of out (prompt row, then its tokens)
// are one contiguous run of (len + 1)·hidden floats, copied by the y parts in turn.
__global__ void PromptInsertKernel(const int32_t* offsets, long long hidden, const float* x, const float* prompt,
                                   float* out) {
  const long long b = blockIdx.x;
  const long long start = offsets[b];
  const long long run = (SampleLength(offsets, b) + 1) * hidden;
  const float* xs = x + start * hidden;
  float* os = out + (start + b) * hidden;
  const long long stride = static_cast<long long>(gridDim.y) * blockDim.x;
  for (long long idx = blockIdx.y * static_cast<long long>(blockDim.x) + threadIdx.x; idx < run; idx += stride) {
    os[idx] = idx < hidden ? prompt[idx] : xs[idx - hidden];
  }
}

// dx rows of sample b = dout rows of sample b after its prompt row.
__global__ void PromptExtractKernel(const int32_t* offsets, long long hidden, const float* dout, float* dx) {
  const long long b = blockIdx.x;
  const long long start = offsets[b];
  const long long run = SampleLength(offsets, b) * hidden;
  const float* ds = dout + (start + b + 1) * hidden;
  float* xs = dx + start * hidden;
  const long long stride = static_cast<long long>(gridDim.y) * blockDim.x;
  for (long long idx = blockIdx.y * static_cast<long long>(blockDim.x) + threadIdx.x; idx < run; idx += stride) {
    xs[idx] = ds[idx];
  }
}

// dprompt[j] = Σ_b rows[row(b)·hidden + j], b in order, where row(b) = offsets[b] + b·shift
// (shift 1: the prompt rows of an inserted batch; 0: the first token of each sample,
// skipping empty samples when skip_empty).
__global__ void PromptColumnSumKernel(const int32_t* offsets, long long batch, long long hidden, long long shift,
                                      bool skip_empty, const float* rows, float* dprompt) {
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long j = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; j < hidden; j += stride) {
    float sum = 0;
    for (long long b = 0; b < batch; ++b) {
      if (skip_empty && SampleLength(offsets, b) == 0) continue;
      sum += rows[(offsets[b] + b * shift) * hidden + j];
    }
    dprompt[j] = sum;
  }
}

// x[offsets[b], j] += prompt[j] for every non-empty sample b.
__global__ void PromptAddKernel(const int32_t* offsets, long long batch, long long hidden, float* x,
                                const float* prompt) {
  const long long n = batch * hidden;
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < n; e += stride) {
    const long long b = e / hidden, j = e - b * hidden;
    if (SampleLength(offsets, b) > 0) x[static_cast<long long>(offsets[b]) * hidden + j] += prompt[j];
  }
}

// Grid of the per-sample copies: one x block per sample, enough y parts that a
// small batch still fills the device (a function of batch only).
dim3 SampleGrid(long long batch) {
  long long parts = Ceil(kTargetBlocks, batch);
  if (parts > 64) parts = 64;
  return dim3(static_cast<unsigned>(batch), static_cast<unsigned>(parts));
}

Status CheckSizes(const char* op, int64_t a, int64_t b) {
  if (a < 0 || b < 0) {
    return Status::Range(std::string(op) + ": sizes must be non-negative, got " + std::to_string(a) + " and " +
                         std::to_string(b));
  }
  return Status::Ok();
}

Status CheckProjection(const char* op, const ProjectionParams& p) {
  if (p.layers < 0 || p.dim < 0 || p.hidden < 0) {
    return Status::Range(std::string(op) + ": layers, dim and hidden must be non-negative, got " +
                         std::to_string(p.layers) + ", " + std::to_string(p.dim) + ", " + std::to_string(p.hidden));
  }
  if (p.layers > (int64_t{1} << 32)) {
    return Status::Range(std::string(op) + ": layers must be at most 2^32 (the stream's sub word), got " +
                         std::to_string(p.layers));
  }
  if (p.dist != ProjectionDist::kNormal && p.dist != ProjectionDist::kRademacher) {
    return Status::Range(std::string(op) + ": unknown ProjectionDist " + std::to_string(static_cast<int>(p.dist)));
  }
  return Status::Ok();
}

}  // namespace

Status SlashProjectCuda(const ProjectionParams& p, const float* z, float* shifts, void* stream) {
  FRUGAL_RETURN_IF_ERROR(CheckProjection("SlashProjectCuda", p));
  if (p.layers == 0 || p.hidden == 0) return Status::Ok();
  const cudaStream_t s = AsStream(stream);
  const long long outputs = static_cast<long long>(p.layers) * p.hidden;
  if (p.dim == 0) {  // empty sums
    CUDA_CHECK(cudaMemsetAsync(shifts, 0, outputs * sizeof(float), s));
    return Status::Ok();
  }
  const long long tiles_j = Ceil(p.hidden, kTileCols);
  const long long column_blocks = p.layers * tiles_j;
  if (column_blocks > INT_MAX) {
    return Status::Range("SlashProjectCuda: layers·⌈hidden/60⌉ = " + std::to_string(column_blocks) +
                         " exceeds the grid limit");
  }
  // Row chunks: enough blocks to fill the device, each chunk a whole number of tiles.
  const long long row_tiles = Ceil(p.dim, kTileRows);
  long long splits = Ceil(kTargetBlocks, column_blocks);
  if (splits > row_tiles) splits = row_tiles;
  const long long chunk_tiles = Ceil(row_tiles, splits);
  splits = Ceil(row_tiles, chunk_tiles);
  float* out = shifts;
  if (splits > 1) CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&out), splits * outputs * sizeof(float), s));
  const dim3 grid(static_cast<unsigned>(column_blocks), static_cast<unsigned>(splits));
  const uint32_t k0 = static_cast<uint32_t>(p.seed), k1 = static_cast<uint32_t>(p.seed >> 32);
  const float scale = ProjectionScale(p.dim);
  const float out_scale = splits > 1 ? 1.0f : scale;  // split partials are scaled once, when added
  if (p.dist == ProjectionDist::kNormal) {
    ProjectKernel<true><<<grid, kThreads, 0, s>>>(k0, k1, p.layers, p.dim, p.hidden, tiles_j, chunk_tiles * kTileRows,
                                                  out_scale, z, out);
  } else {
    ProjectKernel<false><<<grid, kThreads, 0, s>>>(k0, k1, p.layers, p.dim, p.hidden, tiles_j,
                                                   chunk_tiles * kTileRows, out_scale, z, out);
  }
  cudaError_t launch = cudaGetLastError();
  if (splits > 1) {
    if (launch == cudaSuccess) {
      SumSplitsKernel<<<GridFor(outputs), kThreads, 0, s>>>(out, splits, outputs, scale, shifts);
      launch = cudaGetLastError();
    }
    CUDA_CHECK(cudaFreeAsync(out, s));
  }
  CUDA_CHECK(launch);
  return Status::Ok();
}

Status SlashProjectBackwardCuda(const ProjectionParams& p, int64_t batch, const float* g, float* dz, void* stream) {
  FRUGAL_RETURN_IF_ERROR(CheckProjection("SlashProjectBackwardCuda", p));
  if (batch < 0) return Status::Range("SlashProjectBackwardCuda: batch must be non-negative, got " + std::to_string(batch));
  if (batch == 0 || p.dim == 0) return Status::Ok();
  const cudaStream_t s = AsStream(stream);
  const long long outputs = static_cast<long long>(batch) * p.dim;
  if (p.layers == 0 || p.hidden == 0) {  // empty sums
    CUDA_CHECK(cudaMemsetAsync(dz, 0, outputs * sizeof(float), s));
    return Status::Ok();
  }
  const long long row_tiles = Ceil(p.dim, kTileRows);
  if (row_tiles > INT_MAX) {
    return Status::Range("SlashProjectBackwardCuda: ⌈dim/32⌉ = " + std::to_string(row_tiles) +
                         " exceeds the grid limit");
  }
  const long long tiles_j = Ceil(p.hidden, kTileCols);
  const long long tiles = p.layers * tiles_j;
  // Shares of the (layer, column tile) pairs: enough blocks to fill the device,
  // within the workspace bound.
  long long splits = Ceil(kTargetBlocks, row_tiles);
  if (splits > tiles) splits = tiles;
  const long long max_splits = kMaxWorkspaceFloats / outputs;
  if (splits > max_splits) splits = max_splits > 1 ? max_splits : 1;
  const long long per_split = Ceil(tiles, splits);
  splits = Ceil(tiles, per_split);
  float* out = dz;
  if (splits > 1) CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&out), splits * outputs * sizeof(float), s));
  const dim3 grid(static_cast<unsigned>(row_tiles), static_cast<unsigned>(splits));
  const uint32_t k0 = static_cast<uint32_t>(p.seed), k1 = static_cast<uint32_t>(p.seed >> 32);
  const float scale = ProjectionScale(p.dim);
  const float out_scale = splits > 1 ? 1.0f : scale;  // split partials are scaled once, when added
  if (p.dist == ProjectionDist::kNormal) {
    ProjectBackwardKernel<true><<<grid, kThreads, 0, s>>>(k0, k1, p.layers, p.dim, p.hidden, tiles_j, per_split, batch,
                                                          out_scale, g, out);
  } else {
    ProjectBackwardKernel<false><<<grid, kThreads, 0, s>>>(k0, k1, p.layers, p.dim, p.hidden, tiles_j, per_split,
                                                           batch, out_scale, g, out);
  }
  cudaError_t launch = cudaGetLastError();
  if (splits > 1) {
    if (launch == cudaSuccess) {
      SumSplitsKernel<<<GridFor(outputs), kThreads, 0, s>>>(out, splits, outputs, scale, dz);
      launch = cudaGetLastError();
    }
    CUDA_CHECK(cudaFreeAsync(out, s));
  }
  CUDA_CHECK(launch);
  return Status::Ok();
}

Status SlashUnnormalizeCuda(int64_t rows, int64_t hidden, const float* y, const float* gamma, const float* beta,
                            const float* mean, const float* rstd, float* pre, void* stream) {
  FRUGAL_RETURN_IF_ERROR(CheckSizes("SlashUnnormalizeCuda", rows, hidden));
  const long long n = static_cast<long long>(rows) * hidden;
  if (n == 0) return Status::Ok();
  UnnormalizeKernel<<<GridFor(n), kThreads, 0, AsStream(stream)>>>(rows, hidden, y, gamma, beta, mean, rstd, pre);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status SlashAddCuda(int64_t n, const float* x, const float* y, float* out, void* stream) {
  FRUGAL_RETURN_IF_ERROR(CheckSizes("SlashAddCuda", n, 0));
  if (n == 0) return Status::Ok();
  AddKernel<<<GridFor(n), kThreads, 0, AsStream(stream)>>>(n, x, y, out);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status SlashPromptInsertCuda(const int32_t* offsets, int64_t batch, int64_t hidden, const float* x,
                             const float* prompt, float* out, void* stream) {
  FRUGAL_RETURN_IF_ERROR(CheckSizes("SlashPromptInsertCuda", batch, hidden));
  if (batch == 0 || hidden == 0) return Status::Ok();
  if (batch > INT_MAX) return Status::Range("SlashPromptInsertCuda: batch exceeds the grid limit");
  PromptInsertKernel<<<SampleGrid(batch), kThreads, 0, AsStream(stream)>>>(offsets, hidden, x, prompt, out);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status SlashPromptExtractCuda(const int32_t* offsets, int64_t batch, int64_t hidden, const float* dout, float* dx,
                              float* dprompt, void* stream) {
  FRUGAL_RETURN_IF_ERROR(CheckSizes("SlashPromptExtractCuda", batch, hidden));
  if (hidden == 0) return Status::Ok();
  const cudaStream_t s = AsStream(stream);
  if (batch > INT_MAX) return Status::Range("SlashPromptExtractCuda: batch exceeds the grid limit");
  if (dx && batch > 0) {
    PromptExtractKernel<<<SampleGrid(batch), kThreads, 0, s>>>(offsets, hidden, dout, dx);
    CUDA_CHECK_LAUNCH();
  }
  if (dprompt) {  // batch 0 gives zeros
    PromptColumnSumKernel<<<GridFor(hidden), kThreads, 0, s>>>(offsets, batch, hidden, 1, false, dout, dprompt);
    CUDA_CHECK_LAUNCH();
  }
  return Status::Ok();
}

Status SlashPromptAddCuda(const int32_t* offsets, int64_t batch, int64_t hidden, float* x, const float* prompt,
                          void* stream) {
  FRUGAL_RETURN_IF_ERROR(CheckSizes("SlashPromptAddCuda", batch, hidden));
  const long long n = static_cast<long long>(batch) * hidden;
  if (n == 0) return Status::Ok();
  PromptAddKernel<<<GridFor(n), kThreads, 0, AsStream(stream)>>>(offsets, batch, hidden, x, prompt);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status SlashPromptSumCuda(const int32_t* offsets, int64_t batch, int64_t hidden, const float* x, float* dprompt,
                          void* stream) {
  FRUGAL_RETURN_IF_ERROR(CheckSizes("SlashPromptSumCuda", batch, hidden));
  if (hidden == 0) return Status::Ok();
  PromptColumnSumKernel<<<GridFor(hidden), kThreads, 0, AsStream(stream)>>>(offsets, batch, hidden, 0, true, x,
                                                                            dprompt);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

}  // namespace frugal
