// slash family on CUDA against the double references and the CPU front end,
// through the front end (Context on Device::kCuda, device buffers) and, for the
// launchers the front end composes, directly. Exits 77 (skipped) without a device.
//
// Tolerances. Shifts and ∂z are fp32 sums of dim (resp. layers·hidden) terms of
// size ~1/√dim whose normals are a few ulp from the reference and whose order
// differs from it: within 2e-5·√n + 1e-6 absolute and 1e-4 relative. Output
// block: y, mean, rstd within 1e-4; ∂pre within 2e-4 (x̂ recovered from y divides
// by gamma, kept ≥ 0.5 in magnitude here); sums over rows within 2e-4·√rows.
// Prompt copies are bit-exact; prompt sums run over b in order, like the CPU.
// Determinism: a second run gives the same bits.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "check.h"
#include "device_buffer.h"
#include "cuda/random.h"
#include "cuda/slash.h"

using namespace frugal;
using frugal::test::CudaContext;
using frugal::test::DeviceBuffer;
using frugal::test::RandomVector;

namespace {

struct Shape {
  int64_t layers, dim, hidden;
};
// Awkward sizes; dim ≤ 32 is one row tile (no row split), dim 33 and 1030 split
// the rows (forward) and, with several column tiles, the (layer, tile) pairs
// (backward); hidden 5 / 33 is one 60-column tile, 257 five with a ragged last one.
const Shape kShapes[] = {{1, 7, 5},   {3, 17, 33}, {1, 33, 257}, {3, 7, 257},
                         {3, 33, 5},  {1, 17, 33}, {3, 300, 61}, {2, 1030, 127}};
const uint64_t kSeeds[] = {0, 11, (uint64_t{1} << 40) + 3};
const ProjectionDist kDists[] = {ProjectionDist::kNormal, ProjectionDist::kRademacher};

ProjectionParams Projection(const Shape& s, uint64_t seed, ProjectionDist dist) {
  ProjectionParams p;
  p.seed = seed;
  p.layers = s.layers;
  p.dim = s.dim;
  p.hidden = s.hidden;
  p.dist = dist;
  return p;
}

std::string Name(const ProjectionParams& p) {
  return "layers " + std::to_string(p.layers) + " dim " + std::to_string(p.dim) + " hidden " +
         std::to_string(p.hidden) + " seed " + std::to_string(p.seed) +
         (p.dist == ProjectionDist::kNormal ? " normal" : " rademacher");
}

double ProjectionTolerance(int64_t n) { return 2e-5 * std::sqrt(static_cast<double>(n)) + 1e-6; }

}  // namespace

FRUGAL_TEST(cuda_project_matches_the_reference) {
  for (const Shape& s : kShapes) {
    for (uint64_t seed : kSeeds) {
      for (ProjectionDist dist : kDists) {
        const ProjectionParams p = Projection(s, seed, dist);
        const std::string name = Name(p);
        const auto z = RandomVector(s.dim, static_cast<uint32_t>(seed + s.dim));
        std::vector<float> want(s.layers * s.hidden);
        FRUGAL_CHECK_OK(SlashProjectReference(p, z.data(), want.data()));
        DeviceBuffer<float> dz(z), dshifts(want.size());
        for (bool launcher : {false, true}) {
          dshifts.Upload(std::vector<float>(want.size(), NAN));
          FRUGAL_CHECK_OK(launcher ? SlashProjectCuda(p, dz.get(), dshifts.get(), nullptr)
                                   : SlashProject(CudaContext(), p, dz.get(), dshifts.get()));
          if (launcher) FRUGAL_CHECK_OK(CudaSynchronize(nullptr));
          FRUGAL_EXPECT_CLOSE(dshifts.Download().data(), want.data(), want.size(), ProjectionTolerance(s.dim), 1e-4,
                              "shifts " + name + (launcher ? " (launcher)" : ""));
        }
        const std::vector<float> first = dshifts.Download();
        FRUGAL_CHECK_OK(SlashProject(CudaContext(), p, dz.get(), dshifts.get()));
        FRUGAL_CHECK(dshifts.Download() == first) << "shifts differ between runs, " << name;
      }
    }
  }
}

// z = e_i picks row i of every W_l: it must be the stream itself, elements
// [i·H, (i+1)·H) of (seed, l, tag 1) times 1/√d, exactly as RandomNormal /
// RandomRademacher give them on the device.
FRUGAL_TEST(cuda_project_regenerates_the_projection_stream_exactly) {
  for (const Shape& s : {Shape{3, 33, 257}, Shape{2, 1030, 127}}) {
    for (uint64_t seed : kSeeds) {
      for (ProjectionDist dist : kDists) {
        const ProjectionParams p = Projection(s, seed, dist);
        const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(s.dim)));
        for (int64_t i : {int64_t{0}, s.dim / 2, s.dim - 1}) {
          std::vector<float> z(s.dim, 0.0f);
          z[i] = 1.0f;
          DeviceBuffer<float> dz(z), dshifts(s.layers * s.hidden), drow(s.hidden);
          FRUGAL_CHECK_OK(SlashProject(CudaContext(), p, dz.get(), dshifts.get()));
          const std::vector<float> shifts = dshifts.Download();
          for (int64_t l = 0; l < s.layers; ++l) {
            const StreamId id{seed, static_cast<uint32_t>(l), kTagProjection};
            const uint64_t offset = static_cast<uint64_t>(i * s.hidden);
            FRUGAL_CHECK_OK(dist == ProjectionDist::kNormal
                                ? RandomNormal(CudaContext(), id, offset, s.hidden, scale, drow.get())
                                : RandomRademacher(CudaContext(), id, offset, s.hidden, scale, drow.get()));
            const std::vector<float> row = drow.Download();
            FRUGAL_CHECK(std::vector<float>(shifts.begin() + l * s.hidden, shifts.begin() + (l + 1) * s.hidden) == row)
                << "row " << i << " of W_" << l << ", " << Name(p);
          }
        }
      }
    }
  }
}

FRUGAL_TEST(cuda_project_backward_matches_the_reference) {
  for (const Shape& s : kShapes) {
    for (uint64_t seed : kSeeds) {
      for (ProjectionDist dist : kDists) {
        for (int64_t batch : {1, 3, 37}) {  // 37: two passes of 32 samples over each tile
          if (batch == 37 && s.dim > 300) continue;
          const ProjectionParams p = Projection(s, seed, dist);
          const std::string name = Name(p) + " batch " + std::to_string(batch);
          const auto g = RandomVector(batch * s.layers * s.hidden, static_cast<uint32_t>(batch + seed));
          std::vector<float> want(batch * s.dim);
          FRUGAL_CHECK_OK(SlashProjectBackwardReference(p, batch, g.data(), want.data()));
          DeviceBuffer<float> dg(g), ddz(want.size());
          for (bool launcher : {false, true}) {
            ddz.Upload(std::vector<float>(want.size(), NAN));
            FRUGAL_CHECK_OK(launcher ? SlashProjectBackwardCuda(p, batch, dg.get(), ddz.get(), nullptr)
                                     : SlashProjectBackward(CudaContext(), p, batch, dg.get(), ddz.get()));
            if (launcher) FRUGAL_CHECK_OK(CudaSynchronize(nullptr));
            FRUGAL_EXPECT_CLOSE(ddz.Download().data(), want.data(), want.size(),
                                ProjectionTolerance(s.layers * s.hidden), 1e-4,
                                "dz " + name + (launcher ? " (launcher)" : ""));
          }
          const std::vector<float> first = ddz.Download();
          FRUGAL_CHECK_OK(SlashProjectBackward(CudaContext(), p, batch, dg.get(), ddz.get()));
          FRUGAL_CHECK(ddz.Download() == first) << "dz differs between runs, " << name;
        }
      }
    }
  }
}

// Per-sample ∂z of sample b equals the plain ∂z of g[b] alone.
FRUGAL_TEST(cuda_project_backward_per_sample_equals_batch_one) {
  const ProjectionParams p = Projection({3, 33, 257}, (uint64_t{1} << 40) + 3, ProjectionDist::kNormal);
  const int64_t batch = 3, per = p.layers * p.hidden;
  const auto g = RandomVector(batch * per, 5);
  DeviceBuffer<float> dg(g), ddz(batch * p.dim);
  FRUGAL_CHECK_OK(SlashProjectBackward(CudaContext(), p, batch, dg.get(), ddz.get()));
  const std::vector<float> all = ddz.Download();
  for (int64_t b = 0; b < batch; ++b) {
    DeviceBuffer<float> dgb(std::vector<float>(g.begin() + b * per, g.begin() + (b + 1) * per)), ddzb(p.dim);
    FRUGAL_CHECK_OK(SlashProjectBackward(CudaContext(), p, 1, dgb.get(), ddzb.get()));
    FRUGAL_EXPECT_CLOSE(ddzb.Download().data(), all.data() + b * p.dim, p.dim, ProjectionTolerance(per), 1e-4,
                        "sample " + std::to_string(b));
  }
}

FRUGAL_TEST(cuda_project_empty_sizes) {
  // batch 0 writes nothing.
  const ProjectionParams p = Projection({2, 17, 33}, 3, ProjectionDist::kNormal);
  DeviceBuffer<float> dg(std::vector<float>(2 * 33, 1.0f)), ddz(std::vector<float>(17, 42.0f));
  FRUGAL_CHECK_OK(SlashProjectBackward(CudaContext(), p, 0, dg.get(), ddz.get()));
  FRUGAL_CHECK(ddz.Download() == std::vector<float>(17, 42.0f)) << "batch 0 wrote dz";
  FRUGAL_CHECK_OK(SlashProjectBackwardCuda(p, 0, dg.get(), ddz.get(), nullptr));
  FRUGAL_CHECK_OK(CudaSynchronize(nullptr));
  FRUGAL_CHECK(ddz.Download() == std::vector<float>(17, 42.0f)) << "batch 0 wrote dz (launcher)";
  // No layers or no columns: ∂z is an empty sum (zero); dim 0: shifts are zero.
  for (Shape s : {Shape{0, 17, 33}, Shape{2, 17, 0}}) {
    FRUGAL_CHECK_OK(SlashProjectBackwardCuda(Projection(s, 3, ProjectionDist::kNormal), 1, dg.get(), ddz.get(), nullptr));
    FRUGAL_CHECK(ddz.Download() == std::vector<float>(17, 0.0f)) << "empty sum, layers " << s.layers;
  }
  DeviceBuffer<float> dshifts(std::vector<float>(2 * 33, 42.0f));
  FRUGAL_CHECK_OK(SlashProjectCuda(Projection({2, 0, 33}, 3, ProjectionDist::kNormal), ddz.get(), dshifts.get(), nullptr));
  FRUGAL_CHECK(dshifts.Download() == std::vector<float>(2 * 33, 0.0f)) << "dim 0";
  // Bad sizes are refused, never launched.
  FRUGAL_CHECK(!SlashProjectCuda(Projection({-1, 3, 3}, 0, ProjectionDist::kNormal), ddz.get(), dshifts.get(), nullptr).ok());
  FRUGAL_CHECK(!SlashProjectBackwardCuda(p, -1, dg.get(), ddz.get(), nullptr).ok());
}

namespace {

// One output block problem with host data and its device copies.
struct Block {
  int64_t rows, in, hidden, tokens;
  std::vector<float> a, Wo, c, h, shift, gamma, beta, dy;

  Block(int64_t rows_, int64_t in_, int64_t hidden_, int64_t tokens_, uint32_t seed)
      : rows(rows_), in(in_), hidden(hidden_), tokens(tokens_) {
    a = RandomVector(rows * in, seed);
    Wo = RandomVector(hidden * in, seed + 1);
    c = RandomVector(hidden, seed + 2);
    h = RandomVector(rows * hidden, seed + 3);
    shift = RandomVector(hidden, seed + 4);
    gamma = RandomVector(hidden, seed + 5);
    for (float& g : gamma) g = g < 0 ? g - 0.5f : g + 0.5f;  // |gamma| ≥ 0.5
    beta = RandomVector(hidden, seed + 6);
    dy = RandomVector(rows * hidden, seed + 7);
  }
  OutputBlockParams Host(bool with_shift) const {
    OutputBlockParams p;
    p.rows = rows, p.in = in, p.hidden = hidden;
    p.a = a.data(), p.Wo = Wo.data(), p.c = c.data(), p.h = h.data();
    p.shift = with_shift ? shift.data() : nullptr;
    p.gamma = gamma.data(), p.beta = beta.data();
    return p;
  }
  std::string Name(bool with_shift) const {
    return "rows " + std::to_string(rows) + " in " + std::to_string(in) + " hidden " + std::to_string(hidden) +
           (with_shift ? " with shift" : " without shift");
  }
};

struct DeviceBlock {
  DeviceBuffer<float> a, Wo, c, h, shift, gamma, beta, dy;
  explicit DeviceBlock(const Block& b)
      : a(b.a), Wo(b.Wo), c(b.c), h(b.h), shift(b.shift), gamma(b.gamma), beta(b.beta), dy(b.dy) {}
  OutputBlockParams Params(const Block& b, bool with_shift) const {
    OutputBlockParams p;
    p.rows = b.rows, p.in = b.in, p.hidden = b.hidden;
    p.a = a.get(), p.Wo = Wo.get(), p.c = c.get(), p.h = h.get();
    p.shift = with_shift ? shift.get() : nullptr;
    p.gamma = gamma.get(), p.beta = beta.get();
    return p;
  }
};

// rows, in, hidden, tokens per sample.
const int64_t kBlocks[][4] = {{1, 1, 1, 1}, {7, 17, 33, 7}, {33, 5, 257, 11}, {18, 33, 5, 3}, {64, 96, 80, 16}};

// Host-side gradients (every output asked) and their device twins.
struct Grads {
  std::vector<float> dh, dc, dshift, dgamma, dbeta, dps, da, dWo;
  explicit Grads(const Block& b)
      : dh(b.rows * b.hidden), dc(b.hidden), dshift(b.hidden), dgamma(b.hidden), dbeta(b.hidden),
        dps(b.rows / b.tokens * b.hidden), da(b.rows * b.in), dWo(b.hidden * b.in) {}
  OutputBlockGrads View(int64_t tokens) {
    OutputBlockGrads g;
    g.dh = dh.data(), g.dc = dc.data(), g.dshift = dshift.data(), g.dgamma = dgamma.data(), g.dbeta = dbeta.data();
    g.dshiftPerSample = dps.data(), g.tokensPerSample = tokens, g.da = da.data(), g.dWo = dWo.data();
    return g;
  }
};

struct DeviceGrads {
  DeviceBuffer<float> dh, dc, dshift, dgamma, dbeta, dps, da, dWo;
  explicit DeviceGrads(const Block& b)
      : dh(b.rows * b.hidden), dc(b.hidden), dshift(b.hidden), dgamma(b.hidden), dbeta(b.hidden),
        dps(b.rows / b.tokens * b.hidden), da(b.rows * b.in), dWo(b.hidden * b.in) {}
  OutputBlockGrads View(int64_t tokens) const {
    OutputBlockGrads g;
    g.dh = dh.get(), g.dc = dc.get(), g.dshift = dshift.get(), g.dgamma = dgamma.get(), g.dbeta = dbeta.get();
    g.dshiftPerSample = dps.get(), g.tokensPerSample = tokens, g.da = da.get(), g.dWo = dWo.get();
    return g;
  }
};

void ExpectGrads(const Block& b, const DeviceGrads& got, Grads& want, const std::string& name) {
  const double rows_atol = 2e-4 * std::sqrt(static_cast<double>(b.rows)) + 1e-5;
  const double tok_atol = 2e-4 * std::sqrt(static_cast<double>(b.tokens)) + 1e-5;
  FRUGAL_EXPECT_CLOSE(got.dh.Download().data(), want.dh.data(), want.dh.size(), 2e-4, 2e-4, "dh " + name);
  FRUGAL_EXPECT_CLOSE(got.dc.Download().data(), want.dc.data(), want.dc.size(), rows_atol, 2e-4, "dc " + name);
  FRUGAL_EXPECT_CLOSE(got.dshift.Download().data(), want.dshift.data(), want.dshift.size(), rows_atol, 2e-4,
                      "dshift " + name);
  FRUGAL_EXPECT_CLOSE(got.dgamma.Download().data(), want.dgamma.data(), want.dgamma.size(), rows_atol, 2e-4,
                      "dgamma " + name);
  FRUGAL_EXPECT_CLOSE(got.dbeta.Download().data(), want.dbeta.data(), want.dbeta.size(), rows_atol, 2e-4,
                      "dbeta " + name);
  FRUGAL_EXPECT_CLOSE(got.dps.Download().data(), want.dps.data(), want.dps.size(), tok_atol, 2e-4,
                      "dshiftPerSample " + name);
  FRUGAL_EXPECT_CLOSE(got.da.Download().data(), want.da.data(), want.da.size(),
                      2e-4 * std::sqrt(static_cast<double>(b.hidden)) + 1e-5, 2e-4, "da " + name);
  FRUGAL_EXPECT_CLOSE(got.dWo.Download().data(), want.dWo.data(), want.dWo.size(), rows_atol, 2e-4, "dWo " + name);
}

}  // namespace

FRUGAL_TEST(cuda_output_block_matches_the_reference) {
  uint32_t seed = 100;
  for (const auto& dims : kBlocks) {
    const Block b(dims[0], dims[1], dims[2], dims[3], seed += 10);
    const DeviceBlock d(b);
    for (bool with_shift : {true, false}) {
      const std::string name = b.Name(with_shift);
      std::vector<float> y(b.rows * b.hidden), mean(b.rows), rstd(b.rows);
      FRUGAL_CHECK_OK(SlashOutputBlockReference(b.Host(with_shift), y.data(), mean.data(), rstd.data()));
      DeviceBuffer<float> dy(y.size()), dmean(b.rows), drstd(b.rows);
      FRUGAL_CHECK_OK(SlashOutputBlock(CudaContext(), d.Params(b, with_shift), dy.get(), dmean.get(), drstd.get()));
      FRUGAL_EXPECT_CLOSE(dy.Download().data(), y.data(), y.size(), 1e-4, 1e-4, "y " + name);
      FRUGAL_EXPECT_CLOSE(dmean.Download().data(), mean.data(), mean.size(), 1e-4, 1e-4, "mean " + name);
      FRUGAL_EXPECT_CLOSE(drstd.Download().data(), rstd.data(), rstd.size(), 1e-4, 1e-4, "rstd " + name);
      // mean and rstd are optional.
      dy.Upload(std::vector<float>(y.size(), NAN));
      FRUGAL_CHECK_OK(SlashOutputBlock(CudaContext(), d.Params(b, with_shift), dy.get(), nullptr, nullptr));
      FRUGAL_EXPECT_CLOSE(dy.Download().data(), y.data(), y.size(), 1e-4, 1e-4, "y without stats " + name);
    }
  }
}

FRUGAL_TEST(cuda_output_block_backward_matches_the_reference) {
  uint32_t seed = 200;
  for (const auto& dims : kBlocks) {
    Block b(dims[0], dims[1], dims[2], dims[3], seed += 10);
    for (bool zero_gamma : {false, true}) {
      // A zero in gamma: x̂ cannot be recovered from y, so pre is recomputed even when y is given.
      if (zero_gamma) b.gamma[b.hidden / 2] = 0.0f;
      const DeviceBlock d(b);
      for (bool with_shift : {true, false}) {
        const OutputBlockParams hp = b.Host(with_shift);
        std::vector<float> y(b.rows * b.hidden), mean(b.rows), rstd(b.rows);
        FRUGAL_CHECK_OK(SlashOutputBlockReference(hp, y.data(), mean.data(), rstd.data()));
        Grads want(b);
        FRUGAL_CHECK_OK(
            SlashOutputBlockBackwardReference(hp, b.dy.data(), want.View(b.tokens)));
        // The device forward's own y, mean and rstd, as training would pass them.
        const OutputBlockParams dp = d.Params(b, with_shift);
        DeviceBuffer<float> dyv(y.size()), dmean(b.rows), drstd(b.rows);
        FRUGAL_CHECK_OK(SlashOutputBlock(CudaContext(), dp, dyv.get(), dmean.get(), drstd.get()));
        for (bool with_y : {true, false}) {
          const std::string name = b.Name(with_shift) + (with_y ? " from y" : " recomputing pre") +
                                   (zero_gamma ? " (a zero in gamma)" : "");
          const DeviceGrads got(b);
          FRUGAL_CHECK_OK(SlashOutputBlockBackward(CudaContext(), dp, d.dy.get(), with_y ? dyv.get() : nullptr,
                                                   dmean.get(), drstd.get(), got.View(b.tokens)));
          ExpectGrads(b, got, want, name);
        }
      }
    }
  }
}

// Only ∂pre asked: every optional output null.
FRUGAL_TEST(cuda_output_block_backward_optional_outputs_may_be_null) {
  const Block b(33, 17, 257, 11, 300);
  const DeviceBlock d(b);
  const OutputBlockParams hp = b.Host(true);
  std::vector<float> y(b.rows * b.hidden), mean(b.rows), rstd(b.rows);
  FRUGAL_CHECK_OK(SlashOutputBlockReference(hp, y.data(), mean.data(), rstd.data()));
  Grads want(b);
  FRUGAL_CHECK_OK(SlashOutputBlockBackwardReference(hp, b.dy.data(), want.View(b.tokens)));
  DeviceBuffer<float> dyv(y), dmean(mean), drstd(rstd), ddh(want.dh.size());
  OutputBlockGrads g;
  g.dh = ddh.get();
  for (const float* yp : {static_cast<const float*>(dyv.get()), static_cast<const float*>(nullptr)}) {
    FRUGAL_CHECK_OK(
        SlashOutputBlockBackward(CudaContext(), d.Params(b, true), d.dy.get(), yp, dmean.get(), drstd.get(), g));
    FRUGAL_EXPECT_CLOSE(ddh.Download().data(), want.dh.data(), want.dh.size(), 2e-4, 2e-4,
                        std::string("dh only") + (yp ? " from y" : " recomputing pre"));
  }
}

FRUGAL_TEST(cuda_fold_shift_and_the_elementwise_launchers) {
  for (int64_t hidden : {1, 5, 33, 257, 100003}) {
    const auto c = RandomVector(hidden, 1), shift = RandomVector(hidden, 2);
    std::vector<float> want(hidden);
    for (int64_t j = 0; j < hidden; ++j) want[j] = c[j] + shift[j];
    DeviceBuffer<float> dc(c), dshift(shift), dout(hidden);
    FRUGAL_CHECK_OK(SlashFoldShift(CudaContext(), hidden, dc.get(), dshift.get(), dout.get()));
    FRUGAL_CHECK(dout.Download() == want) << "fold shift, hidden " << hidden;
    // SlashAddCuda in place (out aliases x).
    FRUGAL_CHECK_OK(SlashAddCuda(hidden, dc.get(), dshift.get(), dc.get(), nullptr));
    FRUGAL_CHECK(dc.Download() == want) << "add in place, hidden " << hidden;
  }
  // SlashUnnormalizeCuda inverts the LayerNorm of the reference forward.
  const Block b(33, 5, 257, 11, 400);
  const OutputBlockParams hp = b.Host(true);
  std::vector<float> y(b.rows * b.hidden), mean(b.rows), rstd(b.rows);
  FRUGAL_CHECK_OK(SlashOutputBlockReference(hp, y.data(), mean.data(), rstd.data()));
  std::vector<float> want(y.size());
  for (int64_t r = 0; r < b.rows; ++r) {
    for (int64_t j = 0; j < b.hidden; ++j) {
      const int64_t e = r * b.hidden + j;
      want[e] = (y[e] - b.beta[j]) / b.gamma[j] / rstd[r] + mean[r];
    }
  }
  DeviceBuffer<float> dy(y), dgamma(b.gamma), dbeta(b.beta), dmean(mean), drstd(rstd), dpre(y.size());
  FRUGAL_CHECK_OK(SlashUnnormalizeCuda(b.rows, b.hidden, dy.get(), dgamma.get(), dbeta.get(), dmean.get(), drstd.get(),
                                       dpre.get(), nullptr));
  FRUGAL_EXPECT_CLOSE(dpre.Download().data(), want.data(), want.size(), 1e-6, 1e-6, "unnormalize");
  // And pre itself, a·Woᵀ + c + h + shift, to LayerNorm accuracy.
  std::vector<float> pre(y.size());
  for (int64_t r = 0; r < b.rows; ++r) {
    for (int64_t j = 0; j < b.hidden; ++j) {
      double s = static_cast<double>(b.c[j]) + b.h[r * b.hidden + j] + b.shift[j];
      for (int64_t k = 0; k < b.in; ++k) s += static_cast<double>(b.a[r * b.in + k]) * b.Wo[j * b.in + k];
      pre[r * b.hidden + j] = static_cast<float>(s);
    }
  }
  FRUGAL_EXPECT_CLOSE(dpre.Download().data(), pre.data(), pre.size(), 1e-4, 1e-4, "unnormalize gives pre");
  FRUGAL_CHECK_OK(SlashUnnormalizeCuda(0, b.hidden, dy.get(), dgamma.get(), dbeta.get(), dmean.get(), drstd.get(),
                                       dpre.get(), nullptr));
  FRUGAL_CHECK_OK(SlashAddCuda(0, dy.get(), dy.get(), dpre.get(), nullptr));
}

namespace {

// Plain loops: the oracle of the prompt ops.
struct PromptCase {
  std::vector<int32_t> offsets;
  int64_t batch() const { return static_cast<int64_t>(offsets.size()) - 1; }
  int64_t total() const { return offsets.back(); }
};

std::string PromptName(const PromptCase& pc, int64_t hidden) {
  std::string s = "offsets {";
  for (int32_t o : pc.offsets) s += std::to_string(o) + ",";
  return s + "} hidden " + std::to_string(hidden);
}

}  // namespace

FRUGAL_TEST(cuda_prompt_insert_and_extract_match_the_cpu) {
  // Empty samples are allowed here (a sample is then its prompt row alone).
  const PromptCase cases[] = {{{0, 3, 3, 7, 8}}, {{0, 1}}, {{0, 0}}, {{0, 5, 6, 6, 6, 40, 41, 300}}};
  for (const PromptCase& pc : cases) {
    for (int64_t hidden : {1, 5, 33, 257}) {
      const std::string name = PromptName(pc, hidden);
      const int64_t B = pc.batch(), T = pc.total();
      const int32_t* off = pc.offsets.data();
      const auto x = RandomVector(T * hidden, 1), prompt = RandomVector(hidden, 2);
      const auto dout = RandomVector((T + B) * hidden, 3);
      std::vector<float> out((T + B) * hidden), dx(T * hidden), dprompt(hidden, 0.0f);
      for (int64_t b = 0; b < B; ++b) {
        for (int64_t j = 0; j < hidden; ++j) {
          out[(off[b] + b) * hidden + j] = prompt[j];
          dprompt[j] += dout[(off[b] + b) * hidden + j];
        }
        for (int64_t t = off[b]; t < off[b + 1]; ++t) {
          for (int64_t j = 0; j < hidden; ++j) {
            out[(t + b + 1) * hidden + j] = x[t * hidden + j];
            dx[t * hidden + j] = dout[(t + b + 1) * hidden + j];
          }
        }
      }
      // The CPU front end agrees with the loops.
      std::vector<float> cpu_out(out.size(), NAN), cpu_dx(dx.size(), NAN), cpu_dprompt(hidden, NAN);
      FRUGAL_CHECK_OK(SlashPromptInsert(Context{}, off, B, hidden, x.data(), prompt.data(), cpu_out.data()));
      FRUGAL_CHECK_OK(SlashPromptExtract(Context{}, off, B, hidden, dout.data(), cpu_dx.data(), cpu_dprompt.data()));
      FRUGAL_CHECK(cpu_out == out) << "cpu insert " << name;
      FRUGAL_CHECK(cpu_dx == dx) << "cpu extract dx " << name;
      FRUGAL_EXPECT_CLOSE(cpu_dprompt.data(), dprompt.data(), hidden, 1e-6, 1e-6, "cpu extract dprompt " + name);

      DeviceBuffer<float> dxv(x), dpv(prompt), doutv(dout), dout_ins(out.size()), ddx(dx.size()), ddp(hidden);
      DeviceBuffer<int32_t> doff(pc.offsets);
      for (bool launcher : {false, true}) {
        const std::string n = name + (launcher ? " (launcher)" : "");
        dout_ins.Upload(std::vector<float>(out.size(), NAN));
        ddx.Upload(std::vector<float>(dx.size(), NAN));
        ddp.Upload(std::vector<float>(hidden, NAN));
        if (launcher) {
          FRUGAL_CHECK_OK(SlashPromptInsertCuda(doff.get(), B, hidden, dxv.get(), dpv.get(), dout_ins.get(), nullptr));
          FRUGAL_CHECK_OK(SlashPromptExtractCuda(doff.get(), B, hidden, doutv.get(), ddx.get(), ddp.get(), nullptr));
          FRUGAL_CHECK_OK(CudaSynchronize(nullptr));
        } else {
          FRUGAL_CHECK_OK(SlashPromptInsert(CudaContext(), off, B, hidden, dxv.get(), dpv.get(), dout_ins.get()));
          FRUGAL_CHECK_OK(SlashPromptExtract(CudaContext(), off, B, hidden, doutv.get(), ddx.get(), ddp.get()));
        }
        FRUGAL_CHECK(dout_ins.Download() == out) << "insert " << n;
        FRUGAL_CHECK(ddx.Download() == dx) << "extract dx " << n;
        FRUGAL_EXPECT_CLOSE(ddp.Download().data(), dprompt.data(), hidden, 1e-6, 1e-6, "extract dprompt " + n);
        FRUGAL_EXPECT_CLOSE(ddp.Download().data(), cpu_dprompt.data(), hidden, 1e-6, 1e-6, "extract vs cpu " + n);
      }
      // dprompt not asked.
      ddx.Upload(std::vector<float>(dx.size(), NAN));
      FRUGAL_CHECK_OK(SlashPromptExtract(CudaContext(), off, B, hidden, doutv.get(), ddx.get(), nullptr));
      FRUGAL_CHECK(ddx.Download() == dx) << "extract dx without dprompt " << name;
    }
  }
  // batch 0: nothing to insert; dprompt is the empty sum.
  const std::vector<int32_t> none = {0};
  DeviceBuffer<float> ddp(std::vector<float>(7, 42.0f)), dummy(7);
  FRUGAL_CHECK_OK(SlashPromptInsert(CudaContext(), none.data(), 0, 7, dummy.get(), dummy.get(), dummy.get()));
  FRUGAL_CHECK_OK(SlashPromptExtract(CudaContext(), none.data(), 0, 7, dummy.get(), dummy.get(), ddp.get()));
  FRUGAL_CHECK(ddp.Download() == std::vector<float>(7, 0.0f)) << "extract, batch 0";
}

FRUGAL_TEST(cuda_prompt_add_and_sum_match_the_cpu) {
  // Every sample non-empty (the prompt position is its first token).
  const PromptCase cases[] = {{{0, 2, 7, 8}}, {{0, 1}}, {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}},
                              {{0, 100, 101, 400}}};
  for (const PromptCase& pc : cases) {
    for (int64_t hidden : {1, 5, 33, 257}) {
      const std::string name = PromptName(pc, hidden);
      const int64_t B = pc.batch(), T = pc.total();
      const int32_t* off = pc.offsets.data();
      const auto x = RandomVector(T * hidden, 4), prompt = RandomVector(hidden, 5);
      std::vector<float> added = x, sum(hidden, 0.0f);
      for (int64_t b = 0; b < B; ++b) {
        for (int64_t j = 0; j < hidden; ++j) {
          added[off[b] * hidden + j] += prompt[j];
          sum[j] += x[off[b] * hidden + j];
        }
      }
      std::vector<float> cpu_added = x, cpu_sum(hidden, NAN);
      FRUGAL_CHECK_OK(SlashPromptAdd(Context{}, off, B, hidden, cpu_added.data(), prompt.data()));
      FRUGAL_CHECK_OK(SlashPromptSum(Context{}, off, B, hidden, x.data(), cpu_sum.data()));
      FRUGAL_CHECK(cpu_added == added) << "cpu add " << name;
      FRUGAL_EXPECT_CLOSE(cpu_sum.data(), sum.data(), hidden, 1e-6, 1e-6, "cpu sum " + name);

      DeviceBuffer<float> dxv(x), dpv(prompt), dsum(hidden);
      DeviceBuffer<int32_t> doff(pc.offsets);
      for (bool launcher : {false, true}) {
        const std::string n = name + (launcher ? " (launcher)" : "");
        dxv.Upload(x);
        dsum.Upload(std::vector<float>(hidden, NAN));
        if (launcher) {
          FRUGAL_CHECK_OK(SlashPromptSumCuda(doff.get(), B, hidden, dxv.get(), dsum.get(), nullptr));
          FRUGAL_CHECK_OK(SlashPromptAddCuda(doff.get(), B, hidden, dxv.get(), dpv.get(), nullptr));
          FRUGAL_CHECK_OK(CudaSynchronize(nullptr));
        } else {
          FRUGAL_CHECK_OK(SlashPromptSum(CudaContext(), off, B, hidden, dxv.get(), dsum.get()));
          FRUGAL_CHECK_OK(SlashPromptAdd(CudaContext(), off, B, hidden, dxv.get(), dpv.get()));
        }
        FRUGAL_CHECK(dxv.Download() == added) << "add " << n;
        FRUGAL_EXPECT_CLOSE(dsum.Download().data(), sum.data(), hidden, 1e-6, 1e-6, "sum " + n);
        FRUGAL_EXPECT_CLOSE(dsum.Download().data(), cpu_sum.data(), hidden, 1e-6, 1e-6, "sum vs cpu " + n);
      }
    }
  }
}

int main() { return frugal::test::RunAllOnCuda(); }
