// GradDrop on CUDA against the scalar references, through the front end
// (Context on Device::kCuda). Masks and apply must be bit-identical to the CPU
// (the drop decision is an integer compare on the same Philox words); the
// masked weight gradient within 1e-5·√(tokens+1) absolute + 1e-5 relative of
// the double-precision oracle (fp32 sums of products in [-1, 1]), on awkward
// shapes, every granularity, beta 0 (old never read) and 0.5, and the block
// shapes that make the row/column compaction and the tile-live list matter.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "check.h"
#include "device_buffer.h"
#include "frugal/graddrop.h"

using namespace frugal;
using frugal::test::CudaContext;
using frugal::test::DeviceBuffer;

namespace {

const MaskGranularity kGranularities[] = {MaskGranularity::kElement, MaskGranularity::kRow, MaskGranularity::kColumn,
                                          MaskGranularity::kBlock, MaskGranularity::kTensor};

GradMask MaskOf(int64_t rows, int64_t cols, MaskGranularity g, double p, int64_t br, int64_t bc) {
  GradMask m;
  m.rows = rows;
  m.cols = cols;
  m.granularity = g;
  m.blockRows = br;
  m.blockCols = bc;
  m.p = p;
  m.rescale = true;
  m.seed = 0x123456789abcULL;  // above 2³²
  m.step = 0xfffffffeu;
  m.layer = 7;
  return m;
}

std::string Name(const GradMask& m) {
  return "granularity " + std::to_string(static_cast<int>(m.granularity)) + " [" + std::to_string(m.rows) + ", " +
         std::to_string(m.cols) + "] block [" + std::to_string(m.blockRows) + ", " + std::to_string(m.blockCols) +
         "] p " + std::to_string(m.p);
}

}  // namespace

FRUGAL_TEST(cuda_masks_and_apply_are_bit_exact) {
  const struct {
    int64_t rows, cols;
  } shapes[] = {{1, 1}, {7, 33}, {17, 255}, {1, 1000}, {300, 257}};
  for (const auto& s : shapes) {
    for (MaskGranularity g : kGranularities) {
      for (double p : {0.0, 0.1, 0.5, 0.97, 1.0}) {
        const GradMask m = MaskOf(s.rows, s.cols, g, p, 5, 9);
        const size_t n = static_cast<size_t>(s.rows * s.cols);
        std::vector<float> want(n);
        FRUGAL_CHECK_OK(GradDropMaskReference(m, want.data()));
        DeviceBuffer<float> got(n);
        FRUGAL_CHECK_OK(GradDropMask(CudaContext(), m, got.get()));
        FRUGAL_CHECK(got.Download() == want) << "mask " << Name(m);

        std::vector<float> grad = test::RandomVector(n, 5);
        grad[0] = std::numeric_limits<float>::quiet_NaN();  // a dropped NaN must become 0
        std::vector<float> want_grad = grad;
        FRUGAL_CHECK_OK(GradDropApplyReference(m, want_grad.data()));
        DeviceBuffer<float> applied(grad);
        FRUGAL_CHECK_OK(GradDropApply(CudaContext(), m, applied.get()));
        const std::vector<float> back = applied.Download();
        for (size_t k = 0; k < n; ++k) {
          const float a = back[k], w = want_grad[k];
          FRUGAL_CHECK(a == w || (std::isnan(a) && std::isnan(w))) << "apply " << Name(m) << " element " << k;
        }
      }
    }
  }
}

FRUGAL_TEST(cuda_masked_weight_gradient_matches_the_oracle) {
  const struct {
    int64_t tokens, din, dout;
  } sizes[] = {{1, 1, 1}, {10, 33, 17}, {300, 65, 70}, {513, 257, 129}, {64, 512, 384}};
  // Blocks that divide nothing, that match the 32/64/128 tiles, and one wider than the tensor.
  const struct {
    int64_t br, bc;
  } blocks[] = {{5, 9}, {32, 32}, {64, 128}, {1000, 3}};
  for (const auto& z : sizes) {
    for (MaskGranularity g : kGranularities) {
      for (double p : {0.0, 0.5, 0.9, 1.0}) {
        for (float beta : {0.0f, 0.5f}) {
          for (const auto& b : blocks) {
            if (g != MaskGranularity::kBlock && b.br != 5) continue;
            const GradMask m = MaskOf(z.dout, z.din, g, p, b.br, b.bc);
            const std::vector<float> A = test::RandomVector(z.tokens * z.din, 1);
            const std::vector<float> G = test::RandomVector(z.tokens * z.dout, 2);
            std::vector<float> old = test::RandomVector(z.dout * z.din, 3), old_bias = test::RandomVector(z.dout, 4);
            if (beta == 0.0f) old[0] = std::numeric_limits<float>::quiet_NaN();  // never read
            std::vector<float> want = old, want_bias = old_bias;
            MaskedLinearGradParams rp;
            rp.tokens = z.tokens;
            rp.din = z.din;
            rp.dout = z.dout;
            rp.A = A.data();
            rp.G = G.data();
            rp.weight = want.data();
            rp.bias = want_bias.data();
            rp.beta = beta;
            rp.mask = m;
            FRUGAL_CHECK_OK(GradDropLinearGradReference(rp));

            DeviceBuffer<float> dA(A), dG(G), dw(old), db(old_bias);
            MaskedLinearGradParams lp = rp;
            lp.A = dA.get();
            lp.G = dG.get();
            lp.weight = dw.get();
            lp.bias = db.get();
            FRUGAL_CHECK_OK(GradDropLinearGrad(CudaContext(), lp));
            const std::vector<float> got = dw.Download(), got_bias = db.Download();
            const double atol = 1e-5 * std::sqrt(static_cast<double>(z.tokens) + 1);
            const std::string what = "tokens " + std::to_string(z.tokens) + " beta " + std::to_string(beta) + " " + Name(m);
            FRUGAL_EXPECT_CLOSE(got.data(), want.data(), want.size(), atol, 1e-5, "weight " + what);
            FRUGAL_EXPECT_CLOSE(got_bias.data(), want_bias.data(), want_bias.size(), atol, 1e-5, "bias " + what);
          }
        }
      }
    }
  }
}

FRUGAL_TEST(cuda_dropped_units_of_a_non_finite_product_are_beta_times_old) {
  for (MaskGranularity g : kGranularities) {
    const GradMask m = MaskOf(20, 40, g, 0.5, 5, 9);
    const int64_t tokens = 3;
    const std::vector<float> A(tokens * 40, std::numeric_limits<float>::infinity()), G(tokens * 20, 1.0f);
    std::vector<float> mult(20 * 40);
    FRUGAL_CHECK_OK(GradDropMaskReference(m, mult.data()));
    DeviceBuffer<float> dA(A), dG(G), dw(std::vector<float>(20 * 40, 2.0f));
    MaskedLinearGradParams lp;
    lp.tokens = tokens;
    lp.din = 40;
    lp.dout = 20;
    lp.A = dA.get();
    lp.G = dG.get();
    lp.weight = dw.get();
    lp.beta = 0.25f;
    lp.mask = m;
    FRUGAL_CHECK_OK(GradDropLinearGrad(CudaContext(), lp));
    const std::vector<float> w = dw.Download();
    for (size_t k = 0; k < w.size(); ++k) {
      if (mult[k] == 0.0f) FRUGAL_CHECK(w[k] == 0.5f) << Name(m) << " element " << k << " got " << w[k];
      if (mult[k] != 0.0f) FRUGAL_CHECK(std::isinf(w[k])) << Name(m) << " element " << k;
    }
  }
}

int main() { return frugal::test::RunAllOnCuda(); }
