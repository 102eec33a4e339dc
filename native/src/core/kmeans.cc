// k-means front end: argument checks, the assignment (GEMM blocks, then the
// nearest centroid of each row), the update (counting sort of the labels, the
// empty-cluster repair, then fixed-order means) and k-means++ seeding. The host
// bookkeeping (labels, counts, repair, sums of partials) is shared by the CPU
// path and the CUDA launchers of cuda/kmeans.cu; only the arithmetic over X moves.
#include "frugal/kmeans.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/front_end.h"
#include "core/kmeans_host.h"
#include "cpu/kernel_table.h"
#include "cpu/kmeans_kernels.h"
#include "cpu/primitives/vector.h"
#include "frugal/gemm.h"
#include "frugal/isa.h"
#ifdef FRUGAL_WITH_CUDA
#include "cuda/kmeans.h"
#endif

namespace frugal {

const KMeansKernels& KMeansKernelsFor(Isa isa) {
  static const KMeansKernels kRef{ref::NearestCentroid, ref::SquaredDistance, ref::AccumulateRow};
  static const KMeansKernels kAvx2{avx2::NearestCentroid, avx2::SquaredDistance, avx2::AccumulateRow};
  static const KMeansKernels kAvx512{avx512::NearestCentroid, avx512::SquaredDistance, avx512::AccumulateRow};
  return KernelsOfLevel(isa, kRef, kAvx2, kAvx512);
}

namespace {

// Rows of one pool task: the boundaries do not depend on the thread count.
constexpr int64_t kRowsPerTask = 32;  // divides kAssignRowAlign
// Clusters of one pool task in the update.
constexpr int64_t kClustersPerTask = 8;

std::string Str(int64_t v) { return std::to_string(v); }

Status CheckSizes(const char* op, int64_t n, int64_t dim, int64_t K) {
  if (K < 1 || dim < 1 || n < K) {
    return Status::Shape(std::string(op) + ": expected K >= 1, dim >= 1 and n >= K, got n " + Str(n) + ", dim " +
                         Str(dim) + ", K " + Str(K));
  }
  if (K > (int64_t{1} << 24)) return Status::Shape(std::string(op) + ": at most 2^24 centroids, got K " + Str(K));
  return Status::Ok();
}

Status CheckAssign(const KMeansAssignParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckSizes("kmeansAssign", p.n, p.dim, p.K));
  if (!p.X) return NullArgument("kmeansAssign", "X");
  if (!p.centroids) return NullArgument("kmeansAssign", "centroids");
  if (!p.labels) return NullArgument("kmeansAssign", "labels");
  if (!p.inertia) return NullArgument("kmeansAssign", "inertia");
  if (!p.changed) return NullArgument("kmeansAssign", "changed");
  return Status::Ok();
}

Status CheckUpdate(const KMeansUpdateParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckSizes("kmeansUpdate", p.n, p.dim, p.K));
  if (!p.X) return NullArgument("kmeansUpdate", "X");
  if (!p.labels) return NullArgument("kmeansUpdate", "labels");
  if (!p.previous) return NullArgument("kmeansUpdate", "previous");
  if (!p.centroids) return NullArgument("kmeansUpdate", "centroids");
  if (!p.counts) return NullArgument("kmeansUpdate", "counts");
  if (!p.shift) return NullArgument("kmeansUpdate", "shift");
  if (!p.repaired) return NullArgument("kmeansUpdate", "repaired");
  for (int64_t i = 0; i < p.n; ++i) {
    if (p.labels[i] < 0 || p.labels[i] >= p.K) {
      return Status::Range("kmeansUpdate: labels[" + Str(i) + "] = " + Str(p.labels[i]) + " is not in [0, " +
                           Str(p.K) + ")");
    }
  }
  return Status::Ok();
}

// Each row's nearest centroid and its exact squared distance, on the CPU.
Status NearestCpu(const Context& ctx, const KMeansAssignParams& p, int32_t* nearest, double* dist) {
  const KMeansKernels& k = KMeansKernelsFor(ActiveIsa());
  const PrimitiveKernels& prim = PrimitiveKernelsFor(ActiveIsa());
  float *cnorm, *g;
  const int64_t block = AssignBlockRows(p.n, p.K);
  FRUGAL_RETURN_IF_ERROR(Workspace("kmeansAssign", 0, p.K, &cnorm));
  FRUGAL_RETURN_IF_ERROR(Workspace("kmeansAssign", 1, block * p.K, &g));
  ParallelFor(CeilDiv(p.K, kRowsPerTask), [&](int64_t t) {
    for (int64_t j = t * kRowsPerTask; j < std::min(p.K, (t + 1) * kRowsPerTask); ++j) {
      const float* c = p.centroids + j * p.dim;
      cnorm[j] = static_cast<float>(prim.dot(c, c, p.dim));
    }
  });
  for (int64_t r0 = 0; r0 < p.n; r0 += block) {
    const int64_t rows = std::min(block, p.n - r0);
    FRUGAL_RETURN_IF_ERROR(Gemm(ctx, DistanceGemm(p, r0, rows, cnorm, g)));
    ParallelFor(CeilDiv(rows, kRowsPerTask), [&](int64_t t) {
      for (int64_t i = r0 + t * kRowsPerTask; i < std::min(r0 + rows, r0 + (t + 1) * kRowsPerTask); ++i) {
        const float* x = p.X + i * p.dim;
        const int32_t j = k.nearest(g + (i - r0) * p.K, p.K, static_cast<float>(prim.dot(x, x, p.dim)));
        nearest[i] = j;
        dist[i] = k.squared_distance(x, p.centroids + j * p.dim, p.dim);
      }
    });
  }
  return Status::Ok();
}

// The means of the clusters on the CPU, each summed in the order of `members`.
Status MeansCpu(const KMeansUpdateParams& p, const ClusterMembers& members, double* shift) {
  const KMeansKernels& k = KMeansKernelsFor(ActiveIsa());
  ParallelFor(CeilDiv(p.K, kClustersPerTask), [&](int64_t t) {
    std::vector<double> acc(static_cast<size_t>(p.dim));
    for (int64_t j = t * kClustersPerTask; j < std::min(p.K, (t + 1) * kClustersPerTask); ++j) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t m = members.start[j]; m < members.start[j + 1]; ++m) {
        k.accumulate(p.X + int64_t{members.order[m]} * p.dim, p.dim, acc.data());
      }
      const double count = static_cast<double>(members.start[j + 1] - members.start[j]);
      float* c = p.centroids + j * p.dim;
      for (int64_t d = 0; d < p.dim; ++d) c[d] = static_cast<float>(acc[d] / count);
      shift[j] = k.squared_distance(c, p.previous + j * p.dim, p.dim);
    }
  });
  return Status::Ok();
}

// Copies rows of a host X (the CPU path's row source for the repair).
Status HostRows(const float* X, int64_t dim, const int32_t* rows, int64_t count, float* out) {
  for (int64_t i = 0; i < count; ++i) std::memcpy(out + i * dim, X + int64_t{rows[i]} * dim, dim * sizeof(float));
  return Status::Ok();
}

}  // namespace

Status KMeansAssign(const Context& ctx, const KMeansAssignParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckAssign(p));
  std::vector<int32_t> nearest(static_cast<size_t>(p.n));
  std::vector<double> dist(static_cast<size_t>(p.n));
  FRUGAL_RETURN_IF_ERROR(Dispatch("kmeansAssign", ctx, Empty{}, [&] { return NearestCpu(ctx, p, nearest.data(), dist.data()); },
                                  FRUGAL_CUDA_PATH(KMeansNearestCuda(ctx, p, nearest.data(), dist.data()))));
  FinishAssignment(p, nearest.data(), dist.data());
  return Status::Ok();
}

Status KMeansUpdate(const Context& ctx, const KMeansUpdateParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckUpdate(p));
  const auto rows = [&](const int32_t* idx, int64_t count, float* out) {
    return Dispatch("kmeansUpdate", ctx, Empty{}, [&] { return HostRows(p.X, p.dim, idx, count, out); },
                    FRUGAL_CUDA_PATH(KMeansRowsToHostCuda(p.X, p.dim, idx, count, out, ctx.stream)));
  };
  int64_t repaired = 0;
  FRUGAL_RETURN_IF_ERROR(RepairEmptyClusters(p.n, p.dim, p.K, p.labels, rows, &repaired));
  const ClusterMembers members = SortByCluster(p.n, p.K, p.labels);
  std::vector<double> shift(static_cast<size_t>(p.K));
  FRUGAL_RETURN_IF_ERROR(Dispatch("kmeansUpdate", ctx, Empty{}, [&] { return MeansCpu(p, members, shift.data()); },
                                  FRUGAL_CUDA_PATH(KMeansMeansCuda(ctx, p, members, shift.data()))));
  double total = 0;
  for (int64_t j = 0; j < p.K; ++j) {
    total += shift[j];
    p.counts[j] = static_cast<int32_t>(members.start[j + 1] - members.start[j]);
  }
  *p.shift = total;
  *p.repaired = repaired;
  return Status::Ok();
}

Status KMeansStep(const Context& ctx, const KMeansStepParams& p) {
  const KMeansUpdateParams& u = p.update;
  KMeansAssignParams a;
  a.n = u.n;
  a.dim = u.dim;
  a.K = u.K;
  a.X = u.X;
  a.centroids = u.previous;
  a.labels = u.labels;
  a.inertia = p.inertia;
  a.changed = p.changed;
  FRUGAL_RETURN_IF_ERROR(KMeansAssign(ctx, a));
  return KMeansUpdate(ctx, u);
}

}  // namespace frugal
