// GELU, sigmoid and softmax kernels, one set per ISA level (internal to the core).
// The front end (native/src/core/activation.cc) splits the work over the pool.
#pragma once
#include <cstdint>

#include "frugal/isa.h"
#include "frugal/status.h"

namespace frugal {

struct ActivationKernels {
  // y[i] = gelu(x[i]) for i < n; y may alias x.
  void (*gelu)(int64_t n, const float* x, float* y);
  // dx[i] = dy[i]·gelu'(x[i]); dx may alias dy.
  void (*gelu_backward)(int64_t n, const float* x, const float* dy, float* dx);
  // y[i] = 1/(1 + e^−x[i]) for i < n; y may alias x.
  void (*sigmoid)(int64_t n, const float* x, float* y);
  // dx[i] = dy[i]·y[i](1 − y[i]) (y the forward's output); dx may alias dy.
  void (*sigmoid_backward)(int64_t n, const float* y, const float* dy, float* dx);
  // One row of softmax over `cols` values; y may alias x.
  void (*softmax_row)(int64_t cols, const float* x, float* y);
};

// The kernels of an ISA level (the caller makes sure the CPU has it).
const ActivationKernels& ActivationKernelsFor(Isa isa);

// Argument checks shared by the front end and the reference.
Status CheckGeluArgs(int64_t n, const float* x, const float* y);
Status CheckGeluBackwardArgs(int64_t n, const float* x, const float* dy, const float* dx);
Status CheckSigmoidArgs(int64_t n, const float* x, const float* y);
Status CheckSigmoidBackwardArgs(int64_t n, const float* y, const float* dy, const float* dx);
Status CheckSoftmaxArgs(int64_t rows, int64_t cols, const float* x, const float* y);

// Each level's namespace declares the same kernels.
#define FRUGAL_ACTIVATION_KERNELS                                              \
  void GeluSpan(int64_t n, const float* x, float* y);                          \
  void GeluBackwardSpan(int64_t n, const float* x, const float* dy, float* dx);\
  void SigmoidSpan(int64_t n, const float* x, float* y);                       \
  void SigmoidBackwardSpan(int64_t n, const float* y, const float* dy, float* dx);\
  void SoftmaxRow(int64_t cols, const float* x, float* y);

namespace ref {
FRUGAL_ACTIVATION_KERNELS
}  // namespace ref
namespace avx2 {
FRUGAL_ACTIVATION_KERNELS
}  // namespace avx2
namespace avx512 {
FRUGAL_ACTIVATION_KERNELS
}  // namespace avx512
#undef FRUGAL_ACTIVATION_KERNELS

}  // namespace frugal
