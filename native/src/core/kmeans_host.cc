// Host bookkeeping of k-means shared by the backends (see kmeans_host.h).
#include "core/kmeans_host.h"

#include <algorithm>
#include <numeric>
#include <string>

namespace frugal {

int64_t AssignBlockRows(int64_t n, int64_t K) {
  const int64_t rows = std::max<int64_t>(kAssignRowAlign, ((int64_t{1} << 21) / K) / kAssignRowAlign * kAssignRowAlign);
  return std::min(rows, n);
}

GemmParams DistanceGemm(const KMeansAssignParams& p, int64_t r0, int64_t rows, const float* cnorm, float* g) {
  GemmParams gp;
  gp.M = rows;
  gp.N = p.K;
  gp.K = p.dim;
  gp.A = p.X + r0 * p.dim;
  gp.lda = p.dim;
  gp.B = p.centroids;
  gp.ldb = p.dim;
  gp.transB = true;
  gp.C = g;
  gp.ldc = p.K;
  gp.alpha = -2.0f;
  gp.bias = cnorm;
  return gp;
}

ClusterMembers SortByCluster(int64_t n, int64_t K, const int32_t* labels) {
  ClusterMembers m;
  m.start.assign(static_cast<size_t>(K + 1), 0);
  for (int64_t i = 0; i < n; ++i) ++m.start[labels[i] + 1];
  std::partial_sum(m.start.begin(), m.start.end(), m.start.begin());
  m.order.resize(static_cast<size_t>(n));
  std::vector<int64_t> next(m.start.begin(), m.start.end() - 1);
  for (int64_t i = 0; i < n; ++i) m.order[next[labels[i]]++] = static_cast<int32_t>(i);
  return m;
}

namespace {

// Moves half of cluster `from`'s points (`members`, ascending) to cluster `to`:
// those farthest along the direction from its mean to its farthest point.
Status SplitCluster(int64_t dim, const std::vector<int32_t>& members, const RowsToHost& rows, int32_t to,
                    int32_t* labels) {
  const int64_t count = static_cast<int64_t>(members.size());
  std::vector<float> x;
  try {
    x.resize(static_cast<size_t>(count * dim));
  } catch (const std::bad_alloc&) {
    return Status::Native("kmeansUpdate: out of memory for the empty-cluster repair");
  }
  FRUGAL_RETURN_IF_ERROR(rows(members.data(), count, x.data()));
  std::vector<double> mean(static_cast<size_t>(dim), 0.0);
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t d = 0; d < dim; ++d) mean[d] += x[i * dim + d];
  }
  for (double& v : mean) v /= static_cast<double>(count);
  // The perturbation: toward the farthest point (the first of equals).
  int64_t far = 0;
  double far_d = -1;
  for (int64_t i = 0; i < count; ++i) {
    double s = 0;
    for (int64_t d = 0; d < dim; ++d) s += (x[i * dim + d] - mean[d]) * (x[i * dim + d] - mean[d]);
    if (s > far_d) far_d = s, far = i;
  }
  std::vector<double> along(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    double s = 0;
    for (int64_t d = 0; d < dim; ++d) s += (x[i * dim + d] - mean[d]) * (x[far * dim + d] - mean[d]);
    along[i] = s;
  }
  std::vector<int64_t> rank(static_cast<size_t>(count));
  std::iota(rank.begin(), rank.end(), 0);
  // Farthest along first; among equals the later point moves (identical points split by index).
  std::sort(rank.begin(), rank.end(), [&](int64_t a, int64_t b) { return along[a] != along[b] ? along[a] > along[b] : a > b; });
  for (int64_t i = 0; i < count / 2; ++i) labels[members[rank[i]]] = to;
  return Status::Ok();
}

}  // namespace

Status RepairEmptyClusters(int64_t n, int64_t dim, int64_t K, int32_t* labels, const RowsToHost& rows, int64_t* repaired) {
  std::vector<int64_t> counts(static_cast<size_t>(K), 0);
  for (int64_t i = 0; i < n; ++i) ++counts[labels[i]];
  *repaired = 0;
  for (int64_t e = 0; e < K; ++e) {
    if (counts[e] > 0) continue;
    // n >= K, so while a cluster is empty another holds at least two points.
    const int64_t from = std::max_element(counts.begin(), counts.end()) - counts.begin();
    std::vector<int32_t> members;
    members.reserve(static_cast<size_t>(counts[from]));
    for (int64_t i = 0; i < n; ++i) {
      if (labels[i] == from) members.push_back(static_cast<int32_t>(i));
    }
    FRUGAL_RETURN_IF_ERROR(SplitCluster(dim, members, rows, static_cast<int32_t>(e), labels));
    counts[e] = counts[from] / 2;
    counts[from] -= counts[e];
    ++*repaired;
  }
  return Status::Ok();
}

void FinishAssignment(const KMeansAssignParams& p, const int32_t* nearest, const double* dist) {
  double inertia = 0;
  int64_t changed = 0;
  for (int64_t i = 0; i < p.n; ++i) {
    changed += p.labels[i] != nearest[i];
    p.labels[i] = nearest[i];
    inertia += dist[i];
  }
  *p.inertia = inertia;
  *p.changed = changed;
}

}  // namespace frugal
