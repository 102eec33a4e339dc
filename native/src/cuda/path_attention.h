// CUDA launchers of the path-attention family: float tensors and the int32
// arrays (offsets, lengths_offsets, keep) are device pointers — the front end
// (native/src/core/path_attention.cc) copies the host arrays once per call;
// `stream` is a cudaStream_t. Each launcher only enqueues: the front end waits.
// Private to the core; only CUDA builds include this header.
#pragma once
#include <cstdint>

#include "frugal/path_attention.h"
#include "frugal/status.h"

namespace frugal {

// The int32 arrays of a call, in device memory (the others of the params are the caller's).
struct PathIndexDevice {
  const int32_t* offsets = nullptr;
  const int32_t* lengths_offsets = nullptr;  // gather / restore / removed sum only
  const int32_t* keep = nullptr;             // gather / restore / removed sum only
  int64_t total_tokens = 0;                  // lengths_offsets[paths] (host value)
  int64_t total_kept = 0;                    // offsets[paths] (host value)
};

Status PathGatherCuda(const PathGatherParams& p, const PathIndexDevice& d, void* stream);
Status PathRestoreCuda(const PathRestoreParams& p, const PathIndexDevice& d, void* stream);
Status PathRemovedSumCuda(const PathRemovedSumParams& p, const PathIndexDevice& d, void* stream);
Status PathAttentionCuda(const PathAttentionParams& p, const PathIndexDevice& d, void* stream);
Status PathAttentionBackwardCuda(const PathAttentionBackwardParams& p, const PathIndexDevice& d, void* stream);

}  // namespace frugal
