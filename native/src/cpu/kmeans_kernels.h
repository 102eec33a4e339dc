// k-means inner loops, one set per ISA level (internal to the core). The front
// end (native/src/core/kmeans.cc) runs the GEMM and splits the work over the pool.
#pragma once
#include <cstdint>

#include "frugal/isa.h"

namespace frugal {

struct KMeansKernels {
  // The index of the smallest max(0, xnorm + g[j]) over j < K (ties: the lowest
  // index), g[j] = ‖c_j‖² − 2x·c_j from the GEMM; the caller makes sure K ≥ 1.
  int32_t (*nearest)(const float* g, int64_t K, float xnorm);
  // Σ (x[k] − y[k])² over k < n: fp32 differences and squares, double sums.
  double (*squared_distance)(const float* x, const float* y, int64_t n);
  // acc[k] += x[k] for k < n, in double (a cluster's sum, point by point).
  void (*accumulate)(const float* x, int64_t n, double* acc);
};

// The kernels of an ISA level (the caller makes sure the CPU has it).
const KMeansKernels& KMeansKernelsFor(Isa isa);

// Each level's namespace declares the same kernels.
#define FRUGAL_KMEANS_KERNELS                                            \
  int32_t NearestCentroid(const float* g, int64_t K, float xnorm);       \
  double SquaredDistance(const float* x, const float* y, int64_t n);     \
  void AccumulateRow(const float* x, int64_t n, double* acc);

namespace ref {
FRUGAL_KMEANS_KERNELS
}  // namespace ref
namespace avx2 {
FRUGAL_KMEANS_KERNELS
}  // namespace avx2
namespace avx512 {
FRUGAL_KMEANS_KERNELS
}  // namespace avx512
#undef FRUGAL_KMEANS_KERNELS

}  // namespace frugal
