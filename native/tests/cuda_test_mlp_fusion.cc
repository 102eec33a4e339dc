// The fused FFN on CUDA against the double references: forward within
// 1e-5·(d + 5K) absolute, backward within 2e-5·5·(d + K + tokens), as the CPU
// test states (fp32 GEMM sums in another order), GELU and ReLU, with and without
// counts, and no tokens.
#include <string>
#include <vector>

#include "check.h"
#include "device_buffer.h"
#include "frugal/mlp_fusion.h"

using namespace frugal;
using frugal::test::CudaContext;
using frugal::test::DeviceBuffer;
using frugal::test::RandomVector;

FRUGAL_TEST(cuda_fused_ffn_matches_the_reference) {
  struct Shape {
    int64_t tokens, d, K;
  };
  for (Shape s : {Shape{1, 1, 1}, Shape{7, 17, 7}, Shape{257, 33, 255}, Shape{512, 128, 96}}) {
    for (Activation act : {Activation::kGelu, Activation::kRelu}) {
      for (bool with_counts : {false, true}) {
        const std::string what = "tokens " + std::to_string(s.tokens) + " d " + std::to_string(s.d) + " K " +
                                 std::to_string(s.K) + (act == Activation::kRelu ? " relu" : " gelu") +
                                 (with_counts ? " counts" : "");
        const auto x = RandomVector(s.tokens * s.d, 1), W1 = RandomVector(s.K * s.d, 2), b1 = RandomVector(s.K, 3);
        const auto W2 = RandomVector(s.d * s.K, 4), b2 = RandomVector(s.d, 5), dy = RandomVector(s.tokens * s.d, 6);
        std::vector<float> counts;
        for (int64_t k = 0; k < s.K; ++k) counts.push_back(static_cast<float>(1 + (k * 7) % 5));
        DeviceBuffer<float> dx_(x), dW1(W1), db1(b1), dW2(W2), db2(b2), dcounts(counts), ddy(dy);
        DeviceBuffer<float> dpre(s.tokens * s.K), dyv(s.tokens * s.d);
        std::vector<float> pre(s.tokens * s.K), y(s.tokens * s.d);
        FusedFfnParams f;
        f.tokens = s.tokens, f.d = s.d, f.K = s.K, f.activation = act;
        f.x = x.data(), f.W1 = W1.data(), f.b1 = b1.data(), f.W2 = W2.data(), f.b2 = b2.data();
        f.counts = with_counts ? counts.data() : nullptr, f.pre = pre.data(), f.y = y.data();
        FRUGAL_CHECK_OK(FusedFfnReference(f));
        f.x = dx_.get(), f.W1 = dW1.get(), f.b1 = db1.get(), f.W2 = dW2.get(), f.b2 = db2.get();
        f.counts = with_counts ? dcounts.get() : nullptr, f.pre = dpre.get(), f.y = dyv.get();
        FRUGAL_CHECK_OK(FusedFfn(CudaContext(), f));
        FRUGAL_EXPECT_CLOSE(dpre.Download().data(), pre.data(), pre.size(), 2e-6 * s.d, 1e-5, what + " pre");
        FRUGAL_EXPECT_CLOSE(dyv.Download().data(), y.data(), y.size(), 1e-5 * (s.d + 5 * s.K), 1e-5, what + " y");

        // The backward from the reference pre.
        DeviceBuffer<float> dpre_ref(pre), gdx(s.tokens * s.d), gW1(s.K * s.d), gb1(s.K), gW2(s.d * s.K), gb2(s.d);
        std::vector<float> wdx(s.tokens * s.d), wW1(s.K * s.d), wb1(s.K), wW2(s.d * s.K), wb2(s.d);
        FusedFfnBackwardParams b;
        b.tokens = s.tokens, b.d = s.d, b.K = s.K, b.activation = act;
        b.x = x.data(), b.W1 = W1.data(), b.W2 = W2.data(), b.counts = with_counts ? counts.data() : nullptr;
        b.pre = pre.data(), b.dy = dy.data();
        b.dx = wdx.data(), b.dW1 = wW1.data(), b.db1 = wb1.data(), b.dW2 = wW2.data(), b.db2 = wb2.data();
        FRUGAL_CHECK_OK(FusedFfnBackwardReference(b));
        b.x = dx_.get(), b.W1 = dW1.get(), b.W2 = dW2.get(), b.counts = with_counts ? dcounts.get() : nullptr;
        b.pre = dpre_ref.get(), b.dy = ddy.get();
        b.dx = gdx.get(), b.dW1 = gW1.get(), b.db1 = gb1.get(), b.dW2 = gW2.get(), b.db2 = gb2.get();
        FRUGAL_CHECK_OK(FusedFfnBackward(CudaContext(), b));
        const double tol = 2e-5 * (s.d + s.K + s.tokens) * 5;
        FRUGAL_EXPECT_CLOSE(gdx.Download().data(), wdx.data(), wdx.size(), tol, 1e-4, what + " dx");
        FRUGAL_EXPECT_CLOSE(gW1.Download().data(), wW1.data(), wW1.size(), tol, 1e-4, what + " dW1");
        FRUGAL_EXPECT_CLOSE(gb1.Download().data(), wb1.data(), wb1.size(), tol, 1e-4, what + " db1");
        FRUGAL_EXPECT_CLOSE(gW2.Download().data(), wW2.data(), wW2.size(), tol, 1e-4, what + " dW2");
        FRUGAL_EXPECT_CLOSE(gb2.Download().data(), wb2.data(), wb2.size(), tol, 1e-4, what + " db2");
      }
    }
  }
}

FRUGAL_TEST(cuda_fused_ffn_backward_with_no_tokens_gives_zeros) {
  DeviceBuffer<float> gW1(std::vector<float>(15, 9.0f)), gW2(std::vector<float>(15, 9.0f)), gb1(3), gb2(5), dx(1);
  FusedFfnBackwardParams b;
  b.tokens = 0, b.d = 5, b.K = 3, b.dx = dx.get(), b.dW1 = gW1.get(), b.db1 = gb1.get(), b.dW2 = gW2.get(), b.db2 = gb2.get();
  FRUGAL_CHECK_OK(FusedFfnBackward(CudaContext(), b));
  FRUGAL_CHECK(gW1.Download() == std::vector<float>(15, 0.0f) && gW2.Download() == std::vector<float>(15, 0.0f));
}

int main() { return frugal::test::RunAllOnCuda(); }
