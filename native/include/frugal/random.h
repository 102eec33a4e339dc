// Philox4x32-10 and random streams v1 (see DESIGN.md, "Random streams").
//
// A stream is named by (seed, sub, tag). Element e uses counter
// (⌊e/4⌋ mod 2³², ⌊e/4⌋ / 2³², sub, tag), key (seed mod 2³², ⌊seed/2³²⌋), word e mod 4.
// Every function fills out[0..n) with elements [offset, offset + n) of the stream,
// so a kernel can generate any tile of a stream on its own.
#pragma once
#include <cstdint>

#include "frugal/context.h"
#include "frugal/status.h"

namespace frugal {

// Uses of a stream (DESIGN.md): the `tag` word of the counter.
enum StreamTag : uint32_t {
  kTagProjection = 1,
  kTagGradientMask = 2,
  kTagDpNoise = 3,
  kTagPathKeep = 4,
  kTagKmeansInit = 5,
  kTagParameterInit = 6,
};

struct StreamId {
  uint64_t seed = 0;
  uint32_t sub = 0;
  uint32_t tag = 0;
};

// One Philox4x32-10 block.
void Philox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

// Elements [offset, offset + n) of the stream, on the CPU at the active ISA level
// (or CUDA when ctx.device is kCuda and `out` is device memory).
Status RandomWords(const Context& ctx, StreamId id, uint64_t offset, int64_t n, uint32_t* out);
Status RandomUniform(const Context& ctx, StreamId id, uint64_t offset, int64_t n, float* out);
// Normals times `scale` (scale = 1 gives N(0,1)).
Status RandomNormal(const Context& ctx, StreamId id, uint64_t offset, int64_t n, float scale, float* out);
// ±scale.
Status RandomRademacher(const Context& ctx, StreamId id, uint64_t offset, int64_t n, float scale, float* out);

// Scalar references (the oracles): same contract, always the plain C++ path.
void RandomWordsReference(StreamId id, uint64_t offset, int64_t n, uint32_t* out);
void RandomUniformReference(StreamId id, uint64_t offset, int64_t n, float* out);
void RandomNormalReference(StreamId id, uint64_t offset, int64_t n, float scale, float* out);
void RandomRademacherReference(StreamId id, uint64_t offset, int64_t n, float scale, float* out);

}  // namespace frugal
