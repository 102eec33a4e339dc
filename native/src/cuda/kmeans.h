// CUDA launchers of the k-means family (see frugal/kmeans.h). X and centroids
// are device memory; the per-row and per-cluster results come back to the host
// buffers named here, where the shared bookkeeping of core/kmeans_host.h runs.
// Private to the core; only CUDA builds include it.
#pragma once
#include <cstdint>

#include "core/kmeans_host.h"
#include "frugal/context.h"
#include "frugal/kmeans.h"
#include "frugal/status.h"

namespace frugal {

// nearest[i] (host) and dist[i] = ‖x_i − c_nearest‖² (host) for every row.
Status KMeansNearestCuda(const Context& ctx, const KMeansAssignParams& p, int32_t* nearest, double* dist);
// The means of p.update's clusters in members' order (double sums) into
// p.centroids, and shift[j] = ‖centroid_j − previous_j‖² (host).
Status KMeansMeansCuda(const Context& ctx, const KMeansUpdateParams& p, const ClusterMembers& members, double* shift);
// Rows idx[0..count) of a device X into host out [count, dim].
Status KMeansRowsToHostCuda(const float* X, int64_t dim, const int32_t* idx, int64_t count, float* out, void* stream);

}  // namespace frugal
