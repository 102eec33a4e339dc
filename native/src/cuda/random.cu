// CUDA random streams v1 (DESIGN.md): Philox4x32-10 with __umulhi, one thread
// per counter block of four elements. Words, uniform and Rademacher values are
// bit-identical to the CPU; normals use the same Box–Muller pairing with
// full-precision logf/sqrtf/sincospif (never the __ intrinsics), a few ulp from
// the double-precision reference.
#include <cstdint>

#include "check.cuh"
#include "frugal/random.h"

namespace frugal {
namespace {

constexpr int kThreads = 256;
constexpr long long kMaxBlocks = 65536;  // grid-stride beyond this

__device__ __forceinline__ uint4 Philox(uint4 c, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    const uint32_t hi0 = __umulhi(0xD2511F53u, c.x), lo0 = 0xD2511F53u * c.x;
    const uint32_t hi1 = __umulhi(0xCD9E8D57u, c.z), lo1 = 0xCD9E8D57u * c.z;
    c = make_uint4(hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0);
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return c;
}

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
    for (int i = 0; i < 4; ++i) v[i] = static_cast<float>(w[i] >> 8) * 0x1p-24f;
  }
};

template <>
struct Values<RandomKind::kRademacher> {
  using Out = float;
  __device__ static void Get(const uint32_t w[4], float scale, Out v[4]) {
    for (int i = 0; i < 4; ++i) v[i] = w[i] < 0x80000000u ? scale : -scale;
  }
};

// Words (0,1) and (2,3) each give one Box–Muller pair: r·cos(2πu2), r·sin(2πu2).
// sincospif(2·u2) is exact in its argument (u2 is a multiple of 2⁻²⁴), so it
// avoids the rounding of 2π·u2 in float.
template <>
struct Values<RandomKind::kNormal> {
  using Out = float;
  __device__ static void Get(const uint32_t w[4], float scale, Out v[4]) {
    for (int a = 0; a < 4; a += 2) {
      const float u1 = static_cast<float>((w[a] >> 8) + 1u) * 0x1p-24f;
      const float u2 = static_cast<float>(w[a + 1] >> 8) * 0x1p-24f;
      const float r = sqrtf(-2.0f * logf(u1));
      float s, c;
      sincospif(2.0f * u2, &s, &c);
      v[a] = scale * (r * c);
      v[a + 1] = scale * (r * s);
    }
  }
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
    const uint4 c = Philox(make_uint4(static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), sub, tag),
                           k0, k1);
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
