// CUDA launchers of the random streams family: device pointers, `stream` is a
// cudaStream_t. Private to the core: the front end (native/src/core/random.cc)
// reaches them through Dispatch, and only CUDA builds include this header.
#pragma once
#include <cstdint>

#include "frugal/random.h"
#include "frugal/status.h"

namespace frugal {

enum class RandomKind { kWords = 0, kUniform = 1, kNormal = 2, kRademacher = 3 };
// CUDA launcher: out is device memory (uint32_t* for kWords, float* otherwise).
Status RandomCuda(RandomKind kind, StreamId id, uint64_t offset, int64_t n, float scale, void* out,
                  void* stream);

}  // namespace frugal
