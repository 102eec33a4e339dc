// CUDA_CHECK: turn a failed CUDA runtime call into a returned Status, never an abort.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "common/ceil_div.h"
#include "frugal/status.h"

#define CUDA_CHECK(expr)                                                              \
  do {                                                                                \
    cudaError_t frugal_err_ = (expr);                                                 \
    if (frugal_err_ != cudaSuccess) {                                                 \
      return ::frugal::Status::Device(std::string(#expr) + ": " +                     \
                                      cudaGetErrorString(frugal_err_));               \
    }                                                                                 \
  } while (0)

// After a kernel launch: reports launch-configuration errors as a Status.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

namespace frugal {
inline cudaStream_t AsStream(void* stream) { return static_cast<cudaStream_t>(stream); }
// Blocks of b threads (or items) covering a: a grid dimension.
inline unsigned GridBlocks(long long a, long long b) { return static_cast<unsigned>(CeilDiv(a, b)); }
}  // namespace frugal
