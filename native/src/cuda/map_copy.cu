// CopyMap on CUDA: a copy is one 2-D memcpy (a row per batch, the rows
// batch-stride apart); an add is a grid-stride kernel over (batch, element).
#include "check.cuh"
#include "cuda/map_copy.h"

namespace frugal {
namespace {

constexpr int kThreads = 256;

__global__ void AddMapKernel(long long batch, long long per_batch, long long in_stride, const float* in,
                             long long out_stride, float* out) {
  const long long n = batch * per_batch;
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long b = i / per_batch, j = i % per_batch;
    out[b * out_stride + j] += in[b * in_stride + j];
  }
}

}  // namespace

Status CopyMapCuda(const MapShape& s, int64_t in_stride, const float* in, int64_t out_stride, float* out, bool add,
                   void* stream) {
  const long long per_batch = s.C * s.H * s.W;
  if (!add) {
    CUDA_CHECK(cudaMemcpy2DAsync(out, out_stride * sizeof(float), in, in_stride * sizeof(float),
                                 per_batch * sizeof(float), s.B, cudaMemcpyDeviceToDevice, AsStream(stream)));
    return Status::Ok();
  }
  const long long blocks = CeilDiv(s.B * per_batch, static_cast<long long>(kThreads));
  AddMapKernel<<<static_cast<unsigned>(blocks < 65536 ? blocks : 65536), kThreads, 0, AsStream(stream)>>>(
      s.B, per_batch, in_stride, in, out_stride, out);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

}  // namespace frugal
