// LayerNorm on CUDA against the scalar reference (double sums), through the
// front end (Context on Device::kCuda) and through the launchers directly.
// Tolerances (the CUDA kernels sum in float, in a fixed tree): y, mean, rstd
// within 1e-5 + 1e-5·|ref|; dx within 2e-5 + 1e-4·|ref|; dgamma/dbeta, sums over
// all rows, within 1e-6·rows + 1e-5 + 1e-4·|ref|.
#include <cstdint>
#include <string>
#include <vector>

#include "check.h"
#include "device_buffer.h"
#include "cuda/layer_norm.h"

using namespace frugal;
using frugal::test::CudaContext;
using frugal::test::DeviceBuffer;
using frugal::test::RandomVector;

namespace {

struct Shape {
  int64_t rows, cols;
};
// Awkward sizes, long rows (256 threads per row), and enough rows for several
// dgamma/dbeta chunks (64 rows each, at most 256 chunks).
const Shape kShapes[] = {{1, 1},   {7, 17},   {33, 255},  {17, 257},  {3, 3000},
                         {300, 768}, {1000, 7}, {20000, 5}, {129, 2049}};

// x with a non-zero mean and spread, so the mean subtraction matters.
std::vector<float> Input(size_t n, uint32_t seed) {
  std::vector<float> x = RandomVector(n, seed);
  for (float& v : x) v = 3.0f * v + 1.5f;
  return x;
}

std::string Name(Shape s) { return "rows " + std::to_string(s.rows) + " cols " + std::to_string(s.cols); }

}  // namespace

FRUGAL_TEST(cuda_layer_norm_forward_matches_the_reference) {
  for (Shape s : kShapes) {
    const size_t n = s.rows * s.cols;
    const auto x = Input(n, 1), gamma = RandomVector(s.cols, 2), beta = RandomVector(s.cols, 3);
    std::vector<float> y(n), mean(s.rows), rstd(s.rows);
    FRUGAL_CHECK_OK(LayerNormReference({s.rows, s.cols, x.data(), gamma.data(), beta.data(), 1e-5f, y.data(),
                                        mean.data(), rstd.data()}));
    DeviceBuffer<float> dx(x), dg(gamma), db(beta), dy(n), dmean(s.rows), drstd(s.rows);
    const LayerNormParams p{s.rows, s.cols, dx.get(), dg.get(), db.get(), 1e-5f, dy.get(), dmean.get(), drstd.get()};
    for (bool launcher : {false, true}) {
      const std::string name = Name(s) + (launcher ? " (launcher)" : "");
      FRUGAL_CHECK_OK(launcher ? LayerNormCuda(p, nullptr) : LayerNorm(CudaContext(), p));
      FRUGAL_EXPECT_CLOSE(dy.Download().data(), y.data(), n, 1e-5, 1e-5, "y " + name);
      FRUGAL_EXPECT_CLOSE(dmean.Download().data(), mean.data(), mean.size(), 1e-5, 1e-5, "mean " + name);
      FRUGAL_EXPECT_CLOSE(drstd.Download().data(), rstd.data(), rstd.size(), 1e-5, 1e-5, "rstd " + name);
    }
    // mean and rstd are optional outputs.
    FRUGAL_CHECK_OK(LayerNorm(CudaContext(), {s.rows, s.cols, dx.get(), dg.get(), db.get(), 1e-5f, dy.get(),
                                              nullptr, nullptr}));
    FRUGAL_EXPECT_CLOSE(dy.Download().data(), y.data(), n, 1e-5, 1e-5, "y without stats " + Name(s));
  }
}

FRUGAL_TEST(cuda_layer_norm_backward_matches_the_reference) {
  for (Shape s : kShapes) {
    const size_t n = s.rows * s.cols;
    const auto x = Input(n, 4), gamma = RandomVector(s.cols, 5), beta = RandomVector(s.cols, 6);
    const auto dy = RandomVector(n, 7);
    std::vector<float> y(n), mean(s.rows), rstd(s.rows);
    FRUGAL_CHECK_OK(LayerNormReference({s.rows, s.cols, x.data(), gamma.data(), beta.data(), 1e-5f, y.data(),
                                        mean.data(), rstd.data()}));
    std::vector<float> dx(n), dgamma(s.cols), dbeta(s.cols);
    FRUGAL_CHECK_OK(LayerNormBackwardReference({s.rows, s.cols, dy.data(), x.data(), gamma.data(), mean.data(),
                                                rstd.data(), dx.data(), dgamma.data(), dbeta.data()}));
    DeviceBuffer<float> d_dy(dy), d_x(x), d_gamma(gamma), d_mean(mean), d_rstd(rstd);
    DeviceBuffer<float> d_dx(n), d_dgamma(s.cols), d_dbeta(s.cols);
    const LayerNormBackwardParams p{s.rows,     s.cols,     d_dy.get(),     d_x.get(),     d_gamma.get(),
                                    d_mean.get(), d_rstd.get(), d_dx.get(), d_dgamma.get(), d_dbeta.get()};
    const double param_atol = 1e-6 * static_cast<double>(s.rows) + 1e-5;
    for (bool launcher : {false, true}) {
      const std::string name = Name(s) + (launcher ? " (launcher)" : "");
      FRUGAL_CHECK_OK(launcher ? LayerNormBackwardCuda(p, nullptr) : LayerNormBackward(CudaContext(), p));
      FRUGAL_EXPECT_CLOSE(d_dx.Download().data(), dx.data(), n, 2e-5, 1e-4, "dx " + name);
      FRUGAL_EXPECT_CLOSE(d_dgamma.Download().data(), dgamma.data(), dgamma.size(), param_atol, 1e-4,
                          "dgamma " + name);
      FRUGAL_EXPECT_CLOSE(d_dbeta.Download().data(), dbeta.data(), dbeta.size(), param_atol, 1e-4, "dbeta " + name);
    }
    // Deterministic: a second run gives the same bits.
    const std::vector<float> first = d_dgamma.Download();
    FRUGAL_CHECK_OK(LayerNormBackward(CudaContext(), p));
    FRUGAL_CHECK(d_dgamma.Download() == first) << "dgamma differs between runs, " << Name(s);
    // dx alone (no parameter gradients).
    LayerNormBackwardParams dx_only = p;
    dx_only.dgamma = dx_only.dbeta = nullptr;
    FRUGAL_CHECK_OK(LayerNormBackward(CudaContext(), dx_only));
    FRUGAL_EXPECT_CLOSE(d_dx.Download().data(), dx.data(), n, 2e-5, 1e-4, "dx only " + Name(s));
  }
}

int main() { return frugal::test::RunAllOnCuda(); }
