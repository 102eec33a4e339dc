// CUDA launchers of k-means (see cuda/kmeans.h). The assignment runs the
// distance GEMM block by block (through the public Gemm entry point on the
// same stream), then one thread block per row finds the nearest centroid and
// its exact squared distance. The update sums each cluster's points in the
// order the host sorted them, in double, one thread per (cluster, column):
// the same means as the CPU path, bit for bit.
#include <algorithm>
#include <vector>

#include "check.cuh"
#include "core/front_end.h"
#include "cuda/kmeans.h"
#include "frugal/gemm.h"
#include "reduce.cuh"

namespace frugal {
namespace {

constexpr int kThreads = 256;

// Σ_k (a[k] − b[k])² over one block: fp32 differences and squares, double sums.
__device__ double BlockSquaredDistance(const float* a, const float* b, long long n, double* scratch) {
  double s = 0;
  for (long long k = threadIdx.x; k < n; k += blockDim.x) {
    const float d = a[k] - b[k];
    s += static_cast<double>(d * d);
  }
  return BlockSum(s, scratch);
}

// Block per centroid: norms[j] = ‖c_j‖².
__global__ void NormsKernel(const float* c, long long dim, float* norms) {
  __shared__ double scratch[32];
  const float* row = c + blockIdx.x * dim;
  double s = 0;
  for (long long k = threadIdx.x; k < dim; k += blockDim.x) s += static_cast<double>(row[k] * row[k]);
  s = BlockSum(s, scratch);
  if (threadIdx.x == 0) norms[blockIdx.x] = static_cast<float>(s);
}

// Block per row of the block from r0: the smallest max(0, ‖x‖² + g_j), ties to
// the lowest j, then the exact distance to that centroid.
__global__ void NearestKernel(const float* g, long long K, const float* X, long long dim, const float* centroids,
                              long long r0, int* nearest, double* dist) {
  __shared__ double scratch[32];
  __shared__ float best_d[kThreads];
  __shared__ int best_j[kThreads];
  const long long i = r0 + blockIdx.x;
  const float* x = X + i * dim;
  double s = 0;
  for (long long k = threadIdx.x; k < dim; k += blockDim.x) s += static_cast<double>(x[k] * x[k]);
  const float xnorm = static_cast<float>(BlockSum(s, scratch));
  const float* row = g + blockIdx.x * K;
  float bd = INFINITY;
  int bj = 0x7fffffff;
  for (long long j = threadIdx.x; j < K; j += blockDim.x) {
    const float d = fmaxf(0.0f, xnorm + row[j]);
    if (d < bd) bd = d, bj = static_cast<int>(j);
  }
  best_d[threadIdx.x] = bd;
  best_j[threadIdx.x] = bj;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half >>= 1) {
    if (threadIdx.x < half) {
      const float od = best_d[threadIdx.x + half];
      const int oj = best_j[threadIdx.x + half];
      if (od < best_d[threadIdx.x] || (od == best_d[threadIdx.x] && oj < best_j[threadIdx.x])) {
        best_d[threadIdx.x] = od;
        best_j[threadIdx.x] = oj;
      }
    }
    __syncthreads();
  }
  const int j = best_j[0];
  const double d = BlockSquaredDistance(x, centroids + j * dim, dim, scratch);
  if (threadIdx.x == 0) {
    nearest[i] = j;
    dist[i] = d;
  }
}

// Thread per (cluster, column): the mean of the cluster's points in `order`.
__global__ void MeansKernel(const float* X, long long dim, const int* order, const long long* start, float* centroids) {
  const long long d = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  const long long j = blockIdx.y;
  if (d >= dim) return;
  double acc = 0;
  for (long long m = start[j]; m < start[j + 1]; ++m) acc += static_cast<double>(X[order[m] * dim + d]);
  centroids[j * dim + d] = static_cast<float>(acc / static_cast<double>(start[j + 1] - start[j]));
}

// Block per cluster: shift[j] = ‖centroid_j − previous_j‖².
__global__ void ShiftKernel(const float* centroids, const float* previous, long long dim, double* shift) {
  __shared__ double scratch[32];
  const double s = BlockSquaredDistance(centroids + blockIdx.x * dim, previous + blockIdx.x * dim, dim, scratch);
  if (threadIdx.x == 0) shift[blockIdx.x] = s;
}

}  // namespace

Status KMeansNearestCuda(const Context& ctx, const KMeansAssignParams& p, int32_t* nearest, double* dist) {
  const cudaStream_t s = AsStream(ctx.stream);
  const int64_t block = AssignBlockRows(p.n, p.K);
  DeviceBuffer cnorm, g, labels, dists;
  FRUGAL_RETURN_IF_ERROR(cnorm.AllocateFloats(p.K));
  FRUGAL_RETURN_IF_ERROR(g.AllocateFloats(block * p.K));
  FRUGAL_RETURN_IF_ERROR(labels.Allocate(p.n * static_cast<int64_t>(sizeof(int))));
  FRUGAL_RETURN_IF_ERROR(dists.Allocate(p.n * static_cast<int64_t>(sizeof(double))));
  NormsKernel<<<static_cast<unsigned>(p.K), kThreads, 0, s>>>(p.centroids, p.dim, cnorm.get());
  CUDA_CHECK_LAUNCH();
  for (int64_t r0 = 0; r0 < p.n; r0 += block) {
    const int64_t rows = std::min(block, p.n - r0);
    FRUGAL_RETURN_IF_ERROR(Gemm(ctx, DistanceGemm(p, r0, rows, cnorm.get(), g.get())));
    NearestKernel<<<static_cast<unsigned>(rows), kThreads, 0, s>>>(g.get(), p.K, p.X, p.dim, p.centroids, r0,
                                                                  static_cast<int*>(labels.raw()),
                                                                  static_cast<double*>(dists.raw()));
    CUDA_CHECK_LAUNCH();
  }
  CUDA_CHECK(cudaMemcpyAsync(nearest, labels.raw(), p.n * sizeof(int32_t), cudaMemcpyDeviceToHost, s));
  CUDA_CHECK(cudaMemcpyAsync(dist, dists.raw(), p.n * sizeof(double), cudaMemcpyDeviceToHost, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
  return Status::Ok();
}

Status KMeansMeansCuda(const Context& ctx, const KMeansUpdateParams& p, const ClusterMembers& members, double* shift) {
  const cudaStream_t s = AsStream(ctx.stream);
  DeviceBuffer order, start, shifts;
  FRUGAL_RETURN_IF_ERROR(order.Allocate(p.n * static_cast<int64_t>(sizeof(int32_t))));
  FRUGAL_RETURN_IF_ERROR(start.Allocate((p.K + 1) * static_cast<int64_t>(sizeof(int64_t))));
  FRUGAL_RETURN_IF_ERROR(shifts.Allocate(p.K * static_cast<int64_t>(sizeof(double))));
  CUDA_CHECK(cudaMemcpyAsync(order.raw(), members.order.data(), p.n * sizeof(int32_t), cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaMemcpyAsync(start.raw(), members.start.data(), (p.K + 1) * sizeof(int64_t), cudaMemcpyHostToDevice, s));
  const dim3 grid(GridBlocks(p.dim, kThreads), static_cast<unsigned>(p.K));
  MeansKernel<<<grid, kThreads, 0, s>>>(p.X, p.dim, static_cast<const int*>(order.raw()),
                                        static_cast<const long long*>(start.raw()), p.centroids);
  CUDA_CHECK_LAUNCH();
  ShiftKernel<<<static_cast<unsigned>(p.K), kThreads, 0, s>>>(p.centroids, p.previous, p.dim, static_cast<double*>(shifts.raw()));
  CUDA_CHECK_LAUNCH();
  CUDA_CHECK(cudaMemcpyAsync(shift, shifts.raw(), p.K * sizeof(double), cudaMemcpyDeviceToHost, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
  return Status::Ok();
}

Status KMeansRowsToHostCuda(const float* X, int64_t dim, const int32_t* idx, int64_t count, float* out, void* stream) {
  const cudaStream_t s = AsStream(stream);
  for (int64_t i = 0; i < count; ++i) {
    CUDA_CHECK(cudaMemcpyAsync(out + i * dim, X + int64_t{idx[i]} * dim, dim * sizeof(float), cudaMemcpyDeviceToHost, s));
  }
  CUDA_CHECK(cudaStreamSynchronize(s));
  return Status::Ok();
}

}  // namespace frugal
