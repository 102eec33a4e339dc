// k-means on CUDA against the CPU path: the assignment (labels equal but for
// fp32 near-ties, inertia within 1e-6 relative), the update (the same means bit
// for bit: both sum in double in the order the host sorted, then round once),
// the empty-cluster repair, and k-means++ (run on the host for a device X: the
// same centres as from a host X).
#include <cmath>
#include <string>
#include <vector>

#include "check.h"
#include "device_buffer.h"
#include "frugal/kmeans.h"

using namespace frugal;
using frugal::test::CudaContext;
using frugal::test::DeviceBuffer;
using frugal::test::RandomVector;

namespace {

struct Shape {
  int64_t n, dim, K;
};
const Shape kShapes[] = {{1, 1, 1}, {33, 17, 7}, {257, 33, 17}, {1000, 65, 255}, {3072, 129, 768}};

}  // namespace

FRUGAL_TEST(cuda_kmeans_step_matches_the_cpu) {
  for (const Shape& s : kShapes) {
    const std::string what = "n " + std::to_string(s.n) + " dim " + std::to_string(s.dim) + " K " + std::to_string(s.K);
    const std::vector<float> X = RandomVector(s.n * s.dim, 1), C = RandomVector(s.K * s.dim, 2);
    DeviceBuffer<float> dX(X), dC(C), dNext(s.K * s.dim);
    std::vector<float> next(s.K * s.dim);
    std::vector<int32_t> labels[2] = {std::vector<int32_t>(s.n, -1), std::vector<int32_t>(s.n, -1)};
    std::vector<int32_t> counts[2] = {std::vector<int32_t>(s.K), std::vector<int32_t>(s.K)};
    double inertia[2], shift[2];
    int64_t changed[2], repaired[2];
    for (int dev = 0; dev < 2; ++dev) {
      KMeansStepParams p;
      KMeansUpdateParams& u = p.update;
      u.n = s.n, u.dim = s.dim, u.K = s.K;
      u.X = dev ? dX.get() : X.data();
      u.previous = dev ? dC.get() : C.data();
      u.centroids = dev ? dNext.get() : next.data();
      u.labels = labels[dev].data(), u.counts = counts[dev].data(), u.shift = &shift[dev], u.repaired = &repaired[dev];
      p.inertia = &inertia[dev], p.changed = &changed[dev];
      FRUGAL_CHECK_OK(KMeansStep(dev ? CudaContext() : Context{}, p));
    }
    FRUGAL_CHECK(std::fabs(inertia[1] - inertia[0]) <= 1e-6 * inertia[0]) << what << ": " << inertia[1] << " vs " << inertia[0];
    int64_t differ = 0;
    for (int64_t i = 0; i < s.n; ++i) differ += labels[0][i] != labels[1][i];
    FRUGAL_CHECK(differ <= s.n / 1000) << what << ": " << differ << " labels differ";
    if (differ == 0) {
      FRUGAL_CHECK(dNext.Download() == next) << what << ": means differ";
      FRUGAL_CHECK(counts[0] == counts[1] && repaired[0] == repaired[1]) << what;
      FRUGAL_CHECK(std::fabs(shift[1] - shift[0]) <= 1e-9 * (1 + shift[0])) << what;
    }
  }
}

FRUGAL_TEST(cuda_kmeans_repair_and_plus_plus_match_the_cpu) {
  const Shape s{200, 9, 12};
  const std::vector<float> X = RandomVector(s.n * s.dim, 3);
  DeviceBuffer<float> dX(X), dC(s.K * s.dim), dPrev(std::vector<float>(s.K * s.dim, 0.0f));
  // Every point in cluster 0: eleven clusters to refill from the host's sorted members.
  std::vector<int32_t> labels[2] = {std::vector<int32_t>(s.n, 0), std::vector<int32_t>(s.n, 0)};
  std::vector<int32_t> counts[2] = {std::vector<int32_t>(s.K), std::vector<int32_t>(s.K)};
  std::vector<float> c(s.K * s.dim), prev(s.K * s.dim, 0.0f);
  double shift[2];
  int64_t repaired[2];
  for (int dev = 0; dev < 2; ++dev) {
    KMeansUpdateParams u;
    u.n = s.n, u.dim = s.dim, u.K = s.K, u.X = dev ? dX.get() : X.data(), u.previous = dev ? dPrev.get() : prev.data();
    u.centroids = dev ? dC.get() : c.data(), u.labels = labels[dev].data(), u.counts = counts[dev].data();
    u.shift = &shift[dev], u.repaired = &repaired[dev];
    FRUGAL_CHECK_OK(KMeansUpdate(dev ? CudaContext() : Context{}, u));
  }
  FRUGAL_CHECK(repaired[0] == 11 && repaired[1] == 11);
  FRUGAL_CHECK(labels[0] == labels[1] && counts[0] == counts[1]);
  FRUGAL_CHECK(dC.Download() == c);
  std::vector<int32_t> chosen[2] = {std::vector<int32_t>(s.K), std::vector<int32_t>(s.K)};
  for (int dev = 0; dev < 2; ++dev) {
    KMeansPlusPlusParams p;
    p.n = s.n, p.dim = s.dim, p.K = s.K, p.X = dev ? dX.get() : X.data(), p.seed = 5;
    p.centroids = dev ? dC.get() : c.data(), p.chosen = chosen[dev].data();
    FRUGAL_CHECK_OK(KMeansPlusPlus(dev ? CudaContext() : Context{}, p));
  }
  FRUGAL_CHECK(chosen[0] == chosen[1]);
  FRUGAL_CHECK(dC.Download() == c);
}

int main() { return frugal::test::RunAllOnCuda(); }
