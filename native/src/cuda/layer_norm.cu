// CUDA launchers of LayerNorm. One block per row for the forward and for dx
// (two-pass statistics, like the reference). dgamma/dbeta are reduced without
// float atomics: each block sums a fixed chunk of rows for 32 columns, then one
// thread per column adds the chunk partials in chunk order, so results are
// deterministic and depend on the shape only.
#include <cstdint>

#include "check.cuh"
#include "cuda/layer_norm.h"
#include "reduce.cuh"

namespace frugal {
namespace {

// Threads per row block: a function of the row length alone (determinism).
int RowThreads(int64_t cols) { return cols <= 512 ? 64 : (cols <= 2048 ? 128 : 256); }

__global__ void LayerNormForwardKernel(const float* x, const float* gamma, const float* beta, float eps,
                                       long long cols, float* y, float* mean_out, float* rstd_out) {
  __shared__ float scratch[32];
  const long long row = blockIdx.x;
  const float* xr = x + row * cols;
  float* yr = y + row * cols;
  float sum = 0;
  for (long long j = threadIdx.x; j < cols; j += blockDim.x) sum += xr[j];
  const float mean = BlockSum(sum, scratch) / static_cast<float>(cols);
  float ss = 0;
  for (long long j = threadIdx.x; j < cols; j += blockDim.x) {
    const float d = xr[j] - mean;
    ss = fmaf(d, d, ss);
  }
  const float rstd = 1.0f / sqrtf(BlockSum(ss, scratch) / static_cast<float>(cols) + eps);
  for (long long j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = fmaf(gamma[j], (xr[j] - mean) * rstd, beta[j]);
  if (threadIdx.x == 0) {
    if (mean_out) mean_out[row] = mean;
    if (rstd_out) rstd_out[row] = rstd;
  }
}

// dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = gamma ⊙ dy.
__global__ void LayerNormDxKernel(const float* dy, const float* x, const float* gamma, const float* mean,
                                  const float* rstd, long long cols, float* dx) {
  __shared__ float scratch[32];
  const long long row = blockIdx.x;
  const long long o = row * cols;
  const float mu = mean[row], rs = rstd[row];
  float sum_g = 0, sum_gx = 0;
  for (long long j = threadIdx.x; j < cols; j += blockDim.x) {
    const float g = gamma[j] * dy[o + j];
    sum_g += g;
    sum_gx = fmaf(g, (x[o + j] - mu) * rs, sum_gx);
  }
  const float mean_g = BlockSum(sum_g, scratch) / static_cast<float>(cols);
  const float mean_gx = BlockSum(sum_gx, scratch) / static_cast<float>(cols);
  for (long long j = threadIdx.x; j < cols; j += blockDim.x) {
    const float xhat = (x[o + j] - mu) * rs;
    dx[o + j] = rs * (gamma[j] * dy[o + j] - mean_g - xhat * mean_gx);
  }
}

constexpr int kColTile = 32, kRowLanes = 8;
// At most this many chunk partials per column: bounds the workspace.
constexpr long long kMaxChunks = 256;
constexpr long long kMinChunkRows = 64;

// Block (kColTile, kRowLanes) sums chunk blockIdx.y of the rows for 32 columns:
// partial[chunk][c] of dy·x̂ (dgamma) and of dy (dbeta).
__global__ void LayerNormParamPartialsKernel(const float* dy, const float* x, const float* mean, const float* rstd,
                                             long long rows, long long cols, long long chunk_rows,
                                             float* part_gamma, float* part_beta) {
  __shared__ float sg[kRowLanes][kColTile], sb[kRowLanes][kColTile];
  const long long c = blockIdx.x * static_cast<long long>(kColTile) + threadIdx.x;
  const long long r0 = blockIdx.y * chunk_rows;
  const long long r1 = r0 + chunk_rows < rows ? r0 + chunk_rows : rows;
  float g = 0, b = 0;
  if (c < cols) {
    for (long long r = r0 + threadIdx.y; r < r1; r += kRowLanes) {
      const float d = dy[r * cols + c];
      g = fmaf(d, (x[r * cols + c] - mean[r]) * rstd[r], g);
      b += d;
    }
  }
  sg[threadIdx.y][threadIdx.x] = g;
  sb[threadIdx.y][threadIdx.x] = b;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    for (int l = 1; l < kRowLanes; ++l) {
      g += sg[l][threadIdx.x];
      b += sb[l][threadIdx.x];
    }
    part_gamma[blockIdx.y * cols + c] = g;
    part_beta[blockIdx.y * cols + c] = b;
  }
}

__global__ void LayerNormParamSumKernel(const float* part_gamma, const float* part_beta, long long chunks,
                                        long long cols, float* dgamma, float* dbeta) {
  const long long c = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (c >= cols) return;
  float g = 0, b = 0;
  for (long long k = 0; k < chunks; ++k) {
    g += part_gamma[k * cols + c];
    b += part_beta[k * cols + c];
  }
  dgamma[c] = g;
  dbeta[c] = b;
}

Status ParamGrads(const LayerNormBackwardParams& p, cudaStream_t stream) {
  long long chunk_rows = (p.rows + kMaxChunks - 1) / kMaxChunks;
  if (chunk_rows < kMinChunkRows) chunk_rows = kMinChunkRows;
  const long long chunks = (p.rows + chunk_rows - 1) / chunk_rows;
  if (p.rows == 0) {  // no rows: the sums are zero
    CUDA_CHECK(cudaMemsetAsync(p.dgamma, 0, p.cols * sizeof(float), stream));
    CUDA_CHECK(cudaMemsetAsync(p.dbeta, 0, p.cols * sizeof(float), stream));
    return Status::Ok();
  }
  // Stream-ordered workspace: no device-wide synchronisation, pooled by the driver.
  float* part = nullptr;
  CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&part), 2 * chunks * p.cols * sizeof(float), stream));
  const dim3 grid(GridBlocks(p.cols, kColTile), static_cast<unsigned>(chunks));
  LayerNormParamPartialsKernel<<<grid, dim3(kColTile, kRowLanes), 0, stream>>>(
      p.dy, p.x, p.mean, p.rstd, p.rows, p.cols, chunk_rows, part, part + chunks * p.cols);
  const cudaError_t launch = cudaGetLastError();
  if (launch == cudaSuccess) {
    LayerNormParamSumKernel<<<GridBlocks(p.cols, 256), 256, 0, stream>>>(part, part + chunks * p.cols, chunks, p.cols,
                                                                       p.dgamma, p.dbeta);
  }
  CUDA_CHECK(cudaFreeAsync(part, stream));
  CUDA_CHECK(launch);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

}  // namespace

Status LayerNormCuda(const LayerNormParams& p, void* stream) {
  if (p.rows == 0) return Status::Ok();
  LayerNormForwardKernel<<<static_cast<unsigned>(p.rows), RowThreads(p.cols), 0, AsStream(stream)>>>(
      p.x, p.gamma, p.beta, p.eps, p.cols, p.y, p.mean, p.rstd);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status LayerNormBackwardCuda(const LayerNormBackwardParams& p, void* stream) {
  // dgamma/dbeta first: they read dy, which dx may overwrite (dx = dy is allowed).
  if (p.dgamma && p.cols > 0) FRUGAL_RETURN_IF_ERROR(ParamGrads(p, AsStream(stream)));
  if (p.rows > 0) {
    LayerNormDxKernel<<<static_cast<unsigned>(p.rows), RowThreads(p.cols), 0, AsStream(stream)>>>(
        p.dy, p.x, p.gamma, p.mean, p.rstd, p.cols, p.dx);
    CUDA_CHECK_LAUNCH();
  }
  return Status::Ok();
}

}  // namespace frugal
