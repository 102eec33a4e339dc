// dp family on CUDA against the CPU (same inputs copied to the device). Exits 77
// (skipped) when no device is present.
#include <string>
#include <vector>

#include "check.h"
#include "device_buffer.h"
#include "frugal/cuda.h"
#include "cuda/dp.h"

using namespace frugal;
using frugal::test::DeviceBuffer;
using frugal::test::RandomVector;

FRUGAL_TEST(cuda_norms_and_clipped_sums_equal_the_cpu) {
  struct Shape { int64_t B, T, din, dout; };
  for (Shape s : {Shape{1, 1, 1, 1}, Shape{7, 17, 33, 255}, Shape{3, 257, 17, 7}, Shape{32, 128, 96, 80}}) {
    const std::string name = "B=" + std::to_string(s.B) + " T=" + std::to_string(s.T);
    const auto A = RandomVector(s.B * s.T * s.din, 1), G = RandomVector(s.B * s.T * s.dout, 2);
    auto factors = RandomVector(s.B, 3);
    DeviceBuffer<float> dA(A), dG(G), dF(factors), dW(std::vector<float>(s.B)), dBn(std::vector<float>(s.B));
    DeviceBuffer<float> dGrad(std::vector<float>(s.din * s.dout)), dBias(std::vector<float>(s.dout));
    LinearGradParams p{s.B, s.T, s.din, s.dout, A.data(), G.data()};
    LinearGradParams dp{s.B, s.T, s.din, s.dout, dA.get(), dG.get()};
    std::vector<float> w(s.B), b(s.B), grad(s.din * s.dout), bias(s.dout);
    for (NormMethod m : {NormMethod::kGram, NormMethod::kMaterialize}) {
      FRUGAL_CHECK_OK(LinearGradNorms(Context{}, p, m, w.data(), b.data()));
      FRUGAL_CHECK_OK(LinearGradNorms(test::CudaContext(), dp, m, dW.get(), dBn.get()));
      FRUGAL_EXPECT_CLOSE(dW.Download().data(), w.data(), w.size(), 1e-5, 1e-4, "weight norms " + name);
      FRUGAL_EXPECT_CLOSE(dBn.Download().data(), b.data(), b.size(), 1e-5, 1e-4, "bias norms " + name);
    }
    FRUGAL_CHECK_OK(ClippedLinearGrad(Context{}, p, factors.data(), grad.data(), bias.data()));
    FRUGAL_CHECK_OK(ClippedLinearGrad(test::CudaContext(), dp, dF.get(), dGrad.get(), dBias.get()));
    const double atol = 1e-5 * s.B * s.T;
    FRUGAL_EXPECT_CLOSE(dGrad.Download().data(), grad.data(), grad.size(), atol, 1e-4, "weight " + name);
    FRUGAL_EXPECT_CLOSE(dBias.Download().data(), bias.data(), bias.size(), atol, 1e-4, "bias " + name);
    // Kept per-sample gradients: the norms and the clipped sum from them.
    DeviceBuffer<float> dPs(static_cast<size_t>(s.B * s.din * s.dout));
    std::vector<float> ps(s.B * s.din * s.dout);
    FRUGAL_CHECK_OK(LinearGradNorms(Context{}, p, NormMethod::kMaterialize, w.data(), nullptr, ps.data()));
    FRUGAL_CHECK_OK(LinearGradNorms(test::CudaContext(), dp, NormMethod::kMaterialize, dW.get(), nullptr, dPs.get()));
    FRUGAL_EXPECT_CLOSE(dPs.Download().data(), ps.data(), ps.size(), 1e-5 * s.T, 1e-4, "per-sample gradients " + name);
    FRUGAL_EXPECT_CLOSE(dW.Download().data(), w.data(), w.size(), 1e-5, 1e-4, "kept norms " + name);
    FRUGAL_CHECK_OK(ClippedLinearGrad(test::CudaContext(), dp, dF.get(), dGrad.get(), dBias.get(), dPs.get()));
    FRUGAL_EXPECT_CLOSE(dGrad.Download().data(), grad.data(), grad.size(), atol, 1e-4, "weight from kept " + name);
    FRUGAL_EXPECT_CLOSE(dBias.Download().data(), bias.data(), bias.size(), atol, 1e-4, "bias with kept " + name);
  }
}

FRUGAL_TEST(cuda_clip_rows_factors_and_noise_equal_the_cpu) {
  const int64_t B = 33, p = 257;
  const auto rows = RandomVector(B * p, 4);
  DeviceBuffer<float> dRows{rows}, dSum{std::vector<float>(p)}, dF{std::vector<float>(B)};
  std::vector<float> sum(p), f(B);
  FRUGAL_CHECK_OK(ClipRows(Context{}, rows.data(), B, p, 0.5f, ClipRule::kAbadi, sum.data(), f.data()));
  FRUGAL_CHECK_OK(ClipRows(test::CudaContext(), dRows.get(), B, p, 0.5f, ClipRule::kAbadi, dSum.get(), dF.get()));
  FRUGAL_EXPECT_CLOSE(dF.Download().data(), f.data(), B, 1e-6, 1e-5, "clipRows factors");
  FRUGAL_EXPECT_CLOSE(dSum.Download().data(), sum.data(), p, 1e-5, 1e-4, "clipRows sum");
  for (bool secure : {false, true}) {
    auto t = RandomVector(10007, 5);
    DeviceBuffer<float> dT(t);
    FRUGAL_CHECK_OK(AddNoise(Context{}, t.data(), t.size(), 0.3f, {5, 2, kTagDpNoise}, 9, secure));
    FRUGAL_CHECK_OK(AddNoise(test::CudaContext(), dT.get(), t.size(), 0.3f, {5, 2, kTagDpNoise}, 9, secure));
    FRUGAL_EXPECT_CLOSE(dT.Download().data(), t.data(), t.size(), 1e-5, 1e-5, secure ? "secure noise" : "noise");
  }
}

FRUGAL_TEST(cuda_empty_batches_give_the_cpu_results) {
  // The empty-size rule holds on every device: zeros where the CPU writes zeros, bias
  // norms where only din is 0, the rule's factor of a zero norm for empty rows.
  struct Shape { int64_t B, T, din, dout; };
  for (Shape s : {Shape{0, 3, 4, 5}, Shape{3, 0, 4, 5}, Shape{3, 4, 0, 5}, Shape{3, 4, 5, 0}}) {
    const std::string name = "B=" + std::to_string(s.B) + " T=" + std::to_string(s.T) + " din=" + std::to_string(s.din) +
                             " dout=" + std::to_string(s.dout);
    const auto A = RandomVector(s.B * s.T * s.din, 1), G = RandomVector(s.B * s.T * s.dout, 2);
    const std::vector<float> factors(s.B, 0.5f), stale(64, 7.0f);
    DeviceBuffer<float> dA(A), dG(G), dF(factors), dW(stale), dBn(stale), dGrad(stale), dBias(stale);
    LinearGradParams p{s.B, s.T, s.din, s.dout, A.data(), G.data()};
    LinearGradParams dp{s.B, s.T, s.din, s.dout, dA.get(), dG.get()};
    std::vector<float> w(stale), b(stale), grad(stale), bias(stale);
    FRUGAL_CHECK_OK(LinearGradNorms(Context{}, p, NormMethod::kAuto, w.data(), b.data()));
    FRUGAL_CHECK_OK(LinearGradNorms(test::CudaContext(), dp, NormMethod::kAuto, dW.get(), dBn.get()));
    FRUGAL_EXPECT_CLOSE(dW.Download().data(), w.data(), w.size(), 1e-6, 1e-5, "weight norms " + name);
    FRUGAL_EXPECT_CLOSE(dBn.Download().data(), b.data(), b.size(), 1e-6, 1e-5, "bias norms " + name);
    FRUGAL_CHECK_OK(ClippedLinearGrad(Context{}, p, factors.data(), grad.data(), bias.data()));
    FRUGAL_CHECK_OK(ClippedLinearGrad(test::CudaContext(), dp, dF.get(), dGrad.get(), dBias.get()));
    FRUGAL_EXPECT_CLOSE(dGrad.Download().data(), grad.data(), grad.size(), 1e-6, 1e-5, "weight " + name);
    FRUGAL_EXPECT_CLOSE(dBias.Download().data(), bias.data(), bias.size(), 1e-6, 1e-5, "bias " + name);
  }
  for (int64_t B : {0, 3}) {
    const int64_t width = B == 0 ? 4 : 0;
    std::vector<float> sum(4, 7.0f), f(4, 7.0f);
    DeviceBuffer<float> dSum(sum), dRows(std::vector<float>(1)), dFac(f);
    FRUGAL_CHECK_OK(ClipRows(Context{}, nullptr, B, width, 1.0f, ClipRule::kAbadi, sum.data(), f.data()));
    FRUGAL_CHECK_OK(ClipRows(test::CudaContext(), dRows.get(), B, width, 1.0f, ClipRule::kAbadi, dSum.get(), dFac.get()));
    FRUGAL_EXPECT_CLOSE(dSum.Download().data(), sum.data(), sum.size(), 0.0, 0.0, "clipRows sum B=" + std::to_string(B));
    FRUGAL_EXPECT_CLOSE(dFac.Download().data(), f.data(), f.size(), 0.0, 0.0, "clipRows factors B=" + std::to_string(B));
  }
}

int main() { return frugal::test::RunAllOnCuda(); }
