// CUDA launchers of the primitives that families share (see primitives.h).
#include "check.cuh"
#include "cuda/primitives.h"

namespace frugal {
namespace {

constexpr int kThreads = 256;

// Thread per (sample, column): Σ over the sample's T rows, in order.
__global__ void SumTokensKernel(const float* g, long long T, long long dout, float* out) {
  const long long d = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  const long long i = blockIdx.y;
  if (d >= dout) return;
  const float* gi = g + i * T * dout + d;
  float sum = 0;
  for (long long t = 0; t < T; ++t) sum += gi[t * dout];
  out[i * dout + d] = sum;
}

}  // namespace

Status SumTokensCuda(const float* g, int64_t B, int64_t T, int64_t dout, float* out, void* stream) {
  if (B == 0 || dout == 0) return Status::Ok();
  const dim3 grid(GridBlocks(dout, kThreads), static_cast<unsigned>(B));
  SumTokensKernel<<<grid, kThreads, 0, AsStream(stream)>>>(g, T, dout, out);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

}  // namespace frugal
