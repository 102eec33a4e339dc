// CUDA launchers of the activation (GELU, sigmoid, their backwards, softmax) family: device pointers, `stream` is a
// cudaStream_t. Private to the core: the front end (native/src/core/activation.cc)
// reaches them through Dispatch, and only CUDA builds include this header.
#pragma once
#include <cstdint>

#include "frugal/activation.h"
#include "frugal/status.h"

namespace frugal {

Status GeluCuda(int64_t n, const float* x, float* y, void* stream);
Status GeluBackwardCuda(int64_t n, const float* x, const float* dy, float* dx, void* stream);
Status SigmoidCuda(int64_t n, const float* x, float* y, void* stream);
Status SigmoidBackwardCuda(int64_t n, const float* y, const float* dy, float* dx, void* stream);
Status SoftmaxCuda(int64_t rows, int64_t cols, const float* x, float* y, void* stream);

}  // namespace frugal
