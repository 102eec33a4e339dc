// CUDA launchers of MLP Fusion (see cuda/mlp_fusion.h): the gate, one thread per
// hidden unit; the GEMMs and sums go through the public entry points.
#include "check.cuh"
#include "cuda/mlp_fusion.h"
#include "gelu.cuh"

namespace frugal {
namespace {

constexpr int kThreads = 256;

__global__ void GateKernel(long long total, long long K, const float* pre, const float* dh, const float* counts, bool relu,
                           float* h, float* dpre) {
  const long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (e >= total) return;
  const float v = pre[e], n = counts ? counts[e % K] : 1.0f, g = dh[e];
  if (relu) {
    h[e] = v > 0.0f ? v * n : 0.0f;
    dpre[e] = v > 0.0f ? g * n : 0.0f;
  } else {
    h[e] = GeluExact(v) * n;
    dpre[e] = g * n * GeluExactGrad(v);
  }
}

}  // namespace

Status FfnGateBackwardCuda(int64_t tokens, int64_t K, const float* pre, const float* dh, const float* counts,
                           Activation act, float* h, float* dpre, void* stream) {
  const long long total = tokens * K;
  if (total == 0) return Status::Ok();
  GateKernel<<<GridBlocks(total, kThreads), kThreads, 0, AsStream(stream)>>>(total, K, pre, dh, counts,
                                                                            act == Activation::kRelu, h, dpre);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

}  // namespace frugal
