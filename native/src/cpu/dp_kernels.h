// The few vector loops of the dp family that GEMM does not cover: Frobenius
// products of Gram matrices and row norms (Dot), and accumulation (Axpy). One
// implementation per ISA level; dp.cc picks one with DpKernelsFor(ActiveIsa()).
#pragma once
#include <cstdint>

#include "frugal/isa.h"

namespace frugal {

struct DpKernels {
  // Σ x[k]·y[k] over k < n, float products accumulated in double in a fixed order.
  double (*dot)(const float* x, const float* y, int64_t n);
  // t[k] += s·x[k] for k < n.
  void (*axpy)(float* t, const float* x, int64_t n, float s);
};

namespace ref {
double DpDot(const float* x, const float* y, int64_t n);
void DpAxpy(float* t, const float* x, int64_t n, float s);
}  // namespace ref
namespace avx2 {
double DpDot(const float* x, const float* y, int64_t n);
void DpAxpy(float* t, const float* x, int64_t n, float s);
}  // namespace avx2
namespace avx512 {
double DpDot(const float* x, const float* y, int64_t n);
void DpAxpy(float* t, const float* x, int64_t n, float s);
}  // namespace avx512

const DpKernels& DpKernelsFor(Isa isa);

}  // namespace frugal
