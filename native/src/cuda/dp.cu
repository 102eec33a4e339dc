// CUDA launchers of the dp family: the small loops around the GEMMs (dp.cc runs the
// GEMMs through Gemm with a CUDA context). Row reductions accumulate in double with
// a fixed tree, so results do not depend on scheduling.
#include <cmath>

#include "check.cuh"
#include "cuda/primitives.h"
#include "cuda/dp.h"

namespace frugal {
namespace {

constexpr int kThreads = 256;

// One block per row: out[row] = Σ_j x[row·n + j]·y[row·n + j].
__global__ void RowDotsKernel(const float* x, const float* y, long long n, float* out) {
  __shared__ double partial[kThreads];
  const long long row = blockIdx.x;
  const float* xr = x + row * n;
  const float* yr = y + row * n;
  double sum = 0;
  for (long long j = threadIdx.x; j < n; j += kThreads) sum += static_cast<double>(xr[j] * yr[j]);
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[row] = static_cast<float>(partial[0]);
}

__global__ void ScaleSamplesKernel(const float* src, const float* factors, long long per, long long total, float* dst) {
  const long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (e < total) dst[e] = factors[e / per] * src[e];
}

__device__ float Factor(float norm, float C, int rule) {
  return rule == static_cast<int>(ClipRule::kAutomatic) ? C / (norm + 0.01f) : fminf(1.0f, C / (norm + 1e-6f));
}

__global__ void ClipFactorsKernel(const float* x, long long B, float C, int rule, bool squares, float* factors) {
  const long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i < B) factors[i] = Factor(squares ? sqrtf(x[i]) : x[i], C, rule);
}

__global__ void AddScaledKernel(float* t, const float* z, long long n, float std, bool secure) {
  const long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (e >= n) return;
  const float draw = secure ? 0.5f * ((z[4 * e] + z[4 * e + 1]) + (z[4 * e + 2] + z[4 * e + 3])) : z[e];
  t[e] = fmaf(std, draw, t[e]);
}

}  // namespace

Status DpRowDotsCuda(const float* x, const float* y, int64_t rows, int64_t n, float* out, void* stream) {
  if (rows == 0) return Status::Ok();
  RowDotsKernel<<<static_cast<unsigned>(rows), kThreads, 0, AsStream(stream)>>>(x, y, n, out);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status DpScaleSamplesCuda(const float* src, const float* factors, int64_t B, int64_t T, int64_t d, float* dst,
                          void* stream) {
  const long long total = static_cast<long long>(B) * T * d;
  if (total == 0) return Status::Ok();
  ScaleSamplesKernel<<<GridBlocks(total, kThreads), kThreads, 0, AsStream(stream)>>>(src, factors, T * d, total, dst);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status DpClipFactorsCuda(const float* norms, int64_t B, float C, ClipRule rule, float* factors, void* stream) {
  if (B == 0) return Status::Ok();
  ClipFactorsKernel<<<GridBlocks(B, kThreads), kThreads, 0, AsStream(stream)>>>(norms, B, C, static_cast<int>(rule),
                                                                             false, factors);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status DpClipFactorsFromSquaresCuda(const float* sq, int64_t B, float C, ClipRule rule, float* factors, void* stream) {
  if (B == 0) return Status::Ok();
  ClipFactorsKernel<<<GridBlocks(B, kThreads), kThreads, 0, AsStream(stream)>>>(sq, B, C, static_cast<int>(rule), true,
                                                                             factors);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status DpAddScaledCuda(float* t, const float* noise, int64_t n, float std, bool secure, void* stream) {
  if (n == 0) return Status::Ok();
  AddScaledKernel<<<GridBlocks(n, kThreads), kThreads, 0, AsStream(stream)>>>(t, noise, n, std, secure);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

}  // namespace frugal
