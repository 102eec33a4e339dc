// Scalar k-means: the reference level of the kernel table, and the assignment
// oracle, whose distances are Σ (x − c)² in double (no GEMM, no norms).
#include <cmath>

#include "cpu/kmeans_kernels.h"
#include "frugal/kmeans.h"

namespace frugal {
namespace ref {

int32_t NearestCentroid(const float* g, int64_t K, float xnorm) {
  int32_t best = 0;
  float best_d = INFINITY;
  for (int64_t j = 0; j < K; ++j) {
    const float d = std::fmax(0.0f, xnorm + g[j]);
    if (d < best_d) best_d = d, best = static_cast<int32_t>(j);
  }
  return best;
}

double SquaredDistance(const float* x, const float* y, int64_t n) {
  double sum = 0;
  for (int64_t k = 0; k < n; ++k) {
    const float d = x[k] - y[k];
    sum += static_cast<double>(d * d);
  }
  return sum;
}

void AccumulateRow(const float* x, int64_t n, double* acc) {
  for (int64_t k = 0; k < n; ++k) acc[k] += static_cast<double>(x[k]);
}

}  // namespace ref

Status KMeansAssignReference(const KMeansAssignParams& p) {
  if (p.n < 0 || p.dim < 0 || p.K < 1) return Status::Shape("kmeansAssign: expected n, dim >= 0 and K >= 1");
  if (!p.labels || !p.inertia || !p.changed || (p.n > 0 && (!p.X || !p.centroids))) {
    return Status::Native("kmeansAssign: a pointer is null");
  }
  double inertia = 0;
  int64_t changed = 0;
  for (int64_t i = 0; i < p.n; ++i) {
    const float* x = p.X + i * p.dim;
    int32_t best = 0;
    double best_d = INFINITY;
    for (int64_t j = 0; j < p.K; ++j) {
      double d = 0;
      for (int64_t k = 0; k < p.dim; ++k) {
        const double t = static_cast<double>(x[k]) - p.centroids[j * p.dim + k];
        d += t * t;
      }
      if (d < best_d) best_d = d, best = static_cast<int32_t>(j);
    }
    changed += p.labels[i] != best;
    p.labels[i] = best;
    inertia += best_d;
  }
  *p.inertia = inertia;
  *p.changed = changed;
  return Status::Ok();
}

}  // namespace frugal
