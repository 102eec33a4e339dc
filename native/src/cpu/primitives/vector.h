// Vector primitives that op families share instead of reaching into each
// other: dot products with double sums, axpy, and fixed-order weighted column
// sums. One implementation per ISA level (cpu/primitives-inl.h, the scalar one
// in cpu/ref/primitives_ref.cc), picked with PrimitiveKernelsFor(ActiveIsa()).
#pragma once
#include <cstdint>

#include "frugal/isa.h"

namespace frugal {

struct PrimitiveKernels {
  // Σ x[k]·y[k] over k < n, float products accumulated in double in a fixed order.
  double (*dot)(const float* x, const float* y, int64_t n);
  // t[k] += s·x[k] for k < n.
  void (*axpy)(float* t, const float* x, int64_t n, float s);
};

// The kernels of an ISA level (the caller makes sure the CPU has it).
const PrimitiveKernels& PrimitiveKernelsFor(Isa isa);

// out[j] = Σ_r w(r)·x[r·cols + j] for r < rows, w(r) = weights[r / group] (or 1
// when weights is null), with the active level's axpy. One pool task per fixed
// block of columns, rows added in order: the result never depends on the
// thread count. Token sums (bias gradients, per-sample shift gradients) and
// clipped sums of rows use it.
void WeightedColumnSums(const float* x, int64_t rows, int64_t cols, const float* weights, int64_t group, float* out);

// Each level's namespace declares the same kernels.
#define FRUGAL_PRIMITIVE_KERNELS                  \
  double Dot(const float* x, const float* y, int64_t n); \
  void Axpy(float* t, const float* x, int64_t n, float s);

namespace ref {
FRUGAL_PRIMITIVE_KERNELS
}  // namespace ref
namespace avx2 {
FRUGAL_PRIMITIVE_KERNELS
}  // namespace avx2
namespace avx512 {
FRUGAL_PRIMITIVE_KERNELS
}  // namespace avx512
#undef FRUGAL_PRIMITIVE_KERNELS

}  // namespace frugal
