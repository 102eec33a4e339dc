// CUDA random streams v1 (DESIGN.md): one thread per counter block of four
// elements. The generator and the element values (Philox4x32-10, uniform,
// Rademacher, Box–Muller pairs) live in philox.cuh, shared with slash.cu: words,
// uniform and Rademacher values are bit-identical to the CPU; normals are a few
// ulp from the double-precision reference.
#include <cstdint>

#include "check.cuh"
#include "cuda/random.h"
#include "philox.cuh"

namespace frugal {
namespace {

constexpr int kThreads = 256;
constexpr long long kMaxBlocks = 65536;  // grid-stride beyond this

// Element values from the four words of one block (word index 0..3).
template <RandomKind kKind>
struct Values;

template <>
struct Values<RandomKind::kWords> {
  using Out = uint32_t;
  __device__ static void Get(const uint32_t w[4], float, Out v[4]) {
    for (int i = 0; i < 4; ++i) v[i] = w[i];
  }
};

template <>
struct Values<RandomKind::kUniform> {
  using Out = float;
  __device__ static void Get(const uint32_t w[4], float, Out v[4]) {
    for (int i = 0; i < 4; ++i) v[i] = philox::Uniform(w[i]);
  }
};

template <>
struct Values<RandomKind::kRademacher> {
  using Out = float;
  __device__ static void Get(const uint32_t w[4], float scale, Out v[4]) {
    for (int i = 0; i < 4; ++i) v[i] = philox::Rademacher(w[i], scale);
  }
};

// Words (0,1) and (2,3) each give one Box–Muller pair (philox::NormalPair).
template <>
struct Values<RandomKind::kNormal> {
  using Out = float;
  __device__ static void Get(const uint32_t w[4], float scale, Out v[4]) { philox::Normals(w, scale, v); }
};

// Thread t handles counter block first_block + t: elements 4·block .. 4·block+3
// that fall inside [offset, offset + n).
template <RandomKind kKind>
__global__ void RandomKernel(uint32_t k0, uint32_t k1, uint32_t sub, uint32_t tag, unsigned long long offset,
                             long long n, float scale, typename Values<kKind>::Out* out) {
  // The last element index, inclusive: offset + n itself may wrap to 0 at the end of the stream.
  const unsigned long long first_block = offset / 4;
  const unsigned long long last = offset + static_cast<unsigned long long>(n - 1);
  const long long blocks = static_cast<long long>(last / 4 - first_block + 1);
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; t < blocks; t += stride) {
    const unsigned long long block = first_block + static_cast<unsigned long long>(t);
    const uint4 c = philox::StreamBlock(k0, k1, sub, tag, block);
    const uint32_t w[4] = {c.x, c.y, c.z, c.w};
    typename Values<kKind>::Out v[4];
    Values<kKind>::Get(w, scale, v);
    for (int i = 0; i < 4; ++i) {
      const unsigned long long e = 4 * block + i;
      if (e >= offset && e <= last) out[e - offset] = v[i];
    }
  }
}

template <RandomKind kKind>
Status Launch(StreamId id, uint64_t offset, int64_t n, float scale, void* out, cudaStream_t stream) {
  // Blocks touched: from ⌊offset/4⌋ to ⌊(offset+n−1)/4⌋.
  const long long blocks = static_cast<long long>((offset + static_cast<uint64_t>(n - 1)) / 4 - offset / 4 + 1);
  long long grid = (blocks + kThreads - 1) / kThreads;
  if (grid > kMaxBlocks) grid = kMaxBlocks;
  RandomKernel<kKind><<<static_cast<unsigned>(grid), kThreads, 0, stream>>>(
      static_cast<uint32_t>(id.seed), static_cast<uint32_t>(id.seed >> 32), id.sub, id.tag, offset, n, scale,
      static_cast<typename Values<kKind>::Out*>(out));
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

}  // namespace

Status RandomCuda(RandomKind kind, StreamId id, uint64_t offset, int64_t n, float scale, void* out, void* stream) {
  if (n <= 0) return Status::Ok();
  const cudaStream_t s = AsStream(stream);
  switch (kind) {
    case RandomKind::kWords: return Launch<RandomKind::kWords>(id, offset, n, scale, out, s);
    case RandomKind::kUniform: return Launch<RandomKind::kUniform>(id, offset, n, scale, out, s);
    case RandomKind::kNormal: return Launch<RandomKind::kNormal>(id, offset, n, scale, out, s);
    case RandomKind::kRademacher: return Launch<RandomKind::kRademacher>(id, offset, n, scale, out, s);
  }
  return Status::Range("random: unknown RandomKind " + std::to_string(static_cast<int>(kind)));
}

}  // namespace frugal
