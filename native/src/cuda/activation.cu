// CUDA launchers of the activation family: exact-erf GELU and the logistic
// sigmoid (forward and backward) and row softmax (max-subtracted, exact expf).
// GELU and sigmoid may run in place; softmax
// reads each element before it writes it, so y may alias x too.
#include <cmath>
#include <cstdint>

#include "check.cuh"
#include "cuda/activation.h"
#include "gelu.cuh"
#include "reduce.cuh"

namespace frugal {
namespace {

constexpr int kThreads = 256;
// Grid-stride kernels need no more blocks than this to fill any current GPU.
constexpr long long kMaxBlocks = 65536;

bool Aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

unsigned ElementwiseBlocks(long long work) {
  const long long blocks = (work + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < kMaxBlocks ? (blocks > 0 ? blocks : 1) : kMaxBlocks);
}

// `vec` = number of leading float4 groups processed with 16-byte accesses
// (0 when a pointer is unaligned); the rest goes element by element.
__global__ void GeluKernel(const float* x, float* y, long long n, long long vec) {
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  const long long start = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  for (long long i = start; i < vec; i += stride) {
    float4 v = reinterpret_cast<const float4*>(x)[i];
    v.x = GeluExact(v.x);
    v.y = GeluExact(v.y);
    v.z = GeluExact(v.z);
    v.w = GeluExact(v.w);
    reinterpret_cast<float4*>(y)[i] = v;
  }
  for (long long i = 4 * vec + start; i < n; i += stride) y[i] = GeluExact(x[i]);
}

__global__ void GeluBackwardKernel(const float* x, const float* dy, float* dx, long long n, long long vec) {
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  const long long start = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  for (long long i = start; i < vec; i += stride) {
    const float4 v = reinterpret_cast<const float4*>(x)[i];
    float4 g = reinterpret_cast<const float4*>(dy)[i];
    g.x *= GeluExactGrad(v.x);
    g.y *= GeluExactGrad(v.y);
    g.z *= GeluExactGrad(v.z);
    g.w *= GeluExactGrad(v.w);
    reinterpret_cast<float4*>(dx)[i] = g;
  }
  for (long long i = 4 * vec + start; i < n; i += stride) dx[i] = dy[i] * GeluExactGrad(x[i]);
}

// 1/(1 + e^−x) with expf: e^−x overflows to inf below x ≈ −88.7 (y = 0), is 0
// at x = +inf (y = 1); NaN stays NaN; the denominator is never 0.
__device__ __forceinline__ float Logistic(float x) { return 1.0f / (1.0f + expf(-x)); }

// y·(1 − y) rounded once, as on the CPU.
__device__ __forceinline__ float LogisticGrad(float y) { return fmaf(-y, y, y); }

__global__ void SigmoidKernel(const float* x, float* y, long long n, long long vec) {
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  const long long start = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  for (long long i = start; i < vec; i += stride) {
    float4 v = reinterpret_cast<const float4*>(x)[i];
    v.x = Logistic(v.x);
    v.y = Logistic(v.y);
    v.z = Logistic(v.z);
    v.w = Logistic(v.w);
    reinterpret_cast<float4*>(y)[i] = v;
  }
  for (long long i = 4 * vec + start; i < n; i += stride) y[i] = Logistic(x[i]);
}

__global__ void SigmoidBackwardKernel(const float* y, const float* dy, float* dx, long long n, long long vec) {
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  const long long start = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  for (long long i = start; i < vec; i += stride) {
    const float4 v = reinterpret_cast<const float4*>(y)[i];
    float4 g = reinterpret_cast<const float4*>(dy)[i];
    g.x *= LogisticGrad(v.x);
    g.y *= LogisticGrad(v.y);
    g.z *= LogisticGrad(v.z);
    g.w *= LogisticGrad(v.w);
    reinterpret_cast<float4*>(dx)[i] = g;
  }
  for (long long i = 4 * vec + start; i < n; i += stride) dx[i] = dy[i] * LogisticGrad(y[i]);
}

// Softmax runs one pass of "online" (max, sum of exp(x − max)) statistics per
// thread, merges them in a fixed order, then one pass that writes: two reads
// and one write per element.
struct MaxSum {
  float max, sum;
};

// sum·exp(from − to), where a partial whose max is −inf (nothing but −inf seen)
// contributes sum·0 instead of the NaN of exp(−inf − (−inf)); a NaN sum stays NaN.
__device__ __forceinline__ float Rescale(float sum, float from, float to) {
  return sum * (from == -INFINITY ? 0.0f : expf(from - to));
}

__device__ __forceinline__ MaxSum Merge(MaxSum a, MaxSum b) {
  const float m = fmaxf(a.max, b.max);
  return {m, Rescale(a.sum, a.max, m) + Rescale(b.sum, b.max, m)};
}

__device__ __forceinline__ MaxSum RowPartial(const float* xr, long long cols, int first, int step) {
  MaxSum s{-INFINITY, 0.0f};
  for (long long j = first; j < cols; j += step) {
    const float v = xr[j];
    if (v > s.max) {
      s.sum = Rescale(s.sum, s.max, v) + 1.0f;
      s.max = v;
    } else {
      s.sum += Rescale(1.0f, v, s.max);  // NaN input propagates through expf
    }
  }
  return s;
}

// Butterfly merge: Merge is commutative bit for bit, so every lane ends with the same value.
__device__ __forceinline__ MaxSum WarpMerge(MaxSum s) {
  for (int o = 16; o > 0; o >>= 1) {
    const MaxSum other{__shfl_xor_sync(0xffffffffu, s.max, o), __shfl_xor_sync(0xffffffffu, s.sum, o)};
    s = Merge(s, other);
  }
  return s;
}

__device__ __forceinline__ void WriteRow(const float* xr, float* yr, long long cols, int first, int step, MaxSum s) {
  for (long long j = first; j < cols; j += step) yr[j] = expf(xr[j] - s.max) / s.sum;
}

// Short rows: one warp per row, kThreads / 32 rows per block.
__global__ void SoftmaxWarpKernel(const float* x, float* y, long long rows, long long cols) {
  const long long row = blockIdx.x * static_cast<long long>(kThreads / 32) + (threadIdx.x >> 5);
  if (row >= rows) return;  // whole warps leave together
  const int lane = threadIdx.x & 31;
  const MaxSum s = WarpMerge(RowPartial(x + row * cols, cols, lane, 32));
  WriteRow(x + row * cols, y + row * cols, cols, lane, 32, s);
}

// Long rows: one block per row; warp partials merged in warp order.
__global__ void SoftmaxBlockKernel(const float* x, float* y, long long cols) {
  __shared__ MaxSum partial[kThreads / 32];
  const long long row = blockIdx.x;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  MaxSum s = WarpMerge(RowPartial(x + row * cols, cols, threadIdx.x, kThreads));
  if (lane == 0) partial[warp] = s;
  __syncthreads();
  s = partial[0];
  for (int w = 1; w < kThreads / 32; ++w) s = Merge(s, partial[w]);
  WriteRow(x + row * cols, y + row * cols, cols, threadIdx.x, kThreads, s);
}

// Rows up to this long go one per warp (at most 32 elements per lane).
constexpr long long kWarpRowMax = 1024;

}  // namespace

Status GeluCuda(int64_t n, const float* x, float* y, void* stream) {
  if (n == 0) return Status::Ok();
  const long long vec = Aligned16(x) && Aligned16(y) ? n / 4 : 0;
  GeluKernel<<<ElementwiseBlocks(vec > 0 ? vec : n), kThreads, 0, AsStream(stream)>>>(x, y, n, vec);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status GeluBackwardCuda(int64_t n, const float* x, const float* dy, float* dx, void* stream) {
  if (n == 0) return Status::Ok();
  const long long vec = Aligned16(x) && Aligned16(dy) && Aligned16(dx) ? n / 4 : 0;
  GeluBackwardKernel<<<ElementwiseBlocks(vec > 0 ? vec : n), kThreads, 0, AsStream(stream)>>>(x, dy, dx, n, vec);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status SigmoidCuda(int64_t n, const float* x, float* y, void* stream) {
  if (n == 0) return Status::Ok();
  const long long vec = Aligned16(x) && Aligned16(y) ? n / 4 : 0;
  SigmoidKernel<<<ElementwiseBlocks(vec > 0 ? vec : n), kThreads, 0, AsStream(stream)>>>(x, y, n, vec);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status SigmoidBackwardCuda(int64_t n, const float* y, const float* dy, float* dx, void* stream) {
  if (n == 0) return Status::Ok();
  const long long vec = Aligned16(y) && Aligned16(dy) && Aligned16(dx) ? n / 4 : 0;
  SigmoidBackwardKernel<<<ElementwiseBlocks(vec > 0 ? vec : n), kThreads, 0, AsStream(stream)>>>(y, dy, dx, n, vec);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status SoftmaxCuda(int64_t rows, int64_t cols, const float* x, float* y, void* stream) {
  if (rows == 0 || cols == 0) return Status::Ok();
  if (cols <= kWarpRowMax) {
    SoftmaxWarpKernel<<<GridBlocks(rows, kThreads / 32), kThreads, 0, AsStream(stream)>>>(x, y, rows, cols);
  } else {
    SoftmaxBlockKernel<<<static_cast<unsigned>(rows), kThreads, 0, AsStream(stream)>>>(x, y, cols);
  }
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

}  // namespace frugal
