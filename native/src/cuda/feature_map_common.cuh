// Shared pieces of the feature-map launchers (feature_map*.cu): view strides,
// stream-ordered workspace and the two deterministic reduction stages every
// parameter gradient goes through. A sum over many (batch, pixel) terms is cut
// into slots whose bounds depend on the shape only (a plane, a chunk of pixels);
// each slot is reduced by one block in a fixed tree (BlockSum), then one thread
// per output adds the slot partials in slot order. No float atomics anywhere, so
// a result depends on the shape alone.
#pragma once
#include <cstdint>

#include "check.cuh"
#include "reduce.cuh"
#include "stream_buffer.cuh"

namespace frugal {
namespace fm {
// Internal linkage: every feature_map*.cu gets its own copy of the kernels.
namespace {

constexpr int kThreads = 256;

// A view's batch stride: 0 means dense (`dense` = C·H·W of that view).
inline long long Stride(int64_t batch_stride, long long dense) { return batch_stride ? batch_stride : dense; }

// Threads of a block that reduces one slot of `n` terms: a function of the shape
// only (determinism), fewer for short slots so small maps do not idle threads.
inline int SlotThreads(long long n) { return n <= 2048 ? 128 : 512; }


// out1[e] (e < n1) and out2[e − n1] (n1 ≤ e < n1 + n2) = Σ_s part[s·(n1+n2) + e],
// s = 0, 1, … in order. A null output is skipped.
__global__ void SumSlotsKernel(const float* part, long long slots, long long n1, long long n2, float* out1,
                               float* out2) {
  const long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  const long long n = n1 + n2;
  if (e >= n) return;
  float* out = e < n1 ? out1 : out2;
  if (!out) return;
  float s = 0;
  for (long long k = 0; k < slots; ++k) s += part[k * n + e];
  out[e < n1 ? e : e - n1] = s;
}

inline Status SumSlots(const float* part, long long slots, long long n1, long long n2, float* out1, float* out2,
                       cudaStream_t stream) {
  if (!out1 && !out2) return Status::Ok();
  SumSlotsKernel<<<GridBlocks(n1 + n2, kThreads), kThreads, 0, stream>>>(part, slots, n1, n2, out1, out2);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

// Two sums over each plane (blockIdx.x = b·C + c, `hw` terms): f(b, c, pixel)
// returns the pair of terms. The block totals land in slot b of `part` as
// SumSlots reads it: part[b·2C + c] (first terms) and part[b·2C + C + c] (second).
template <class F>
__global__ void PlaneSumsKernel(F f, long long channels, long long hw, float* part) {
  __shared__ float scratch[32];
  const long long plane = blockIdx.x, b = plane / channels, c = plane % channels;
  float a1 = 0, a2 = 0;
  for (long long i = threadIdx.x; i < hw; i += blockDim.x) {
    const float2 t = f(b, c, i);
    a1 += t.x;
    a2 += t.y;
  }
  a1 = BlockSum(a1, scratch);
  a2 = BlockSum(a2, scratch);
  if (threadIdx.x == 0) {
    part[b * 2 * channels + c] = a1;
    part[b * 2 * channels + channels + c] = a2;
  }
}

template <class F>
Status PlaneSums(const F& f, long long batch, long long channels, long long hw, float* part, cudaStream_t stream) {
  PlaneSumsKernel<<<static_cast<unsigned>(batch * channels), SlotThreads(hw), 0, stream>>>(f, channels, hw, part);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

}  // namespace
}  // namespace fm
}  // namespace frugal
