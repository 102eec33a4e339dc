// Naive baseline kernels of the CUDA benchmark (see cuda_bench_baseline.h).
#include "cuda_bench_baseline.h"

namespace frugal {
namespace bench {
namespace {

// x runs along N so a warp reads consecutive B elements and one broadcast A element.
__global__ void NaiveGemmKernel(long long M, long long N, long long K, const float* A, const float* B, float* C) {
  const long long n = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  const long long m = blockIdx.y * static_cast<long long>(blockDim.y) + threadIdx.y;
  if (m >= M || n >= N) return;
  float sum = 0.0f;
  for (long long k = 0; k < K; ++k) sum = fmaf(A[m * K + k], B[k * N + n], sum);
  C[m * N + n] = sum;
}

}  // namespace

cudaError_t NaiveGemm(int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C,
                      cudaStream_t stream) {
  const dim3 block(32, 8);
  const dim3 grid(static_cast<unsigned>((N + 31) / 32), static_cast<unsigned>((M + 7) / 8));
  NaiveGemmKernel<<<grid, block, 0, stream>>>(M, N, K, A, B, C);
  return cudaGetLastError();
}

}  // namespace bench
}  // namespace frugal
