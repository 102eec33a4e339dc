// The fused FFN of MLP Fusion, forward and backward, at every ISA level against
// the double reference on awkward sizes (GELU and ReLU, with and without cluster
// sizes), the same bits at any thread count, no tokens, and bad arguments.
#include <cmath>
#include <vector>

#include "check.h"
#include "frugal/context.h"
#include "frugal/mlp_fusion.h"

using namespace frugal;
using test::ForEachIsa;
using test::RandomVector;

namespace {

struct Shape {
  int64_t tokens, d, K;
};
const Shape kShapes[] = {{1, 1, 1}, {7, 17, 7}, {33, 65, 33}, {257, 33, 255}, {64, 128, 96}};

struct Problem {
  Shape s;
  std::vector<float> x, W1, b1, W2, b2, counts, dy;
  Problem(const Shape& shape, uint32_t seed) : s(shape) {
    x = RandomVector(s.tokens * s.d, seed);
    W1 = RandomVector(s.K * s.d, seed + 1);
    b1 = RandomVector(s.K, seed + 2);
    W2 = RandomVector(s.d * s.K, seed + 3);
    b2 = RandomVector(s.d, seed + 4);
    dy = RandomVector(s.tokens * s.d, seed + 5);
    for (int64_t k = 0; k < s.K; ++k) counts.push_back(static_cast<float>(1 + (k * 7) % 5));
  }
};

FusedFfnParams Forward(const Problem& q, bool counts, Activation act, float* pre, float* y) {
  FusedFfnParams p;
  p.tokens = q.s.tokens, p.d = q.s.d, p.K = q.s.K;
  p.x = q.x.data(), p.W1 = q.W1.data(), p.b1 = q.b1.data(), p.W2 = q.W2.data(), p.b2 = q.b2.data();
  p.counts = counts ? q.counts.data() : nullptr;
  p.activation = act, p.pre = pre, p.y = y;
  return p;
}

struct Grads {
  std::vector<float> dx, dW1, db1, dW2, db2;
  explicit Grads(const Shape& s) : dx(s.tokens * s.d), dW1(s.K * s.d), db1(s.K), dW2(s.d * s.K), db2(s.d) {}
};

FusedFfnBackwardParams Backward(const Problem& q, bool counts, Activation act, const float* pre, Grads* g) {
  FusedFfnBackwardParams p;
  p.tokens = q.s.tokens, p.d = q.s.d, p.K = q.s.K;
  p.x = q.x.data(), p.W1 = q.W1.data(), p.W2 = q.W2.data(), p.counts = counts ? q.counts.data() : nullptr;
  p.pre = pre, p.dy = q.dy.data(), p.activation = act;
  p.dx = g->dx.data(), p.dW1 = g->dW1.data(), p.db1 = g->db1.data(), p.dW2 = g->dW2.data(), p.db2 = g->db2.data();
  return p;
}

}  // namespace

FRUGAL_TEST(ffn_forward_and_backward_match_reference_at_every_isa) {
  ForEachIsa([](Isa) {
    uint32_t seed = 1;
    for (const Shape& s : kShapes) {
      for (Activation act : {Activation::kGelu, Activation::kRelu}) {
        for (bool counts : {false, true}) {
          const Problem q(s, seed += 10);
          const std::string what = "tokens " + std::to_string(s.tokens) + " d " + std::to_string(s.d) + " K " +
                                   std::to_string(s.K) + (act == Activation::kRelu ? " relu" : " gelu") +
                                   (counts ? " counts" : "");
          test::Guarded pre(s.tokens * s.K), y(s.tokens * s.d);
          std::vector<float> wpre(s.tokens * s.K), wy(s.tokens * s.d);
          FRUGAL_CHECK_OK(FusedFfn(Context{}, Forward(q, counts, act, pre.data(), y.data())));
          FRUGAL_CHECK_GUARDS(pre);
          FRUGAL_CHECK_GUARDS(y);
          FRUGAL_CHECK_OK(FusedFfnReference(Forward(q, counts, act, wpre.data(), wy.data())));
          // fp32 products over d (then K, times counts up to 5) against double sums.
          FRUGAL_EXPECT_CLOSE(pre.data(), wpre.data(), wpre.size(), 2e-6 * s.d, 1e-5, what + " pre");
          FRUGAL_EXPECT_CLOSE(y.data(), wy.data(), wy.size(), 1e-5 * (s.d + 5 * s.K), 1e-5, what + " y");
          // The backward from the reference pre, so only the backward's rounding counts.
          Grads got(s), want(s);
          FRUGAL_CHECK_OK(FusedFfnBackward(Context{}, Backward(q, counts, act, wpre.data(), &got)));
          FRUGAL_CHECK_OK(FusedFfnBackwardReference(Backward(q, counts, act, wpre.data(), &want)));
          const double tol = 2e-5 * (s.d + s.K + s.tokens) * 5;
          FRUGAL_EXPECT_CLOSE(got.dx.data(), want.dx.data(), want.dx.size(), tol, 1e-4, what + " dx");
          FRUGAL_EXPECT_CLOSE(got.dW1.data(), want.dW1.data(), want.dW1.size(), tol, 1e-4, what + " dW1");
          FRUGAL_EXPECT_CLOSE(got.db1.data(), want.db1.data(), want.db1.size(), tol, 1e-4, what + " db1");
          FRUGAL_EXPECT_CLOSE(got.dW2.data(), want.dW2.data(), want.dW2.size(), tol, 1e-4, what + " dW2");
          FRUGAL_EXPECT_CLOSE(got.db2.data(), want.db2.data(), want.db2.size(), tol, 1e-4, what + " db2");
        }
      }
    }
  });
}

FRUGAL_TEST(ffn_gives_the_same_bits_at_any_thread_count_and_unit_counts_equal_none) {
  const Problem q(Shape{300, 96, 130}, 7);
  std::vector<float> runs[3];
  for (int run = 0; run < 3; ++run) {
    FRUGAL_CHECK_OK(SetNumThreads(run == 1 ? 1 : 2));
    std::vector<float> pre(q.s.tokens * q.s.K), y(q.s.tokens * q.s.d);
    Problem r = q;
    if (run == 2) std::fill(r.counts.begin(), r.counts.end(), 1.0f);
    FRUGAL_CHECK_OK(FusedFfn(Context{}, Forward(r, run == 2, Activation::kGelu, pre.data(), y.data())));
    Grads g(q.s);
    FRUGAL_CHECK_OK(FusedFfnBackward(Context{}, Backward(r, run == 2, Activation::kGelu, pre.data(), &g)));
    runs[run] = y;
    for (const auto* v : {&pre, &g.dx, &g.dW1, &g.db1, &g.dW2, &g.db2}) runs[run].insert(runs[run].end(), v->begin(), v->end());
  }
  FRUGAL_CHECK(runs[0] == runs[1]);
  FRUGAL_CHECK(runs[0] == runs[2]);
  FRUGAL_CHECK_OK(SetNumThreads(2));
}

FRUGAL_TEST(ffn_with_no_tokens_and_bad_arguments) {
  const Problem q(Shape{0, 5, 3}, 3);
  Grads g(Shape{0, 5, 3});
  std::fill(g.dW1.begin(), g.dW1.end(), 9.0f);
  std::fill(g.db2.begin(), g.db2.end(), 9.0f);
  FRUGAL_CHECK_OK(FusedFfnBackward(Context{}, Backward(q, true, Activation::kGelu, nullptr, &g)));
  FRUGAL_CHECK(g.dW1 == std::vector<float>(15, 0.0f) && g.db2 == std::vector<float>(5, 0.0f));
  FRUGAL_CHECK_OK(FusedFfn(Context{}, Forward(q, true, Activation::kGelu, nullptr, nullptr)));
  const Problem one(Shape{2, 5, 3}, 4);
  std::vector<float> pre(6), y(10);
  FusedFfnParams p = Forward(one, true, Activation::kNone, pre.data(), y.data());
  FRUGAL_CHECK(FusedFfn(Context{}, p).code() == Code::kRange);
  p = Forward(one, true, Activation::kGelu, pre.data(), y.data());
  p.K = 0;
  FRUGAL_CHECK(FusedFfn(Context{}, p).code() == Code::kShape);
  p.K = 3, p.pre = nullptr;
  FRUGAL_CHECK(FusedFfn(Context{}, p).code() == Code::kNative);
  Grads g2(one.s);
  FusedFfnBackwardParams b = Backward(one, true, Activation::kGelu, pre.data(), &g2);
  b.dy = nullptr;
  FRUGAL_CHECK(FusedFfnBackward(Context{}, b).code() == Code::kNative);
}

FRUGAL_TEST_MAIN
