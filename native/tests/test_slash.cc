// slash family: projection (forward, batch and per-sample backward) and the fused
// output block (forward, backward from y and by recomputation) at every ISA level
// against the double references; thread-count independence (bitwise); JR-WARP's
// prompt ops; bad arguments.
#include <cmath>
#include <cstdint>
#include <vector>

#include "check.h"
#include "frugal/context.h"
#include "frugal/slash.h"

using namespace frugal;
using test::ForEachIsa;

namespace {

struct Shape {
  int64_t layers, dim, hidden;
};
const Shape kShapes[] = {{1, 1, 1}, {3, 7, 5}, {2, 17, 33}, {1, 33, 257}, {2, 64, 600}, {1, 9, 1100}};
const uint64_t kSeeds[] = {0, 11, (uint64_t{1} << 40) + 3};

ProjectionParams Projection(const Shape& s, uint64_t seed, ProjectionDist dist) {
  ProjectionParams p;
  p.seed = seed;
  p.layers = s.layers;
  p.dim = s.dim;
  p.hidden = s.hidden;
  p.dist = dist;
  return p;
}

// Shifts are sums of dim terms of size ~1/√dim: fp32 rounding and normals a few
// ulp from the reference stay well inside 2e-5·√dim absolute.
double ProjectionTolerance(int64_t n) { return 2e-5 * std::sqrt(static_cast<double>(n)) + 1e-6; }

FRUGAL_TEST(project_matches_reference_at_every_isa) {
  const Context ctx;
  for (const Shape& s : kShapes) {
    for (uint64_t seed : kSeeds) {
      for (ProjectionDist dist : {ProjectionDist::kNormal, ProjectionDist::kRademacher}) {
        const ProjectionParams p = Projection(s, seed, dist);
        const std::vector<float> z = test::RandomVector(s.dim, static_cast<uint32_t>(seed + s.dim));
        std::vector<float> want(s.layers * s.hidden);
        FRUGAL_CHECK_OK(SlashProjectReference(p, z.data(), want.data()));
        ForEachIsa([&](Isa) {
          std::vector<float> got(want.size(), NAN);
          FRUGAL_CHECK_OK(SlashProject(ctx, p, z.data(), got.data()));
          FRUGAL_EXPECT_CLOSE(got.data(), want.data(), got.size(), ProjectionTolerance(s.dim), 1e-5, "shifts");
        });
      }
    }
  }
}

FRUGAL_TEST(project_backward_matches_reference_at_every_isa) {
  const Context ctx;
  for (const Shape& s : kShapes) {
    for (int64_t batch : {1, 2, 3, 7, 8, 17, 33, 40}) {
      for (ProjectionDist dist : {ProjectionDist::kNormal, ProjectionDist::kRademacher}) {
        const ProjectionParams p = Projection(s, 11, dist);
        const std::vector<float> g = test::RandomVector(batch * s.layers * s.hidden, static_cast<uint32_t>(batch));
        std::vector<float> want(batch * s.dim);
        FRUGAL_CHECK_OK(SlashProjectBackwardReference(p, batch, g.data(), want.data()));
        ForEachIsa([&](Isa) {
          std::vector<float> got(want.size(), NAN);
          FRUGAL_CHECK_OK(SlashProjectBackward(ctx, p, batch, g.data(), got.data()));
          FRUGAL_EXPECT_CLOSE(got.data(), want.data(), got.size(), ProjectionTolerance(s.layers * s.hidden), 1e-5, "dz");
        });
      }
    }
  }
}

struct Block {
  int64_t rows, in, hidden, tokens;
  std::vector<float> a, Wo, c, h, shift, gamma, beta, dy;
  OutputBlockParams Params() const {
    OutputBlockParams p;
    p.rows = rows;
    p.in = in;
    p.hidden = hidden;
    p.a = a.data();
    p.Wo = Wo.data();
    p.c = c.data();
    p.h = h.data();
    p.shift = shift.data();
    p.gamma = gamma.data();
    p.beta = beta.data();
    return p;
  }
};

Block MakeBlock(int64_t samples, int64_t tokens, int64_t in, int64_t hidden, uint32_t seed) {
  Block b;
  b.rows = samples * tokens;
  b.in = in;
  b.hidden = hidden;
  b.tokens = tokens;
  b.a = test::RandomVector(b.rows * in, seed);
  b.Wo = test::RandomVector(hidden * in, seed + 1);
  b.c = test::RandomVector(hidden, seed + 2);
  b.h = test::RandomVector(b.rows * hidden, seed + 3);
  b.shift = test::RandomVector(hidden, seed + 4);
  b.gamma = test::RandomVector(hidden, seed + 5);
  for (float& g : b.gamma) g += 1.5f;
  b.beta = test::RandomVector(hidden, seed + 6);
  b.dy = test::RandomVector(b.rows * hidden, seed + 7);
  return b;
}

struct Grads {
  std::vector<float> dh, dc, dshift, dgamma, dbeta, per_sample, da, dWo;
  Grads(const Block& b)
      : dh(b.rows * b.hidden, NAN), dc(b.hidden, NAN), dshift(b.hidden, NAN), dgamma(b.hidden, NAN),
        dbeta(b.hidden, NAN), per_sample(b.rows / b.tokens * b.hidden, NAN), da(b.rows * b.in, NAN),
        dWo(b.hidden * b.in, NAN) {}
  OutputBlockGrads View(int64_t tokens) {
    OutputBlockGrads g;
    g.dh = dh.data();
    g.dc = dc.data();
    g.dshift = dshift.data();
    g.dgamma = dgamma.data();
    g.dbeta = dbeta.data();
    g.dshiftPerSample = per_sample.data();
    g.tokensPerSample = tokens;
    g.da = da.data();
    g.dWo = dWo.data();
    return g;
  }
};

// Tolerances: pre is a dot product of length `in` (fp32 GEMM), the backward adds
// sums over rows; both are relative to fp64 and scaled by the terms summed.
void ExpectGradsClose(const Grads& got, const Grads& want, const Block& b) {
  const double rows = static_cast<double>(b.rows), in = static_cast<double>(b.in);
  FRUGAL_EXPECT_CLOSE(got.dh.data(), want.dh.data(), got.dh.size(), 2e-4, 1e-3, "dh");
  FRUGAL_EXPECT_CLOSE(got.dc.data(), want.dc.data(), got.dc.size(), 2e-4 * std::sqrt(rows), 1e-3, "dc");
  FRUGAL_EXPECT_CLOSE(got.dshift.data(), want.dshift.data(), got.dshift.size(), 2e-4 * std::sqrt(rows), 1e-3, "dshift");
  FRUGAL_EXPECT_CLOSE(got.dgamma.data(), want.dgamma.data(), got.dgamma.size(), 2e-4 * std::sqrt(rows), 1e-3, "dgamma");
  FRUGAL_EXPECT_CLOSE(got.dbeta.data(), want.dbeta.data(), got.dbeta.size(), 1e-5 * rows, 1e-4, "dbeta");
  FRUGAL_EXPECT_CLOSE(got.per_sample.data(), want.per_sample.data(), got.per_sample.size(), 2e-4 * std::sqrt(rows), 1e-3,
                      "dshiftPerSample");
  FRUGAL_EXPECT_CLOSE(got.da.data(), want.da.data(), got.da.size(), 2e-4 * std::sqrt(in + b.hidden), 1e-3, "da");
  FRUGAL_EXPECT_CLOSE(got.dWo.data(), want.dWo.data(), got.dWo.size(), 2e-4 * std::sqrt(rows), 1e-3, "dWo");
}

FRUGAL_TEST(output_block_matches_reference_at_every_isa) {
  const Context ctx;
  const int64_t shapes[][4] = {{1, 1, 1, 1}, {2, 3, 6, 5}, {3, 5, 17, 12}, {1, 7, 33, 257}, {4, 17, 64, 33}, {2, 9, 255, 100}};
  for (const auto& s : shapes) {
    Block b = MakeBlock(s[0], s[1], s[2], s[3], static_cast<uint32_t>(s[2] * 7 + s[3]));
    const OutputBlockParams p = b.Params();
    std::vector<float> y_ref(b.rows * b.hidden), mean_ref(b.rows), rstd_ref(b.rows);
    FRUGAL_CHECK_OK(SlashOutputBlockReference(p, y_ref.data(), mean_ref.data(), rstd_ref.data()));
    Grads want(b);
    FRUGAL_CHECK_OK(SlashOutputBlockBackwardReference(p, b.dy.data(), want.View(b.tokens)));
    ForEachIsa([&](Isa) {
      std::vector<float> y(y_ref.size(), NAN), mean(b.rows, NAN), rstd(b.rows, NAN);
      FRUGAL_CHECK_OK(SlashOutputBlock(ctx, p, y.data(), mean.data(), rstd.data()));
      FRUGAL_EXPECT_CLOSE(y.data(), y_ref.data(), y.size(), 2e-5 * std::sqrt(static_cast<double>(b.in)) + 1e-5, 1e-4, "y");
      FRUGAL_EXPECT_CLOSE(mean.data(), mean_ref.data(), mean.size(), 1e-5 * std::sqrt(static_cast<double>(b.in)), 1e-4, "mean");
      FRUGAL_EXPECT_CLOSE(rstd.data(), rstd_ref.data(), rstd.size(), 0.0, 1e-4, "rstd");
      for (bool with_y : {true, false}) {
        Grads got(b);
        FRUGAL_CHECK_OK(SlashOutputBlockBackward(ctx, p, b.dy.data(), with_y ? y.data() : nullptr, mean.data(),
                                                 rstd.data(), got.View(b.tokens)));
        ExpectGradsClose(got, want, b);
      }
    });
  }
}

FRUGAL_TEST(output_block_backward_recomputes_pre_when_gamma_has_a_zero) {
  const Context ctx;
  Block b = MakeBlock(2, 3, 17, 9, 5);
  b.gamma[4] = 0.0f;
  const OutputBlockParams p = b.Params();
  std::vector<float> y(b.rows * b.hidden), mean(b.rows), rstd(b.rows);
  FRUGAL_CHECK_OK(SlashOutputBlock(ctx, p, y.data(), mean.data(), rstd.data()));
  Grads want(b), got(b);
  FRUGAL_CHECK_OK(SlashOutputBlockBackwardReference(p, b.dy.data(), want.View(b.tokens)));
  FRUGAL_CHECK_OK(SlashOutputBlockBackward(ctx, p, b.dy.data(), y.data(), mean.data(), rstd.data(), got.View(b.tokens)));
  ExpectGradsClose(got, want, b);
}

FRUGAL_TEST(optional_outputs_may_be_null) {
  const Context ctx;
  Block b = MakeBlock(2, 4, 8, 16, 9);
  b.shift.clear();  // no shift: a plain post-LN output block
  OutputBlockParams p = b.Params();
  p.shift = nullptr;
  std::vector<float> y(b.rows * b.hidden), y_ref(y.size()), mean(b.rows), rstd(b.rows);
  FRUGAL_CHECK_OK(SlashOutputBlockReference(p, y_ref.data(), nullptr, nullptr));
  FRUGAL_CHECK_OK(SlashOutputBlock(ctx, p, y.data(), nullptr, nullptr));
  FRUGAL_EXPECT_CLOSE(y.data(), y_ref.data(), y.size(), 1e-4, 1e-4, "y without mean/rstd");
  FRUGAL_CHECK_OK(SlashOutputBlock(ctx, p, y.data(), mean.data(), rstd.data()));
  Grads want(b);
  FRUGAL_CHECK_OK(SlashOutputBlockBackwardReference(p, b.dy.data(), want.View(b.tokens)));
  std::vector<float> dh(b.rows * b.hidden);
  OutputBlockGrads only;
  only.dh = dh.data();
  FRUGAL_CHECK_OK(SlashOutputBlockBackward(ctx, p, b.dy.data(), y.data(), mean.data(), rstd.data(), only));
  FRUGAL_EXPECT_CLOSE(dh.data(), want.dh.data(), dh.size(), 2e-4, 1e-3, "dh alone");
}

FRUGAL_TEST(results_do_not_depend_on_the_thread_count) {
  const Context ctx;
  const int saved = NumThreads();
  const ProjectionParams p = Projection({3, 200, 700}, 5, ProjectionDist::kNormal);
  const std::vector<float> z = test::RandomVector(p.dim, 1);
  const std::vector<float> g = test::RandomVector(19 * p.layers * p.hidden, 2);
  Block b = MakeBlock(4, 50, 48, 96, 3);
  std::vector<float> shifts1, dz1, y1, dh1, dgamma1;
  for (int threads : {1, 2, 3, 8}) {
    FRUGAL_CHECK_OK(SetNumThreads(threads));
    std::vector<float> shifts(p.layers * p.hidden), dz(19 * p.dim);
    FRUGAL_CHECK_OK(SlashProject(ctx, p, z.data(), shifts.data()));
    FRUGAL_CHECK_OK(SlashProjectBackward(ctx, p, 19, g.data(), dz.data()));
    std::vector<float> y(b.rows * b.hidden), mean(b.rows), rstd(b.rows);
    FRUGAL_CHECK_OK(SlashOutputBlock(ctx, b.Params(), y.data(), mean.data(), rstd.data()));
    Grads gr(b);
    FRUGAL_CHECK_OK(SlashOutputBlockBackward(ctx, b.Params(), b.dy.data(), y.data(), mean.data(), rstd.data(), gr.View(b.tokens)));
    if (threads == 1) {
      shifts1 = shifts;
      dz1 = dz;
      y1 = y;
      dh1 = gr.dh;
      dgamma1 = gr.dgamma;
    } else {
      FRUGAL_CHECK(shifts == shifts1) << "shifts differ at " << threads << " threads";
      FRUGAL_CHECK(dz == dz1) << "dz differs at " << threads << " threads";
      FRUGAL_CHECK(y == y1) << "y differs at " << threads << " threads";
      FRUGAL_CHECK(gr.dh == dh1) << "dh differs at " << threads << " threads";
      FRUGAL_CHECK(gr.dgamma == dgamma1) << "dgamma differs at " << threads << " threads";
    }
  }
  FRUGAL_CHECK_OK(SetNumThreads(saved));
}

FRUGAL_TEST(prompt_ops_move_rows_and_sum_prompts) {
  const Context ctx;
  const int64_t H = 3;
  const std::vector<int32_t> offsets = {0, 2, 2, 5};  // samples of 2, 0 and 3 tokens
  std::vector<float> x(5 * H), prompt = {10, 20, 30};
  for (size_t k = 0; k < x.size(); ++k) x[k] = static_cast<float>(k);
  std::vector<float> out(8 * H, NAN);
  FRUGAL_CHECK_OK(SlashPromptInsert(ctx, offsets.data(), 3, H, x.data(), prompt.data(), out.data()));
  const std::vector<float> want = {10, 20, 30, 0, 1, 2, 3, 4, 5, 10, 20, 30, 10, 20, 30, 6, 7, 8, 9, 10, 11, 12, 13, 14};
  FRUGAL_CHECK(out == want) << "promptInsert";
  std::vector<float> dx(5 * H, NAN), dprompt(H, NAN);
  FRUGAL_CHECK_OK(SlashPromptExtract(ctx, offsets.data(), 3, H, out.data(), dx.data(), dprompt.data()));
  FRUGAL_CHECK(dx == x) << "promptExtract dx";
  FRUGAL_CHECK((dprompt == std::vector<float>{30, 60, 90})) << "promptExtract dprompt";
  const std::vector<int32_t> inserted = {0, 3, 4, 8};
  FRUGAL_CHECK_OK(SlashPromptAdd(ctx, inserted.data(), 3, H, out.data(), prompt.data()));
  FRUGAL_CHECK(out[0] == 20 && out[9] == 20 && out[12] == 20 && out[3] == 0) << "promptAdd";
  FRUGAL_CHECK_OK(SlashPromptSum(ctx, inserted.data(), 3, H, out.data(), dprompt.data()));
  FRUGAL_CHECK((dprompt == std::vector<float>{60, 120, 180})) << "promptSum";
  const std::vector<float> c = {1, 2, 3};
  std::vector<float> folded(H);
  FRUGAL_CHECK_OK(SlashFoldShift(ctx, H, c.data(), prompt.data(), folded.data()));
  FRUGAL_CHECK((folded == std::vector<float>{11, 22, 33})) << "foldShift";
}

FRUGAL_TEST(empty_batches_and_bad_arguments) {
  const Context ctx;
  std::vector<float> z(4, 1.0f), out(64, 0.0f);
  ProjectionParams p = Projection({2, 4, 8}, 1, ProjectionDist::kNormal);
  FRUGAL_CHECK_OK(SlashProjectBackward(ctx, p, 0, nullptr, nullptr));
  p.dim = 0;
  FRUGAL_CHECK(SlashProject(ctx, p, z.data(), out.data()).code() == Code::kShape);
  p.dim = 4;
  p.layers = -1;
  FRUGAL_CHECK(SlashProject(ctx, p, z.data(), out.data()).code() == Code::kShape);
  p.layers = 2;
  p.dist = static_cast<ProjectionDist>(7);
  FRUGAL_CHECK(SlashProject(ctx, p, z.data(), out.data()).code() == Code::kRange);
  p.dist = ProjectionDist::kNormal;
  FRUGAL_CHECK(SlashProject(ctx, p, nullptr, out.data()).code() == Code::kNative);
  FRUGAL_CHECK(SlashProjectBackward(ctx, p, -1, out.data(), z.data()).code() == Code::kShape);

  Block b = MakeBlock(2, 3, 4, 5, 1);
  OutputBlockParams bp = b.Params();
  std::vector<float> y(b.rows * b.hidden), mean(b.rows), rstd(b.rows);
  bp.eps = 0.0f;
  FRUGAL_CHECK(SlashOutputBlock(ctx, bp, y.data(), mean.data(), rstd.data()).code() == Code::kRange);
  bp.eps = 1e-5f;
  bp.gamma = nullptr;
  FRUGAL_CHECK(SlashOutputBlock(ctx, bp, y.data(), mean.data(), rstd.data()).code() == Code::kNative);
  bp = b.Params();
  Grads g(b);
  OutputBlockGrads view = g.View(4);  // 6 rows are not samples of 4 tokens
  FRUGAL_CHECK(SlashOutputBlockBackward(ctx, bp, b.dy.data(), nullptr, mean.data(), rstd.data(), view).code() ==
               Code::kShape);
  // No rows: the sums are zero.
  bp.rows = 0;
  Grads empty(b);
  FRUGAL_CHECK_OK(SlashOutputBlockBackward(ctx, bp, nullptr, nullptr, nullptr, nullptr, empty.View(3)));
  FRUGAL_CHECK(empty.dc[0] == 0.0f && empty.dgamma[4] == 0.0f && empty.dWo[0] == 0.0f) << "empty sums";

  const std::vector<int32_t> bad = {0, 3, 2};
  FRUGAL_CHECK(SlashPromptInsert(ctx, bad.data(), 2, 1, out.data(), z.data(), out.data()).code() == Code::kShape);
  const std::vector<int32_t> empty_sample = {0, 0, 2};
  FRUGAL_CHECK(SlashPromptAdd(ctx, empty_sample.data(), 2, 1, out.data(), z.data()).code() == Code::kShape);
}

}  // namespace

FRUGAL_TEST_MAIN
