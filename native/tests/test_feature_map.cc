// Feature maps: every op's front end at every ISA level against the double
// reference on awkward sizes (H or W of 1, 2, 7, 33; C not a multiple of the
// vector width; a dilation wider than the map), channel-slice views (batch
// strides above the dense one, with guard values between batches),
// thread-count independence (bitwise) and bad arguments.
//
// Tolerances (|got − want| <= atol + rtol·|want|, inputs uniform in [-1, 1)):
// elementwise ops 1e-6 / 1e-6, pooling exact; resize 1e-5 / 1e-5 (its sample
// positions are computed in float, as PyTorch does, and the reference's in
// double: an error of ~1e-7·index in the weights); the norms 2e-5 / 2e-5 (dx
// 5e-5); the convolutions 1e-5·√(taps) absolute plus 1e-5 relative for outputs;
// parameter gradients (sums over B·H·W terms in fp32 blocks) 1e-4 / 1e-4.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "check.h"
#include "frugal/context.h"
#include "frugal/feature_map.h"

using namespace frugal;
using test::ForEachIsa;

namespace {

// A B-batch map whose batches sit `extra` floats apart beyond the dense size
// (a channel slice of a wider tensor); the gaps hold sentinels no op may touch.
struct Map {
  int64_t B, dense, extra;
  std::vector<float> v;
  Map(int64_t b, int64_t d, int64_t e, uint32_t seed) : B(b), dense(d), extra(e) {
    v = test::RandomVector(static_cast<size_t>(b * (d + e) + 1), seed);
    for (int64_t i = 0; i < b; ++i) std::fill(gap(i), gap(i) + e, 12345.0f);
  }
  float* gap(int64_t b) { return v.data() + b * (dense + extra) + dense; }
  int64_t stride() const { return extra ? dense + extra : 0; }
  MapIn in() const { return MapIn{v.data(), stride()}; }
  MapOut out() { return MapOut{v.data(), stride()}; }
  // The dense body (batches packed).
  std::vector<float> body() const {
    std::vector<float> d;
    for (int64_t b = 0; b < B; ++b) d.insert(d.end(), v.begin() + b * (dense + extra), v.begin() + b * (dense + extra) + dense);
    return d;
  }
  bool GapsIntact() {
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t i = 0; i < extra; ++i) {
        if (gap(b)[i] != 12345.0f) return false;
      }
    }
    return true;
  }
};

std::vector<float> Positive(size_t n, uint32_t seed) {
  std::vector<float> v = test::RandomVector(n, seed);
  for (float& x : v) x = 1.0f + 0.5f * x;
  return v;
}

std::string Name(const MapShape& s) {
  return "B" + std::to_string(s.B) + " C" + std::to_string(s.C) + " " + std::to_string(s.H) + "x" + std::to_string(s.W);
}

#define CLOSE(got, want, atol, rtol, what)                                                               \
  FRUGAL_EXPECT_CLOSE((got).data(), (want).data(), std::min((got).size(), (want).size()), atol, rtol, what); \
  FRUGAL_CHECK((got).size() == (want).size()) << what

const MapShape kShapes[] = {{2, 3, 7, 33}, {1, 17, 1, 7}, {3, 5, 33, 1}, {2, 9, 2, 2}, {1, 1, 1, 1}, {2, 24, 16, 20}};

// Runs body(threads) at 1, 2 and 3 threads and checks it returns the same bits.
void SameAtAnyThreadCount(const std::function<std::vector<float>()>& body, const std::string& what) {
  const int saved = NumThreads();
  std::vector<float> first;
  for (int threads : {1, 2, 3}) {
    FRUGAL_CHECK_OK(SetNumThreads(threads));
    const std::vector<float> got = body();
    if (threads == 1) {
      first = got;
    } else {
      FRUGAL_CHECK(got.size() == first.size() && std::memcmp(got.data(), first.data(), got.size() * 4) == 0)
          << what << " threads " << threads;
    }
  }
  FRUGAL_CHECK_OK(SetNumThreads(saved));
}

}  // namespace

// ChannelNorm's blocks beside kShapes: planes of a multiple of 1024 floats
// (several copied blocks per task and a tail vector), and channel counts past
// the on-stack copy, where the planes are read in place (AVX-512: the
// backward's from 257 channels, the forward's from 513; AVX2: 513 and 1025).
const MapShape kChannelShapes[] = {{2, 24, 32, 32}, {1, 32, 64, 17}, {1, 300, 3, 7}, {1, 600, 2, 5}, {1, 1100, 1, 3}};

// The group counts to try on C channels: 1, 2, 4 and C where they divide C
// (C/1 … : one channel per group is every pixel's x̂ = 0), plus a mid one.
std::vector<int64_t> NormGroups(int64_t C) {
  std::vector<int64_t> out;
  for (int64_t g : {int64_t{1}, int64_t{2}, int64_t{4}, int64_t{3}, C / 4, C / 2, C}) {
    if (g >= 1 && C % g == 0 && std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
  }
  return out;
}

// The eps of a test on groups of cg channels. Two or three random values can lie
// close enough that σ² ≪ 1e-6, where fp32 x̂ (as PyTorch's) loses digits against
// the double oracle: such small groups take a larger eps. One channel has σ² = 0
// exactly and keeps 1e-6 (rstd = 1000).
float NormEps(int64_t cg) { return cg == 2 || cg == 3 ? 1e-2f : 1e-6f; }

FRUGAL_TEST(channel_norm_matches_reference) {
  ForEachIsa([](Isa) {
    std::vector<MapShape> shapes(std::begin(kShapes), std::end(kShapes));
    shapes.insert(shapes.end(), std::begin(kChannelShapes), std::end(kChannelShapes));
    shapes.push_back(MapShape{2, 68, 32, 32});  // GAB(·, 32)'s four groups of 17 channels
    for (const MapShape& s : shapes) {
      for (int64_t groups : NormGroups(s.C)) {
        const int64_t hw = s.H * s.W, dense = s.C * hw, stats = s.B * groups * hw;
        const std::string what = Name(s) + " groups " + std::to_string(groups);
        Map x(s.B, dense, 5, 1), dy(s.B, dense, 3, 2);
        for (float& v : x.v) v = 2.0f + 3.0f * v;
        const std::vector<float> gamma = Positive(s.C, 3), beta = test::RandomVector(s.C, 4);
        Map y(s.B, dense, 7, 5), wy(s.B, dense, 0, 5);
        std::vector<float> mean(stats), rstd(stats), wmean(stats), wrstd(stats);
        ChannelNormParams p{s, groups, x.in(), gamma.data(), beta.data(), NormEps(s.C / groups), y.out(), mean.data(),
                            rstd.data()};
        ChannelNormParams w = p;
        w.y = wy.out(), w.mean = wmean.data(), w.rstd = wrstd.data();
        FRUGAL_CHECK_OK(ChannelNorm(Context{}, p));
        FRUGAL_CHECK_OK(ChannelNormReference(w));
        FRUGAL_CHECK(y.GapsIntact()) << what;
        CLOSE(y.body(), wy.body(), 2e-5, 2e-5, "y " + what);
        CLOSE(mean, wmean, 2e-5, 2e-5, "mean " + what);
        // One channel per group: σ² = 0, rstd = 1/√eps (1000 at 1e-6).
        CLOSE(rstd, wrstd, 0.0, 2e-5, "rstd " + what);

        Map dx(s.B, dense, 2, 6), wdx(s.B, dense, 0, 6);
        std::vector<float> dg(s.C), db(s.C), wdg(s.C), wdb(s.C);
        ChannelNormBackwardParams q{s,         groups,    dy.in(),   x.in(),   gamma.data(), wmean.data(),
                                    wrstd.data(), dx.out(), dg.data(), db.data()};
        ChannelNormBackwardParams wq = q;
        wq.dx = wdx.out(), wq.dgamma = wdg.data(), wq.dbeta = wdb.data();
        FRUGAL_CHECK_OK(ChannelNormBackward(Context{}, q));
        FRUGAL_CHECK_OK(ChannelNormBackwardReference(wq));
        FRUGAL_CHECK(dx.GapsIntact()) << what;
        CLOSE(dx.body(), wdx.body(), 5e-5, 5e-5, "dx " + what);
        CLOSE(dg, wdg, 1e-4, 1e-4, "dgamma " + what);
        CLOSE(db, wdb, 1e-4, 1e-4, "dbeta " + what);

        // In place (y = x, dx = dy): the same bits.
        if (groups > 1) {
          Map a = x, ad = dy;
          ChannelNormParams ip = p;
          ip.x = a.in(), ip.y = a.out(), ip.mean = ip.rstd = nullptr;
          FRUGAL_CHECK_OK(ChannelNorm(Context{}, ip));
          FRUGAL_CHECK(a.body() == y.body()) << "in place " << what;
          ChannelNormBackwardParams iq = q;
          iq.dy = ad.in(), iq.dx = ad.out(), iq.dgamma = iq.dbeta = nullptr;
          FRUGAL_CHECK_OK(ChannelNormBackward(Context{}, iq));
          FRUGAL_CHECK(ad.body() == dx.body()) << "in place " << what;
        }
      }
    }
  });
}

// Groups > 1 is the one-group op over each channel slice: the same bits as
// separate calls on slice views (statistics [B, groups, hw] vs [B, hw] each).
FRUGAL_TEST(channel_norm_groups_are_slice_norms) {
  ForEachIsa([](Isa) {
    for (const MapShape& s : {MapShape{3, 68, 32, 32}, MapShape{2, 12, 5, 9}}) {
      const int64_t groups = 4, cg = s.C / groups, hw = s.H * s.W, dense = s.C * hw;
      Map x(s.B, dense, 0, 81), dy(s.B, dense, 0, 82);
      const std::vector<float> gamma = Positive(s.C, 83), beta = test::RandomVector(s.C, 84);
      std::vector<float> y(s.B * dense), mean(s.B * groups * hw), rstd(s.B * groups * hw), dx(s.B * dense), dg(s.C),
          db(s.C);
      FRUGAL_CHECK_OK(ChannelNorm(Context{}, ChannelNormParams{s, groups, x.in(), gamma.data(), beta.data(), 1e-6f,
                                                               MapOut{y.data(), 0}, mean.data(), rstd.data()}));
      FRUGAL_CHECK_OK(ChannelNormBackward(
          Context{}, ChannelNormBackwardParams{s, groups, dy.in(), x.in(), gamma.data(), mean.data(), rstd.data(),
                                               MapOut{dx.data(), 0}, dg.data(), db.data()}));
      const MapShape sk{s.B, cg, s.H, s.W};
      for (int64_t k = 0; k < groups; ++k) {
        std::vector<float> yk(s.B * dense), mk(s.B * hw), rk(s.B * hw), dxk(s.B * dense), dgk(cg), dbk(cg);
        const int64_t at = k * cg * hw;
        FRUGAL_CHECK_OK(ChannelNorm(Context{}, ChannelNormParams{sk, 1, MapIn{x.in().data + at, dense},
                                                                 gamma.data() + k * cg, beta.data() + k * cg, 1e-6f,
                                                                 MapOut{yk.data() + at, dense}, mk.data(), rk.data()}));
        for (int64_t b = 0; b < s.B; ++b) {
          for (int64_t i = 0; i < cg * hw; ++i) FRUGAL_CHECK(yk[b * dense + at + i] == y[b * dense + at + i]) << k;
          for (int64_t j = 0; j < hw; ++j) {
            FRUGAL_CHECK(mk[b * hw + j] == mean[(b * groups + k) * hw + j] &&
                         rk[b * hw + j] == rstd[(b * groups + k) * hw + j]) << k;
          }
        }
        FRUGAL_CHECK_OK(ChannelNormBackward(
            Context{}, ChannelNormBackwardParams{sk, 1, MapIn{dy.in().data + at, dense}, MapIn{x.in().data + at, dense},
                                                 gamma.data() + k * cg, mk.data(), rk.data(),
                                                 MapOut{dxk.data() + at, dense}, dgk.data(), dbk.data()}));
        for (int64_t b = 0; b < s.B; ++b) {
          for (int64_t i = 0; i < cg * hw; ++i) FRUGAL_CHECK(dxk[b * dense + at + i] == dx[b * dense + at + i]) << k;
        }
        // The parameter sums' blocks depend on the channel count: close, not equal.
        CLOSE(dgk, std::vector<float>(dg.begin() + k * cg, dg.begin() + (k + 1) * cg), 1e-4, 1e-4, "dgamma slice");
        CLOSE(dbk, std::vector<float>(db.begin() + k * cg, db.begin() + (k + 1) * cg), 1e-4, 1e-4, "dbeta slice");
      }
    }
  });
}

FRUGAL_TEST(group_norm_matches_reference) {
  ForEachIsa([](Isa) {
    for (const MapShape& s : kShapes) {
      for (int64_t groups : {int64_t{1}, s.C}) {
        const int64_t hw = s.H * s.W, dense = s.C * hw;
        Map x(s.B, dense, 4, 11), dy(s.B, dense, 0, 12);
        for (float& v : x.v) v = -3.0f + 2.0f * v;
        const std::vector<float> gamma = Positive(s.C, 13), beta = test::RandomVector(s.C, 14);
        Map y(s.B, dense, 3, 15), wy(s.B, dense, 0, 15);
        std::vector<float> mean(s.B * groups), rstd(s.B * groups), wmean(s.B * groups), wrstd(s.B * groups);
        GroupNormParams p{s, groups, x.in(), gamma.data(), beta.data(), 1e-5f, y.out(), mean.data(), rstd.data()};
        GroupNormParams w = p;
        w.y = wy.out(), w.mean = wmean.data(), w.rstd = wrstd.data();
        FRUGAL_CHECK_OK(GroupNorm(Context{}, p));
        FRUGAL_CHECK_OK(GroupNormReference(w));
        const std::string what = Name(s) + " groups " + std::to_string(groups);
        FRUGAL_CHECK(y.GapsIntact()) << what;
        CLOSE(y.body(), wy.body(), 2e-5, 2e-5, "y " + what);
        CLOSE(mean, wmean, 2e-5, 2e-5, "mean " + what);
        CLOSE(rstd, wrstd, 0.0, 2e-5, "rstd " + what);

        Map dx(s.B, dense, 1, 16), wdx(s.B, dense, 0, 16);
        std::vector<float> dg(s.C), db(s.C), wdg(s.C), wdb(s.C);
        GroupNormBackwardParams q{s, groups, dy.in(), x.in(), gamma.data(), wmean.data(), wrstd.data(), dx.out(),
                                  dg.data(), db.data()};
        GroupNormBackwardParams wq = q;
        wq.dx = wdx.out(), wq.dgamma = wdg.data(), wq.dbeta = wdb.data();
        FRUGAL_CHECK_OK(GroupNormBackward(Context{}, q));
        FRUGAL_CHECK_OK(GroupNormBackwardReference(wq));
        FRUGAL_CHECK(dx.GapsIntact()) << what;
        CLOSE(dx.body(), wdx.body(), 5e-5, 5e-5, "dx " + what);
        CLOSE(dg, wdg, 1e-4, 1e-4, "dgamma " + what);
        CLOSE(db, wdb, 1e-4, 1e-4, "dbeta " + what);
      }
    }
  });
}

namespace {

struct DwCase {
  MapShape s;
  int64_t kh, kw, dil_h, dil_w, pad_h, pad_w;
  bool gelu;
};

const DwCase kDwCases[] = {
    {{2, 3, 7, 33}, 3, 3, 1, 1, 1, 1, true},   {{1, 5, 5, 5}, 3, 3, 7, 7, 7, 7, false},
    {{2, 4, 33, 7}, 3, 3, 2, 5, 2, 5, true},   {{1, 3, 1, 33}, 1, 3, 1, 1, 0, 1, true},
    {{2, 17, 2, 2}, 3, 3, 1, 1, 1, 1, false},  {{1, 2, 16, 40}, 5, 2, 1, 3, 0, 4, false},
    {{3, 2, 9, 18}, 3, 3, 5, 5, 5, 5, true},   {{1, 1, 1, 1}, 1, 1, 1, 1, 0, 0, true},
};

}  // namespace

FRUGAL_TEST(depthwise_conv_matches_reference) {
  ForEachIsa([](Isa) {
    for (const DwCase& k : kDwCases) {
      const MapShape& s = k.s;
      const int64_t oh = ConvOutputSize(s.H, k.kh, k.dil_h, k.pad_h), ow = ConvOutputSize(s.W, k.kw, k.dil_w, k.pad_w);
      const int64_t dense = s.C * s.H * s.W, odense = s.C * oh * ow, taps = k.kh * k.kw;
      const std::string what = Name(s) + " k" + std::to_string(k.kh) + "x" + std::to_string(k.kw) + " dil" +
                               std::to_string(k.dil_h) + "," + std::to_string(k.dil_w);
      Map x(s.B, dense, 3, 21), y(s.B, odense, 5, 22), wy(s.B, odense, 0, 22), dy(s.B, odense, 2, 23);
      const std::vector<float> weight = test::RandomVector(s.C * taps, 24), bias = test::RandomVector(s.C, 25);
      std::vector<float> pre(s.B * odense), wpre(s.B * odense);
      DepthwiseConvParams p{s, k.kh, k.kw, k.dil_h, k.dil_w, k.pad_h, k.pad_w, x.in(), weight.data(), bias.data(),
                            k.gelu, y.out(), pre.data()};
      DepthwiseConvParams w = p;
      w.y = wy.out(), w.pre = wpre.data();
      FRUGAL_CHECK_OK(DepthwiseConv(Context{}, p));
      FRUGAL_CHECK_OK(DepthwiseConvReference(w));
      FRUGAL_CHECK(y.GapsIntact()) << what;
      const double atol = 1e-5 * std::sqrt(static_cast<double>(taps));
      CLOSE(y.body(), wy.body(), atol, 1e-5, "y " + what);
      CLOSE(pre, wpre, atol, 1e-5, "pre " + what);

      Map dx(s.B, dense, 4, 26), wdx(s.B, dense, 0, 26);
      std::vector<float> dw(s.C * taps), db(s.C), wdw(s.C * taps), wdb(s.C);
      DepthwiseConvBackwardParams q{s, k.kh, k.kw, k.dil_h, k.dil_w, k.pad_h, k.pad_w, dy.in(), x.in(),
                                    weight.data(), k.gelu, wpre.data(), dx.out(), dw.data(), db.data()};
      DepthwiseConvBackwardParams wq = q;
      wq.dx = wdx.out(), wq.dweight = wdw.data(), wq.dbias = wdb.data();
      FRUGAL_CHECK_OK(DepthwiseConvBackward(Context{}, q));
      FRUGAL_CHECK_OK(DepthwiseConvBackwardReference(wq));
      FRUGAL_CHECK(dx.GapsIntact()) << what;
      CLOSE(dx.body(), wdx.body(), atol, 1e-5, "dx " + what);
      CLOSE(dw, wdw, 1e-4, 1e-4, "dweight " + what);
      CLOSE(db, wdb, 1e-4, 1e-4, "dbias " + what);
    }
  });
}

// An Inf in the last input column of a 3×3 without padding: the taps of
// columns 0 and 1 never read it, so their weight sums stay finite (the vector
// crossing out_w must not multiply its zero dpre lanes by that x).
FRUGAL_TEST(depthwise_weight_sums_ignore_x_past_the_output_row) {
  ForEachIsa([](Isa) {
    const MapShape s{2, 3, 6, 7};
    const int64_t dense = s.C * s.H * s.W, odense = s.C * 4 * 5;
    std::vector<float> x = test::RandomVector(s.B * dense, 31), dy = test::RandomVector(s.B * odense, 32);
    for (int64_t p = 0; p < s.B * s.C; ++p) x[p * s.H * s.W + 2 * s.W + 6] = INFINITY;
    const std::vector<float> weight = test::RandomVector(s.C * 9, 33);
    std::vector<float> dw(s.C * 9), wdw(s.C * 9), db(s.C), wdb(s.C);
    DepthwiseConvBackwardParams q{s, 3, 3, 1, 1, 0, 0, MapIn{dy.data(), 0}, MapIn{x.data(), 0}, weight.data(), false,
                                  nullptr, MapOut{}, dw.data(), db.data()};
    DepthwiseConvBackwardParams wq = q;
    wq.dweight = wdw.data(), wq.dbias = wdb.data();
    FRUGAL_CHECK_OK(DepthwiseConvBackward(Context{}, q));
    FRUGAL_CHECK_OK(DepthwiseConvBackwardReference(wq));
    for (int64_t t = 0; t < s.C * 9; ++t) {
      if (t % 3 == 2) continue;  // column taps 2 read the Inf
      FRUGAL_CHECK(std::isfinite(dw[t]) && std::fabs(dw[t] - wdw[t]) <= 1e-4 + 1e-4 * std::fabs(wdw[t])) << "tap " << t;
    }
  });
}

namespace {

struct ConvCase {
  MapShape s;
  int64_t out, k, pad;
  bool gelu, bias;
};

const ConvCase kConvCases[] = {
    {{2, 3, 7, 33}, 5, 1, 0, true, true},  {{1, 17, 1, 7}, 9, 1, 0, false, true}, {{2, 8, 33, 1}, 4, 1, 0, true, false},
    {{2, 3, 7, 9}, 6, 3, 1, true, true},   {{1, 5, 2, 2}, 3, 3, 1, false, false}, {{1, 2, 6, 5}, 3, 3, 0, true, true},
    {{1, 3, 4, 5}, 2, 1, 1, false, true},  {{2, 4, 9, 8}, 3, 5, 3, true, true},
    // The direct kernel's tiles: 7 outputs (a quad and three), rows of 70 (four
    // AVX-512 vectors, two AVX2 ones, a tail), a run-time k of 5 on rows of 40.
    {{2, 5, 9, 70}, 7, 3, 1, true, true},  {{1, 3, 12, 40}, 6, 5, 2, false, true},
    // Past the direct kernel's reach, the GEMM: C·k² = 1080 (dx too: 120
    // outputs), out 70 (dx direct: O·k² = 630, 4 outputs), and the forward
    // direct with dx by GEMM (100 outputs).
    {{1, 120, 5, 6}, 3, 3, 1, true, true}, {{2, 4, 6, 7}, 70, 3, 1, false, true},
    {{1, 100, 4, 5}, 3, 3, 1, true, false},
    // The pointwise tile and dot tile: 64×64-style planes (a multiple of 1024
    // floats, two weight-sum blocks per batch), odd channel counts with tails
    // of every tile, and 200 inputs (past the AVX-512 forward's on-stack copy).
    {{2, 24, 32, 64}, 32, 1, 0, false, true}, {{1, 7, 33, 40}, 13, 1, 0, true, true},
    {{1, 200, 5, 7}, 6, 1, 0, true, true},
};

}  // namespace

FRUGAL_TEST(conv_matches_reference) {
  ForEachIsa([](Isa) {
    for (const ConvCase& k : kConvCases) {
      const MapShape& s = k.s;
      const int64_t oh = ConvOutputSize(s.H, k.k, 1, k.pad), ow = ConvOutputSize(s.W, k.k, 1, k.pad);
      const int64_t dense = s.C * s.H * s.W, odense = k.out * oh * ow, taps = s.C * k.k * k.k;
      const std::string what = Name(s) + " out" + std::to_string(k.out) + " k" + std::to_string(k.k) + " pad" +
                               std::to_string(k.pad);
      Map x(s.B, dense, 2, 31), y(s.B, odense, 3, 32), wy(s.B, odense, 0, 32), dy(s.B, odense, 1, 33);
      const std::vector<float> weight = test::RandomVector(k.out * taps, 34), bias = test::RandomVector(k.out, 35);
      std::vector<float> pre(s.B * odense), wpre(s.B * odense);
      ConvParams p{s, k.out, k.k, k.pad, x.in(), weight.data(), k.bias ? bias.data() : nullptr, k.gelu, y.out(), pre.data()};
      ConvParams w = p;
      w.y = wy.out(), w.pre = wpre.data();
      FRUGAL_CHECK_OK(Conv(Context{}, p));
      FRUGAL_CHECK_OK(ConvReference(w));
      FRUGAL_CHECK(y.GapsIntact()) << what;
      const double atol = 1e-5 * std::sqrt(static_cast<double>(taps));
      CLOSE(y.body(), wy.body(), atol, 1e-5, "y " + what);
      CLOSE(pre, wpre, atol, 1e-5, "pre " + what);

      Map dx(s.B, dense, 3, 36), wdx(s.B, dense, 0, 36);
      std::vector<float> dw(k.out * taps), db(k.out), wdw(k.out * taps), wdb(k.out);
      ConvBackwardParams q{s, k.out, k.k, k.pad, dy.in(), x.in(), weight.data(), k.gelu, wpre.data(), dx.out(),
                           dw.data(), db.data()};
      ConvBackwardParams wq = q;
      wq.dx = wdx.out(), wq.dweight = wdw.data(), wq.dbias = wdb.data();
      FRUGAL_CHECK_OK(ConvBackward(Context{}, q));
      FRUGAL_CHECK_OK(ConvBackwardReference(wq));
      FRUGAL_CHECK(dx.GapsIntact()) << what;
      CLOSE(dx.body(), wdx.body(), 1e-5 * std::sqrt(static_cast<double>(k.out * k.k * k.k)), 1e-5, "dx " + what);
      CLOSE(dw, wdw, 1e-4, 1e-4, "dweight " + what);
      CLOSE(db, wdb, 1e-4, 1e-4, "dbias " + what);
    }
  });
}

FRUGAL_TEST(max_pool_matches_reference) {
  ForEachIsa([](Isa) {
    for (const MapShape& s : kShapes) {
      const int64_t dense = s.C * s.H * s.W, odense = s.C * (s.H / 2) * (s.W / 2);
      Map x(s.B, dense, 2, 41), dy(s.B, odense, 1, 42);
      // Ties and NaNs: the first maximum wins, NaN counts as the largest.
      if (dense > 3) x.v[1] = x.v[0], x.v[3] = NAN;
      Map y(s.B, odense, 3, 43), wy(s.B, odense, 0, 43), dx(s.B, dense, 2, 44), wdx(s.B, dense, 0, 44);
      FRUGAL_CHECK_OK(MaxPool(Context{}, MaxPoolParams{s, x.in(), y.out()}));
      FRUGAL_CHECK_OK(MaxPoolReference(MaxPoolParams{s, x.in(), wy.out()}));
      FRUGAL_CHECK_OK(MaxPoolBackward(Context{}, MaxPoolBackwardParams{s, dy.in(), x.in(), dx.out()}));
      FRUGAL_CHECK_OK(MaxPoolBackwardReference(MaxPoolBackwardParams{s, dy.in(), x.in(), wdx.out()}));
      FRUGAL_CHECK(y.GapsIntact() && dx.GapsIntact()) << Name(s);
      const std::vector<float> a = y.body(), b = wy.body();
      FRUGAL_CHECK(std::memcmp(a.data(), b.data(), a.size() * 4) == 0) << "y " << Name(s);
      CLOSE(dx.body(), wdx.body(), 0.0, 0.0, "dx " + Name(s));
    }
  });
}

// Windows full of ties (−0 and +0 too) and NaNs of two signs, over rows of
// several vectors with odd tails and an odd last row and column: the vector
// levels must pick the same first maximum, bit for bit.
FRUGAL_TEST(max_pool_ties_and_nans) {
  ForEachIsa([](Isa) {
    const float values[] = {-1.0f, -0.0f, 0.0f, 1.0f, NAN, -NAN, 2.0f};
    for (const MapShape& s : {MapShape{2, 3, 9, 67}, MapShape{1, 2, 6, 130}, MapShape{1, 1, 3, 35}}) {
      const int64_t dense = s.C * s.H * s.W, odense = s.C * (s.H / 2) * (s.W / 2);
      Map x(s.B, dense, 1, 45), dy(s.B, odense, 0, 46);
      for (size_t i = 0; i + 1 < x.v.size(); ++i) {
        x.v[i] = values[(i * 2654435761u >> 7) % 7];
      }
      Map y(s.B, odense, 2, 47), wy(s.B, odense, 0, 47), dx(s.B, dense, 3, 48), wdx(s.B, dense, 0, 48);
      FRUGAL_CHECK_OK(MaxPool(Context{}, MaxPoolParams{s, x.in(), y.out()}));
      FRUGAL_CHECK_OK(MaxPoolReference(MaxPoolParams{s, x.in(), wy.out()}));
      FRUGAL_CHECK_OK(MaxPoolBackward(Context{}, MaxPoolBackwardParams{s, dy.in(), x.in(), dx.out()}));
      FRUGAL_CHECK_OK(MaxPoolBackwardReference(MaxPoolBackwardParams{s, dy.in(), x.in(), wdx.out()}));
      FRUGAL_CHECK(y.GapsIntact() && dx.GapsIntact()) << Name(s);
      const std::vector<float> a = y.body(), b = wy.body(), c = dx.body(), d = wdx.body();
      FRUGAL_CHECK(std::memcmp(a.data(), b.data(), a.size() * 4) == 0) << "y " << Name(s);
      FRUGAL_CHECK(std::memcmp(c.data(), d.data(), c.size() * 4) == 0) << "dx " << Name(s);
    }
  });
}

FRUGAL_TEST(resize_matches_reference) {
  ForEachIsa([](Isa) {
    // Up and down on each axis (the vector levels' gathers, their masked
    // tails, input rows no output taps), 1-wide axes, and ×2 of 16×16 (GAB).
    const int64_t outs[][2] = {{1, 1}, {7, 33}, {2, 5}, {64, 1}, {14, 66}, {5, 17}, {32, 32}};
    std::vector<MapShape> shapes(std::begin(kShapes), std::end(kShapes));
    shapes.push_back({2, 3, 16, 16});
    for (const MapShape& s : shapes) {
      for (const auto& o : outs) {
        const int64_t dense = s.C * s.H * s.W, odense = s.C * o[0] * o[1];
        const std::string what = Name(s) + " to " + std::to_string(o[0]) + "x" + std::to_string(o[1]);
        Map x(s.B, dense, 2, 51), dy(s.B, odense, 3, 52);
        Map y(s.B, odense, 1, 53), wy(s.B, odense, 0, 53), dx(s.B, dense, 2, 54), wdx(s.B, dense, 0, 54);
        FRUGAL_CHECK_OK(Resize(Context{}, ResizeParams{s, o[0], o[1], x.in(), y.out()}));
        FRUGAL_CHECK_OK(ResizeReference(ResizeParams{s, o[0], o[1], x.in(), wy.out()}));
        FRUGAL_CHECK_OK(ResizeBackward(Context{}, ResizeBackwardParams{s, o[0], o[1], dy.in(), dx.out()}));
        FRUGAL_CHECK_OK(ResizeBackwardReference(ResizeBackwardParams{s, o[0], o[1], dy.in(), wdx.out()}));
        FRUGAL_CHECK(y.GapsIntact() && dx.GapsIntact()) << what;
        CLOSE(y.body(), wy.body(), 1e-5, 1e-5, "y " + what);
        CLOSE(dx.body(), wdx.body(), 1e-5, 1e-5, "dx " + what);
      }
    }
  });
}

FRUGAL_TEST(hadamard_matches_reference) {
  ForEachIsa([](Isa) {
    for (const MapShape& s : kShapes) {
      for (MapBroadcast kind : {MapBroadcast::kPlane, MapBroadcast::kRows, MapBroadcast::kColumns}) {
        const int64_t dense = s.C * s.H * s.W;
        const int64_t mapn = kind == MapBroadcast::kRows ? s.C * s.H : kind == MapBroadcast::kColumns ? s.C * s.W : dense;
        const std::string what = Name(s) + " broadcast " + std::to_string(static_cast<int>(kind));
        Map x(s.B, dense, 2, 61), dy(s.B, dense, 3, 62), y(s.B, dense, 1, 63), wy(s.B, dense, 0, 63);
        Map dx(s.B, dense, 2, 64), wdx(s.B, dense, 0, 64);
        const std::vector<float> map = test::RandomVector(mapn, 65);
        std::vector<float> dmap(mapn), wdmap(mapn);
        FRUGAL_CHECK_OK(Hadamard(Context{}, HadamardParams{s, kind, x.in(), map.data(), y.out()}));
        FRUGAL_CHECK_OK(HadamardReference(HadamardParams{s, kind, x.in(), map.data(), wy.out()}));
        FRUGAL_CHECK_OK(HadamardBackward(Context{}, HadamardBackwardParams{s, kind, dy.in(), x.in(), map.data(), dx.out(), dmap.data()}));
        FRUGAL_CHECK_OK(HadamardBackwardReference(HadamardBackwardParams{s, kind, dy.in(), x.in(), map.data(), wdx.out(), wdmap.data()}));
        FRUGAL_CHECK(y.GapsIntact() && dx.GapsIntact()) << what;
        CLOSE(y.body(), wy.body(), 1e-6, 1e-6, "y " + what);
        CLOSE(dx.body(), wdx.body(), 1e-6, 1e-6, "dx " + what);
        CLOSE(dmap, wdmap, 1e-4, 1e-4, "dmap " + what);
        // In place: y = x and dx = dy.
        Map a = x;
        FRUGAL_CHECK_OK(Hadamard(Context{}, HadamardParams{s, kind, a.in(), map.data(), a.out()}));
        FRUGAL_CHECK(a.body() == y.body()) << "in place " << what;
      }
    }
  });
}

FRUGAL_TEST(results_do_not_depend_on_the_thread_count) {
  ForEachIsa([](Isa) {
    const MapShape s{3, 13, 37, 41};
    const int64_t dense = s.C * s.H * s.W, hw = s.H * s.W;
    Map x(s.B, dense, 0, 71), dy(s.B, dense, 0, 72);
    const std::vector<float> gamma = Positive(s.C, 73), beta = test::RandomVector(s.C, 74);
    const std::vector<float> weight = test::RandomVector(s.C * 9, 75), cw = test::RandomVector(7 * s.C * 9, 76);
    for (int64_t groups : {int64_t{1}, s.C}) {
      SameAtAnyThreadCount([&] {
        std::vector<float> y(s.B * dense), mean(s.B * groups * hw), rstd(s.B * groups * hw), dx(s.B * dense), dg(s.C),
            db(s.C);
        ChannelNormParams p{s, groups, x.in(), gamma.data(), beta.data(), 1e-6f, MapOut{y.data(), 0}, mean.data(),
                            rstd.data()};
        FRUGAL_CHECK_OK(ChannelNorm(Context{}, p));
        FRUGAL_CHECK_OK(ChannelNormBackward(
            Context{}, ChannelNormBackwardParams{s, groups, dy.in(), x.in(), gamma.data(), mean.data(), rstd.data(),
                                                 MapOut{dx.data(), 0}, dg.data(), db.data()}));
        y.insert(y.end(), dx.begin(), dx.end());
        y.insert(y.end(), dg.begin(), dg.end());
        y.insert(y.end(), db.begin(), db.end());
        return y;
      }, "channelNorm groups " + std::to_string(groups));
    }
    {
      // Four groups of 17 channels (GAB's) on 32×32 planes, several pixel tasks.
      const MapShape g{3, 68, 32, 32};
      const int64_t gd = g.C * g.H * g.W, ghw = g.H * g.W;
      Map gx(g.B, gd, 0, 79), gdy(g.B, gd, 0, 80);
      const std::vector<float> gg = Positive(g.C, 81), gb = test::RandomVector(g.C, 82);
      SameAtAnyThreadCount([&] {
        std::vector<float> y(g.B * gd), mean(g.B * 4 * ghw), rstd(g.B * 4 * ghw), dx(g.B * gd), dg(g.C), db(g.C);
        FRUGAL_CHECK_OK(ChannelNorm(Context{}, ChannelNormParams{g, 4, gx.in(), gg.data(), gb.data(), 1e-6f,
                                                                 MapOut{y.data(), 0}, mean.data(), rstd.data()}));
        FRUGAL_CHECK_OK(ChannelNormBackward(
            Context{}, ChannelNormBackwardParams{g, 4, gdy.in(), gx.in(), gg.data(), mean.data(), rstd.data(),
                                                 MapOut{dx.data(), 0}, dg.data(), db.data()}));
        y.insert(y.end(), dx.begin(), dx.end());
        y.insert(y.end(), dg.begin(), dg.end());
        y.insert(y.end(), db.begin(), db.end());
        return y;
      }, "channelNorm groups 4 of 17");
    }
    SameAtAnyThreadCount([&] {
      std::vector<float> dx(s.B * dense), dw(s.C * 9), db(s.C);
      DepthwiseConvBackwardParams q{s, 3, 3, 2, 2, 2, 2, dy.in(), x.in(), weight.data(), false, nullptr,
                                    MapOut{dx.data(), 0}, dw.data(), db.data()};
      FRUGAL_CHECK_OK(DepthwiseConvBackward(Context{}, q));
      dx.insert(dx.end(), dw.begin(), dw.end());
      dx.insert(dx.end(), db.begin(), db.end());
      return dx;
    }, "depthwiseConvBackward");
    SameAtAnyThreadCount([&] {
      std::vector<float> y(s.B * s.C * 50 * 90), dx(s.B * dense);
      FRUGAL_CHECK_OK(Resize(Context{}, ResizeParams{s, 50, 90, x.in(), MapOut{y.data(), 0}}));
      FRUGAL_CHECK_OK(ResizeBackward(Context{}, ResizeBackwardParams{s, 50, 90, MapIn{y.data(), 0}, MapOut{dx.data(), 0}}));
      y.insert(y.end(), dx.begin(), dx.end());
      return y;
    }, "resize");
    SameAtAnyThreadCount([&] {
      const int64_t out = 7;
      Map g(s.B, out * hw, 0, 77);
      std::vector<float> dx(s.B * dense), dw(out * s.C * 9), db(out);
      ConvBackwardParams q{s, out, 3, 1, g.in(), x.in(), cw.data(), false, nullptr, MapOut{dx.data(), 0}, dw.data(), db.data()};
      FRUGAL_CHECK_OK(ConvBackward(Context{}, q));
      dx.insert(dx.end(), dw.begin(), dw.end());
      dx.insert(dx.end(), db.begin(), db.end());
      return dx;
    }, "convBackward");
    SameAtAnyThreadCount([&] {
      const int64_t out = 6;
      Map g(s.B, out * hw, 0, 78);
      std::vector<float> dx(s.B * dense), dw(out * s.C), db(out);
      ConvBackwardParams q{s, out, 1, 0, g.in(), x.in(), cw.data(), false, nullptr, MapOut{dx.data(), 0}, dw.data(), db.data()};
      FRUGAL_CHECK_OK(ConvBackward(Context{}, q));
      dx.insert(dx.end(), dw.begin(), dw.end());
      dx.insert(dx.end(), db.begin(), db.end());
      return dx;
    }, "convBackward pointwise");
    SameAtAnyThreadCount([&] {
      std::vector<float> dmap(s.C * s.W), dmap2(s.C * s.H);
      FRUGAL_CHECK_OK(HadamardBackward(Context{}, HadamardBackwardParams{s, MapBroadcast::kColumns, dy.in(), x.in(), nullptr, MapOut{}, dmap.data()}));
      FRUGAL_CHECK_OK(HadamardBackward(Context{}, HadamardBackwardParams{s, MapBroadcast::kRows, dy.in(), x.in(), nullptr, MapOut{}, dmap2.data()}));
      dmap.insert(dmap.end(), dmap2.begin(), dmap2.end());
      return dmap;
    }, "hadamardBackward");
  });
}

FRUGAL_TEST(empty_problems_and_bad_arguments) {
  // Empty: parameter gradients are zero sums.
  std::vector<float> dg(4, 9.0f), db(4, 9.0f);
  ChannelNormBackwardParams e;
  e.shape = MapShape{0, 4, 3, 3};
  e.dgamma = dg.data(), e.dbeta = db.data();
  FRUGAL_CHECK_OK(ChannelNormBackward(Context{}, e));
  FRUGAL_CHECK(dg == std::vector<float>(4, 0.0f) && db == std::vector<float>(4, 0.0f));

  const MapShape s{2, 3, 5, 5};
  Map x(2, 75, 0, 1), y(2, 75, 0, 2);
  const std::vector<float> gamma(3, 1.0f), beta(3, 0.0f), w(27, 0.5f);
  ChannelNormParams p{s, 1, x.in(), gamma.data(), beta.data(), 1e-6f, y.out(), nullptr, nullptr};
  FRUGAL_CHECK_OK(ChannelNorm(Context{}, p));
  ChannelNormParams q = p;
  for (int64_t groups : {int64_t{0}, int64_t{-1}, int64_t{2}}) {  // C = 3: 2 does not divide it
    q = p;
    q.groups = groups;
    FRUGAL_CHECK(ChannelNorm(Context{}, q).code() == Code::kShape) << groups;
    ChannelNormBackwardParams qb{s, groups, x.in(), x.in(), gamma.data(), x.in().data, x.in().data, y.out(), nullptr,
                                 nullptr};
    FRUGAL_CHECK(ChannelNormBackward(Context{}, qb).code() == Code::kShape) << groups;
  }
  q.groups = 3;
  FRUGAL_CHECK_OK(ChannelNorm(Context{}, q));
  q = p;
  q.shape.H = -1;
  FRUGAL_CHECK(ChannelNorm(Context{}, q).code() == Code::kShape);
  q = p;
  q.x.batch_stride = 74;  // below the dense 75
  FRUGAL_CHECK(ChannelNorm(Context{}, q).code() == Code::kShape);
  q = p;
  q.gamma = nullptr;
  FRUGAL_CHECK(ChannelNorm(Context{}, q).code() == Code::kNative);
  q = p;
  q.eps = 0.0f;
  FRUGAL_CHECK(ChannelNorm(Context{}, q).code() == Code::kRange);

  GroupNormParams g{s, 2, x.in(), gamma.data(), beta.data(), 1e-5f, y.out(), nullptr, nullptr};
  FRUGAL_CHECK(GroupNorm(Context{}, g).code() == Code::kShape);  // 3 channels in 2 groups

  DepthwiseConvParams d{s, 3, 3, 7, 7, 1, 1, x.in(), w.data(), nullptr, false, y.out(), nullptr};
  FRUGAL_CHECK(DepthwiseConv(Context{}, d).code() == Code::kShape);  // reach 15 > 7
  d.dil_h = d.dil_w = 1, d.kh = 0;
  FRUGAL_CHECK(DepthwiseConv(Context{}, d).code() == Code::kShape);
  d.kh = 3, d.weight = nullptr;
  FRUGAL_CHECK(DepthwiseConv(Context{}, d).code() == Code::kNative);
  DepthwiseConvBackwardParams db2;
  db2.shape = s, db2.dy = x.in(), db2.x = x.in(), db2.weight = w.data(), db2.gelu = true;
  FRUGAL_CHECK(DepthwiseConvBackward(Context{}, db2).code() == Code::kNative);  // gelu without pre

  ConvParams c{s, 1, 3, -1, x.in(), w.data(), nullptr, false, y.out(), nullptr};
  FRUGAL_CHECK(Conv(Context{}, c).code() == Code::kShape);
  c.pad = 1, c.out_channels = -2;
  FRUGAL_CHECK(Conv(Context{}, c).code() == Code::kShape);

  FRUGAL_CHECK(Resize(Context{}, ResizeParams{s, -1, 4, x.in(), y.out()}).code() == Code::kShape);
  HadamardParams h{s, static_cast<MapBroadcast>(7), x.in(), w.data(), y.out()};
  FRUGAL_CHECK(Hadamard(Context{}, h).code() == Code::kRange);
  h.broadcast = MapBroadcast::kRows, h.map = nullptr;
  FRUGAL_CHECK(Hadamard(Context{}, h).code() == Code::kNative);

  // A map too small for any window: the backward writes zeros.
  Map dx(1, 3 * 5, 0, 3);
  FRUGAL_CHECK_OK(MaxPoolBackward(Context{}, MaxPoolBackwardParams{{1, 3, 1, 5}, MapIn{}, MapIn{}, dx.out()}));
  FRUGAL_CHECK(dx.body() == std::vector<float>(15, 0.0f));
#ifndef FRUGAL_WITH_CUDA
  Context cuda;
  cuda.device = Device::kCuda;
  FRUGAL_CHECK(ChannelNorm(cuda, p).code() == Code::kDevice);
#endif
}

FRUGAL_TEST_MAIN
