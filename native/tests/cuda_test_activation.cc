// GELU, sigmoid, their backwards and softmax on CUDA against the scalar
// references (double, rounded once), through the front end and through the
// launchers directly.
// Tolerances: GELU within 1e-6 + 1e-6·|ref| (erff is within 2 ulp; for very
// negative x, 1 + erf cancels, so the error is absolute, about |x|·2⁻²³);
// the backward within 2e-6 + 2e-6·|ref|; softmax within 1e-7 + 3e-5·|ref| (float
// sums of up to 5000 terms in a fixed tree); sigmoid within 1e-38 + 5e-7·|ref|
// (expf within 2 ulp, one add, one divide: a few ulp relative; below x ≈ −88.7
// expf(−x) overflows and y = 0 where the reference's subnormal is below 3e-39),
// its backward within 1e-38 + 5e-7·|ref| (y − y² in one fmaf, one multiply).
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "check.h"
#include "device_buffer.h"
#include "cuda/activation.h"

using namespace frugal;
using frugal::test::CudaContext;
using frugal::test::DeviceBuffer;
using frugal::test::RandomVector;

namespace {

const int64_t kSizes[] = {1, 7, 17, 33, 255, 257, 100003};

std::vector<float> Scaled(size_t n, uint32_t seed, float scale) {
  std::vector<float> v = RandomVector(n, seed);
  for (float& x : v) x *= scale;
  return v;
}

}  // namespace

FRUGAL_TEST(cuda_gelu_matches_the_reference) {
  for (int64_t n : kSizes) {
    // One spare element in front: offset 1 runs the unaligned (scalar) path.
    for (int64_t shift : {0, 1}) {
      const std::string name = "n " + std::to_string(n) + " shift " + std::to_string(shift);
      const auto x = Scaled(n + shift, 1, 6.0f), dy = RandomVector(n + shift, 2);
      std::vector<float> y(n), dx(n);
      FRUGAL_CHECK_OK(GeluReference(n, x.data() + shift, y.data()));
      FRUGAL_CHECK_OK(GeluBackwardReference(n, x.data() + shift, dy.data() + shift, dx.data()));
      DeviceBuffer<float> d_x(x), d_dy(dy), d_y(n + shift), d_dx(n + shift);
      FRUGAL_CHECK_OK(Gelu(CudaContext(), n, d_x.get() + shift, d_y.get() + shift));
      FRUGAL_EXPECT_CLOSE(d_y.Download().data() + shift, y.data(), n, 1e-6, 1e-6, "gelu " + name);
      FRUGAL_CHECK_OK(GeluCuda(n, d_x.get() + shift, d_y.get() + shift, nullptr));
      FRUGAL_EXPECT_CLOSE(d_y.Download().data() + shift, y.data(), n, 1e-6, 1e-6, "gelu (launcher) " + name);
      FRUGAL_CHECK_OK(GeluBackward(CudaContext(), n, d_x.get() + shift, d_dy.get() + shift, d_dx.get() + shift));
      FRUGAL_EXPECT_CLOSE(d_dx.Download().data() + shift, dx.data(), n, 2e-6, 2e-6, "gelu backward " + name);
      FRUGAL_CHECK_OK(GeluBackwardCuda(n, d_x.get() + shift, d_dy.get() + shift, d_dx.get() + shift, nullptr));
      FRUGAL_EXPECT_CLOSE(d_dx.Download().data() + shift, dx.data(), n, 2e-6, 2e-6,
                          "gelu backward (launcher) " + name);
      // In place: y = gelu(x) over x, dx = dy·gelu'(x) over dy.
      FRUGAL_CHECK_OK(GeluBackward(CudaContext(), n, d_x.get() + shift, d_dy.get() + shift, d_dy.get() + shift));
      FRUGAL_EXPECT_CLOSE(d_dy.Download().data() + shift, dx.data(), n, 2e-6, 2e-6, "gelu backward in place " + name);
      FRUGAL_CHECK_OK(Gelu(CudaContext(), n, d_x.get() + shift, d_x.get() + shift));
      FRUGAL_EXPECT_CLOSE(d_x.Download().data() + shift, y.data(), n, 1e-6, 1e-6, "gelu in place " + name);
    }
  }
}

FRUGAL_TEST(cuda_sigmoid_matches_the_reference) {
  for (int64_t n : kSizes) {
    for (int64_t shift : {0, 1}) {  // offset 1 runs the unaligned (scalar) path
      const std::string name = "n " + std::to_string(n) + " shift " + std::to_string(shift);
      auto x = Scaled(n + shift, 5, 120.0f);  // crosses both saturations
      const float edges[] = {100.0f, -100.0f, 1e30f, -1e30f, INFINITY, -INFINITY, 0.0f};
      for (size_t k = 0; k < 7 && k < static_cast<size_t>(n); ++k) x[shift + k] = edges[k];
      const auto dy = RandomVector(n + shift, 6);
      std::vector<float> y(n), dx(n);
      FRUGAL_CHECK_OK(SigmoidReference(n, x.data() + shift, y.data()));
      DeviceBuffer<float> d_x(x), d_dy(dy), d_y(n + shift), d_dx(n + shift);
      FRUGAL_CHECK_OK(Sigmoid(CudaContext(), n, d_x.get() + shift, d_y.get() + shift));
      const std::vector<float> got = d_y.Download();
      FRUGAL_EXPECT_CLOSE(got.data() + shift, y.data(), n, 1e-38, 5e-7, "sigmoid " + name);
      for (size_t k = 0; k < 7 && k < static_cast<size_t>(n); ++k) {
        const float want = edges[k] == 0.0f ? 0.5f : (edges[k] > 0 ? 1.0f : 0.0f);
        FRUGAL_CHECK(got[shift + k] == want) << name << " x " << edges[k] << ": " << got[shift + k];
      }
      FRUGAL_CHECK_OK(SigmoidCuda(n, d_x.get() + shift, d_y.get() + shift, nullptr));
      FRUGAL_EXPECT_CLOSE(d_y.Download().data() + shift, y.data(), n, 1e-38, 5e-7, "sigmoid (launcher) " + name);
      // The backward from the device's own forward output.
      FRUGAL_CHECK_OK(SigmoidBackwardReference(n, got.data() + shift, dy.data() + shift, dx.data()));
      FRUGAL_CHECK_OK(SigmoidBackward(CudaContext(), n, d_y.get() + shift, d_dy.get() + shift, d_dx.get() + shift));
      FRUGAL_EXPECT_CLOSE(d_dx.Download().data() + shift, dx.data(), n, 1e-38, 5e-7, "sigmoid backward " + name);
      FRUGAL_CHECK_OK(SigmoidBackwardCuda(n, d_y.get() + shift, d_dy.get() + shift, d_dx.get() + shift, nullptr));
      FRUGAL_EXPECT_CLOSE(d_dx.Download().data() + shift, dx.data(), n, 1e-38, 5e-7,
                          "sigmoid backward (launcher) " + name);
      // In place: dx over dy, then y over x.
      FRUGAL_CHECK_OK(SigmoidBackward(CudaContext(), n, d_y.get() + shift, d_dy.get() + shift, d_dy.get() + shift));
      FRUGAL_EXPECT_CLOSE(d_dy.Download().data() + shift, dx.data(), n, 1e-38, 5e-7, "sigmoid backward in place " + name);
      FRUGAL_CHECK_OK(Sigmoid(CudaContext(), n, d_x.get() + shift, d_x.get() + shift));
      FRUGAL_EXPECT_CLOSE(d_x.Download().data() + shift, y.data(), n, 1e-38, 5e-7, "sigmoid in place " + name);
    }
  }
}

FRUGAL_TEST(cuda_sigmoid_propagates_nan) {
  std::vector<float> x = {NAN, 1.0f, -NAN, 0.0f, 2.0f};
  DeviceBuffer<float> d_x(x), d_y(x.size()), d_dx(x.size());
  FRUGAL_CHECK_OK(Sigmoid(CudaContext(), 5, d_x.get(), d_y.get()));
  FRUGAL_CHECK_OK(SigmoidBackward(CudaContext(), 5, d_y.get(), d_x.get(), d_dx.get()));
  const std::vector<float> y = d_y.Download(), dx = d_dx.Download();
  FRUGAL_CHECK(std::isnan(y[0]) && std::isnan(y[2]) && y[3] == 0.5f) << y[0] << " " << y[2] << " " << y[3];
  FRUGAL_CHECK(std::isnan(dx[0]) && std::isnan(dx[2]) && dx[3] == 0.0f) << dx[0] << " " << dx[3];
}

FRUGAL_TEST(cuda_softmax_matches_the_reference) {
  struct Shape {
    int64_t rows, cols;
  };
  // Warp-per-row (cols <= 1024) and block-per-row kernels, and their boundary.
  for (Shape s : {Shape{1, 1}, Shape{7, 17}, Shape{33, 255}, Shape{17, 257}, Shape{5, 1024}, Shape{3, 1025},
                  Shape{2, 5000}, Shape{64, 3072}, Shape{1000, 33}}) {
    const std::string name = "rows " + std::to_string(s.rows) + " cols " + std::to_string(s.cols);
    const size_t n = s.rows * s.cols;
    auto x = Scaled(n, 3, 8.0f);
    x[0] = 1000.0f;  // exp would overflow without the max subtraction
    if (s.cols > 2) x[n - 1] = -INFINITY;  // exp(-inf) = 0, no NaN
    std::vector<float> y(n);
    FRUGAL_CHECK_OK(SoftmaxReference(s.rows, s.cols, x.data(), y.data()));
    DeviceBuffer<float> d_x(x), d_y(n);
    FRUGAL_CHECK_OK(Softmax(CudaContext(), s.rows, s.cols, d_x.get(), d_y.get()));
    FRUGAL_EXPECT_CLOSE(d_y.Download().data(), y.data(), n, 1e-7, 3e-5, "softmax " + name);
    FRUGAL_CHECK_OK(SoftmaxCuda(s.rows, s.cols, d_x.get(), d_y.get(), nullptr));
    FRUGAL_EXPECT_CLOSE(d_y.Download().data(), y.data(), n, 1e-7, 3e-5, "softmax (launcher) " + name);
    FRUGAL_CHECK_OK(Softmax(CudaContext(), s.rows, s.cols, d_x.get(), d_x.get()));
    FRUGAL_EXPECT_CLOSE(d_x.Download().data(), y.data(), n, 1e-7, 3e-5, "softmax in place " + name);
  }
}

FRUGAL_TEST(cuda_softmax_propagates_nan_within_its_row) {
  const int64_t rows = 3, cols = 40;
  auto x = RandomVector(rows * cols, 4);
  x[cols + 5] = NAN;  // row 1 only
  DeviceBuffer<float> d_x(x), d_y(rows * cols);
  FRUGAL_CHECK_OK(Softmax(CudaContext(), rows, cols, d_x.get(), d_y.get()));
  const std::vector<float> y = d_y.Download();
  for (int64_t j = 0; j < cols; ++j) {
    FRUGAL_CHECK(std::isfinite(y[j]) && std::isfinite(y[2 * cols + j])) << "finite rows, column " << j;
    FRUGAL_CHECK(std::isnan(y[cols + j])) << "NaN row, column " << j;
  }
}

int main() { return frugal::test::RunAllOnCuda(); }
