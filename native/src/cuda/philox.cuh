// Device side of random streams v1 (DESIGN.md, "Random streams"), shared by the
// CUDA kernels that draw from a stream (random.cu, slash.cu): Philox4x32-10 with
// __umulhi and the element values of one counter block. Words, uniform and
// Rademacher values are bit-identical to the CPU; normals use full-precision
// logf/sqrtf/sincospif (never the __ intrinsics), a few ulp from the double
// reference. Every kernel that includes this header gets the same values.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace frugal {
namespace philox {

// One Philox4x32-10 block: counter c, key (k0, k1).
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

// The four words of counter block `block` (elements 4·block … 4·block+3) of stream
// (key (k0, k1) = (seed mod 2³², ⌊seed/2³²⌋), sub, tag).
__device__ __forceinline__ uint4 StreamBlock(uint32_t k0, uint32_t k1, uint32_t sub, uint32_t tag,
                                             unsigned long long block) {
  return Philox(make_uint4(static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), sub, tag), k0, k1);
}

// u = (w >> 8)·2⁻²⁴ in [0, 1).
__device__ __forceinline__ float Uniform(uint32_t w) { return static_cast<float>(w >> 8) * 0x1p-24f; }

// +scale if w < 2³¹, else −scale.
__device__ __forceinline__ float Rademacher(uint32_t w, float scale) { return w < 0x80000000u ? scale : -scale; }

// One Box–Muller pair from words a (even) and b = a + 1 of a block:
// v0 = scale·r·cos(2πu2), v1 = scale·r·sin(2πu2). sincospif(2·u2) is exact in its
// argument (u2 is a multiple of 2⁻²⁴), so it avoids the rounding of 2π·u2 in float.
__device__ __forceinline__ void NormalPair(uint32_t wa, uint32_t wb, float scale, float* v0, float* v1) {
  const float u1 = static_cast<float>((wa >> 8) + 1u) * 0x1p-24f;
  const float u2 = static_cast<float>(wb >> 8) * 0x1p-24f;
  const float r = sqrtf(-2.0f * logf(u1));
  float s, c;
  sincospif(2.0f * u2, &s, &c);
  *v0 = scale * (r * c);
  *v1 = scale * (r * s);
}

// The four normal values of a block: pairs (0, 1) and (2, 3).
__device__ __forceinline__ void Normals(const uint32_t w[4], float scale, float v[4]) {
  NormalPair(w[0], w[1], scale, &v[0], &v[1]);
  NormalPair(w[2], w[3], scale, &v[2], &v[3]);
}

}  // namespace philox
}  // namespace frugal
