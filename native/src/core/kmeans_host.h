// The host side of k-means that every backend shares (native/src/core/kmeans.cc,
// cuda/kmeans.cu): labels, counts and the empty-cluster repair. Internal.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "frugal/gemm.h"
#include "frugal/kmeans.h"
#include "frugal/status.h"

namespace frugal {

// The points of each cluster in ascending order: cluster j is
// order[start[j] .. start[j + 1]).
struct ClusterMembers {
  std::vector<int32_t> order;
  std::vector<int64_t> start;
};

// Rows per assignment block, a multiple of kAssignRowAlign (or n): the block's
// distances (rows × K floats) stay near 8 MB.
constexpr int64_t kAssignRowAlign = 64;
int64_t AssignBlockRows(int64_t n, int64_t K);

// The GEMM of one assignment block of `rows` rows from r0:
// g [rows, K] = ‖c‖² − 2·X_block·Cᵀ, with cnorm [K] the ‖c‖².
GemmParams DistanceGemm(const KMeansAssignParams& p, int64_t r0, int64_t rows, const float* cnorm, float* g);

// A counting sort of labels in [0, K).
ClusterMembers SortByCluster(int64_t n, int64_t K, const int32_t* labels);

// Copies rows idx[0..count) of X into out [count, dim] (host), from X's device.
using RowsToHost = std::function<Status(const int32_t* idx, int64_t count, float* out)>;

// Refills every empty cluster (see frugal/kmeans.h) by relabelling points;
// *repaired counts the clusters refilled. Needs n >= K.
Status RepairEmptyClusters(int64_t n, int64_t dim, int64_t K, int32_t* labels, const RowsToHost& rows, int64_t* repaired);

// Writes labels, changed and inertia (summed in row order) from each row's
// nearest centroid and squared distance to it.
void FinishAssignment(const KMeansAssignParams& p, const int32_t* nearest, const double* dist);

}  // namespace frugal
