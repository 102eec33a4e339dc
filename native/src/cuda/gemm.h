// CUDA launchers of the GEMM family: device pointers, `stream` is a
// cudaStream_t. Private to the core: the front end (native/src/core/gemm.cc)
// reaches them through Dispatch, and only CUDA builds include this header.
#pragma once
#include <cstdint>

#include "frugal/gemm.h"
#include "frugal/status.h"

namespace frugal {

Status GemmCuda(const GemmParams& p, void* stream);

}  // namespace frugal
