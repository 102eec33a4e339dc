// Feature-map ops on CUDA against the double references (frugal/feature_map.h),
// run on host copies of the same inputs, through the front ends (Context on
// Device::kCuda); a second run through the launchers must give the same bits.
// Views have awkward sizes (H or W of 1, 2, 7, 33; C not a multiple of 8) and, in
// some cases, padding between batches (batch_stride > dense): the padding holds a
// sentinel that must survive every call. Tolerances, relative to the fp64
// reference (|got − want| ≤ atol + rtol·|want|):
// - elementwise (max-pool, Hadamard): exact, up to rtol 1e-6;
// - a sum of n float terms of size ≲ 1 (conv outputs, dx of the convs and the
//   resize, every parameter gradient, the norms' statistics): atol 1e-5 + 1e-6·n,
//   rtol 1e-4; the norms' outputs and dx: atol 2e-5 (+1e-6·n for GroupNorm's
//   group sums), rtol 1e-4.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "check.h"
#include "cuda/feature_map.h"
#include "device_buffer.h"

using namespace frugal;
using frugal::test::CudaContext;
using frugal::test::DeviceBuffer;
using frugal::test::RandomVector;

namespace {

constexpr float kSentinel = -777.0f;  // padding between batches: no op writes it

struct Case {
  int64_t B, C, H, W, pad;  // pad: floats after each batch's C·H·W (0: dense views)
};
const Case kCases[] = {{1, 1, 1, 1, 0},   {2, 3, 7, 33, 5}, {3, 5, 33, 7, 0}, {1, 17, 2, 1, 3},
                       {2, 9, 1, 2, 0},   {2, 12, 33, 33, 1}, {1, 6, 64, 48, 0}};

std::string Name(const Case& c) {
  return "B" + std::to_string(c.B) + " C" + std::to_string(c.C) + " " + std::to_string(c.H) + "x" +
         std::to_string(c.W) + " pad " + std::to_string(c.pad);
}

// B batches of `dense` floats, `pad` more floats between batches.
struct Layout {
  int64_t B, dense, pad;
  int64_t stride() const { return dense + pad; }
  int64_t batch_stride() const { return pad ? dense + pad : 0; }
  size_t size() const { return static_cast<size_t>(B * stride()); }
};
Layout Dense(int64_t n) { return {1, n, 0}; }

// A view's host and device copies, the same values at first.
class Map {
 public:
  Map(Layout l, std::vector<float> host) : l_(l), host_(std::move(host)), dev_(host_) {}
  // Uniform in [shift − scale, shift + scale) in the view, the sentinel in the padding.
  static std::vector<float> Random(Layout l, uint32_t seed, float scale = 1.0f, float shift = 0.0f) {
    std::vector<float> v = RandomVector(l.size(), seed);
    for (size_t i = 0; i < v.size(); ++i) v[i] = InView(l, i) ? scale * v[i] + shift : kSentinel;
    return v;
  }
  static std::vector<float> Blank(Layout l) { return std::vector<float>(l.size(), kSentinel); }
  static bool InView(Layout l, size_t i) { return static_cast<int64_t>(i) % l.stride() < l.dense; }

  MapIn HostIn() const { return {host_.data(), l_.batch_stride()}; }
  MapOut HostOut() { return {host_.data(), l_.batch_stride()}; }
  MapIn DevIn() const { return {dev_.get(), l_.batch_stride()}; }
  MapOut DevOut() const { return {dev_.get(), l_.batch_stride()}; }
  float* h() { return host_.data(); }
  float* d() const { return dev_.get(); }
  const Layout& layout() const { return l_; }
  const std::vector<float>& host() const { return host_; }
  std::vector<float> Download() const { return dev_.Download(); }

 private:
  Layout l_;
  std::vector<float> host_;
  DeviceBuffer<float> dev_;
};

// got's device view against want's host view (NaN matches NaN), and got's
// device padding untouched.
void ExpectMap(const Map& got, const Map& want, double atol, double rtol, const std::string& what) {
  const std::vector<float> all = got.Download();
  std::vector<float> g, w;
  bool padding_intact = true;
  for (size_t i = 0; i < all.size(); ++i) {
    if (!Map::InView(got.layout(), i)) {
      padding_intact = padding_intact && all[i] == kSentinel;
      continue;
    }
    const bool both_nan = std::isnan(all[i]) && std::isnan(want.host()[i]);
    g.push_back(both_nan ? 0.0f : all[i]);
    w.push_back(both_nan ? 0.0f : want.host()[i]);
  }
  FRUGAL_EXPECT_CLOSE(g.data(), w.data(), g.size(), atol, rtol, what);
  FRUGAL_CHECK(padding_intact) << what << ": a write into the padding between batches";
}
void ExpectMap(const Map& m, double atol, double rtol, const std::string& what) { ExpectMap(m, m, atol, rtol, what); }

// The bits of a device map now, to compare with a later run.
std::vector<float> Bits(const Map& m) { return m.Download(); }

int64_t Groups(int64_t c) {
  for (int64_t g : {4, 3, 2}) {
    if (c % g == 0) return g;
  }
  return 1;
}

// ChannelNorm's group counts on C channels: 1, 2, 4 and C where they divide C, each once.
std::vector<int64_t> NormGroups(int64_t c) {
  std::vector<int64_t> out;
  for (int64_t g : {int64_t{1}, int64_t{2}, int64_t{4}, c}) {
    if (c % g == 0 && std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
  }
  return out;
}

}  // namespace

// ---- ChannelNorm ----------------------------------------------------------------------

FRUGAL_TEST(cuda_channel_norm_matches_the_reference) {
  for (const Case& c : kCases) {
    for (int64_t groups : NormGroups(c.C)) {
      const MapShape s{c.B, c.C, c.H, c.W};
      const Layout l{c.B, c.C * c.H * c.W, c.pad}, stats = Dense(c.B * groups * c.H * c.W);
      const std::string name = Name(c) + " groups " + std::to_string(groups);
      // Groups of two or three random channels can have σ² ≪ 1e-6, where fp32 x̂
      // loses digits against the double oracle: those take a larger eps.
      const int64_t cg = c.C / groups;
      const float eps = cg == 2 || cg == 3 ? 1e-2f : 1e-6f;
      Map x(l, Map::Random(l, 1, 3.0f, 1.5f)), y(l, Map::Blank(l)), gamma(Dense(c.C), RandomVector(c.C, 2));
      Map beta(Dense(c.C), RandomVector(c.C, 3)), mean(stats, Map::Blank(stats)), rstd(stats, Map::Blank(stats));
      ChannelNormParams p{s, groups, x.HostIn(), gamma.h(), beta.h(), eps, y.HostOut(), mean.h(), rstd.h()};
      FRUGAL_CHECK_OK(ChannelNormReference(p));
      p = {s, groups, x.DevIn(), gamma.d(), beta.d(), eps, y.DevOut(), mean.d(), rstd.d()};
      FRUGAL_CHECK_OK(ChannelNorm(CudaContext(), p));
      ExpectMap(y, 2e-5, 1e-4, "y " + name);
      ExpectMap(mean, 1e-5, 1e-5, "mean " + name);
      ExpectMap(rstd, 1e-5, 1e-4, "rstd " + name);
      // In place (y is x's memory), without statistics.
      Map xy(l, x.host());
      FRUGAL_CHECK_OK(ChannelNorm(CudaContext(), {s, groups, xy.DevIn(), gamma.d(), beta.d(), eps, xy.DevOut()}));
      ExpectMap(xy, y, 2e-5, 1e-4, "y in place " + name);

      // Backward, from the reference's statistics.
      Map dy(l, Map::Random(l, 4)), dx(l, Map::Blank(l)), dgamma(Dense(c.C), Map::Blank(Dense(c.C)));
      Map dbeta(Dense(c.C), Map::Blank(Dense(c.C))), m(stats, mean.host()), r(stats, rstd.host());
      ChannelNormBackwardParams b{s, groups, dy.HostIn(), x.HostIn(), gamma.h(), m.h(), r.h(), dx.HostOut(), dgamma.h(), dbeta.h()};
      FRUGAL_CHECK_OK(ChannelNormBackwardReference(b));
      b = {s, groups, dy.DevIn(), x.DevIn(), gamma.d(), m.d(), r.d(), dx.DevOut(), dgamma.d(), dbeta.d()};
      FRUGAL_CHECK_OK(ChannelNormBackward(CudaContext(), b));
      const double param_atol = 1e-5 + 1e-6 * static_cast<double>(c.B * c.H * c.W);
      ExpectMap(dx, 2e-5, 1e-4, "dx " + name);
      ExpectMap(dgamma, param_atol, 1e-4, "dgamma " + name);
      ExpectMap(dbeta, param_atol, 1e-4, "dbeta " + name);
      const std::vector<float> first = Bits(dgamma);
      FRUGAL_CHECK_OK(ChannelNormBackwardCuda(b, nullptr));
      FRUGAL_CHECK(Bits(dgamma) == first) << "dgamma differs between runs, " << name;
      // dx in place (dx is dy's memory), no parameter gradients.
      Map dyx(l, dy.host());
      FRUGAL_CHECK_OK(ChannelNormBackward(
          CudaContext(), {s, groups, dyx.DevIn(), x.DevIn(), gamma.d(), m.d(), r.d(), dyx.DevOut(), nullptr, nullptr}));
      ExpectMap(dyx, dx, 2e-5, 1e-4, "dx in place " + name);
    }
  }
}

// ---- GroupNorm ------------------------------------------------------------------------

FRUGAL_TEST(cuda_group_norm_matches_the_reference) {
  for (const Case& c : kCases) {
    for (int64_t groups : {int64_t{1}, Groups(c.C), c.C}) {
      const MapShape s{c.B, c.C, c.H, c.W};
      const Layout l{c.B, c.C * c.H * c.W, c.pad}, stats = Dense(c.B * groups);
      const std::string name = Name(c) + " groups " + std::to_string(groups);
      const double n = static_cast<double>(c.C / groups * c.H * c.W);
      Map x(l, Map::Random(l, 5, 2.0f, -0.5f)), y(l, Map::Blank(l)), gamma(Dense(c.C), RandomVector(c.C, 6));
      Map beta(Dense(c.C), RandomVector(c.C, 7)), mean(stats, Map::Blank(stats)), rstd(stats, Map::Blank(stats));
      GroupNormParams p{s, groups, x.HostIn(), gamma.h(), beta.h(), 1e-5f, y.HostOut(), mean.h(), rstd.h()};
      FRUGAL_CHECK_OK(GroupNormReference(p));
      p = {s, groups, x.DevIn(), gamma.d(), beta.d(), 1e-5f, y.DevOut(), mean.d(), rstd.d()};
      FRUGAL_CHECK_OK(GroupNorm(CudaContext(), p));
      ExpectMap(y, 2e-5 + 1e-6 * n, 1e-4, "y " + name);
      ExpectMap(mean, 1e-5 + 1e-6 * n, 1e-4, "mean " + name);
      ExpectMap(rstd, 1e-5, 1e-4, "rstd " + name);
      Map y2(l, Map::Blank(l));  // without statistics (the launcher's own workspace)
      FRUGAL_CHECK_OK(GroupNorm(CudaContext(), {s, groups, x.DevIn(), gamma.d(), beta.d(), 1e-5f, y2.DevOut()}));
      ExpectMap(y2, y, 2e-5 + 1e-6 * n, 1e-4, "y without statistics " + name);

      Map dy(l, Map::Random(l, 8)), dx(l, Map::Blank(l)), dgamma(Dense(c.C), Map::Blank(Dense(c.C)));
      Map dbeta(Dense(c.C), Map::Blank(Dense(c.C))), m(stats, mean.host()), r(stats, rstd.host());
      GroupNormBackwardParams b{s,     groups,      dy.HostIn(), x.HostIn(), gamma.h(), m.h(),
                                r.h(), dx.HostOut(), dgamma.h(), dbeta.h()};
      FRUGAL_CHECK_OK(GroupNormBackwardReference(b));
      b = {s, groups, dy.DevIn(), x.DevIn(), gamma.d(), m.d(), r.d(), dx.DevOut(), dgamma.d(), dbeta.d()};
      FRUGAL_CHECK_OK(GroupNormBackward(CudaContext(), b));
      const double param_atol = 1e-5 + 1e-6 * static_cast<double>(c.B * c.H * c.W);
      ExpectMap(dx, 2e-5 + 1e-6 * n, 1e-4, "dx " + name);
      ExpectMap(dgamma, param_atol, 1e-4, "dgamma " + name);
      ExpectMap(dbeta, param_atol, 1e-4, "dbeta " + name);
      const std::vector<float> first = Bits(dgamma), first_dx = Bits(dx);
      FRUGAL_CHECK_OK(GroupNormBackwardCuda(b, nullptr));
      FRUGAL_CHECK(Bits(dgamma) == first && Bits(dx) == first_dx) << "results differ between runs, " << name;
    }
  }
}

// ---- depthwise convolution ----------------------------------------------------------------

FRUGAL_TEST(cuda_depthwise_conv_matches_the_reference) {
  struct Conf {
    int64_t kh, kw, dh, dw, ph, pw;
    bool gelu;
  };
  // EGE-UNet's dilations 1, 2, 5, 7 (larger than most of these images), the 1-D
  // k = 3 form, and an asymmetric kernel whose output is smaller than its input.
  const Conf confs[] = {{3, 3, 1, 1, 1, 1, false}, {3, 3, 2, 2, 2, 2, true}, {3, 3, 5, 5, 5, 5, false},
                        {3, 3, 7, 7, 7, 7, true},  {1, 3, 1, 1, 0, 1, true}, {2, 3, 3, 1, 1, 0, false}};
  for (const Case& c : kCases) {
    for (const Conf& k : confs) {
      const int64_t ho = ConvOutputSize(c.H, k.kh, k.dh, k.ph), wo = ConvOutputSize(c.W, k.kw, k.dw, k.pw);
      if (ho < 1 || wo < 1) continue;
      const MapShape s{c.B, c.C, c.H, c.W};
      const Layout li{c.B, c.C * c.H * c.W, c.pad}, lo{c.B, c.C * ho * wo, c.pad}, lpre = Dense(c.B * c.C * ho * wo);
      const Layout lw = Dense(c.C * k.kh * k.kw);
      const std::string name = Name(c) + " k" + std::to_string(k.kh) + "x" + std::to_string(k.kw) + " dil " +
                               std::to_string(k.dh) + "," + std::to_string(k.dw) + (k.gelu ? " gelu" : "");
      Map x(li, Map::Random(li, 9)), w(lw, RandomVector(lw.size(), 10)), bias(Dense(c.C), RandomVector(c.C, 11));
      Map y(lo, Map::Blank(lo)), pre(lpre, Map::Blank(lpre));
      DepthwiseConvParams p{s, k.kh, k.kw, k.dh, k.dw, k.ph, k.pw, x.HostIn(), w.h(), bias.h(), k.gelu, y.HostOut(),
                            pre.h()};
      FRUGAL_CHECK_OK(DepthwiseConvReference(p));
      p.x = x.DevIn(), p.weight = w.d(), p.bias = bias.d(), p.y = y.DevOut(), p.pre = pre.d();
      FRUGAL_CHECK_OK(DepthwiseConv(CudaContext(), p));
      const double taps = static_cast<double>(k.kh * k.kw);
      ExpectMap(y, 1e-5 + 1e-6 * taps, 1e-4, "y " + name);
      ExpectMap(pre, 1e-5 + 1e-6 * taps, 1e-4, "pre " + name);

      Map dy(lo, Map::Random(lo, 12)), dx(li, Map::Blank(li)), dw(lw, Map::Blank(lw));
      Map dbias(Dense(c.C), Map::Blank(Dense(c.C))), pre_in(lpre, pre.host());
      DepthwiseConvBackwardParams b{s,      k.kh,  k.kw,   k.dh,   k.dw,       k.ph,        k.pw,
                                    dy.HostIn(), x.HostIn(), w.h(), k.gelu, pre_in.h(), dx.HostOut(), dw.h(),
                                    dbias.h()};
      FRUGAL_CHECK_OK(DepthwiseConvBackwardReference(b));
      b.dy = dy.DevIn(), b.x = x.DevIn(), b.weight = w.d(), b.pre = pre_in.d(), b.dx = dx.DevOut();
      b.dweight = dw.d(), b.dbias = dbias.d();
      FRUGAL_CHECK_OK(DepthwiseConvBackward(CudaContext(), b));
      const double param_atol = 1e-5 + 1e-6 * static_cast<double>(c.B * ho * wo);
      ExpectMap(dx, 1e-5 + 1e-6 * taps, 1e-4, "dx " + name);
      ExpectMap(dw, param_atol, 1e-4, "dweight " + name);
      ExpectMap(dbias, param_atol, 1e-4, "dbias " + name);
      const std::vector<float> first = Bits(dw);
      FRUGAL_CHECK_OK(DepthwiseConvBackwardCuda(b, nullptr));
      FRUGAL_CHECK(Bits(dw) == first) << "dweight differs between runs, " << name;
    }
  }
}

// ---- pointwise and dense convolution ----------------------------------------------------------

FRUGAL_TEST(cuda_conv_matches_the_reference) {
  struct Conf {
    int64_t out, k, pad;
    bool gelu, bias;
  };
  // k = 1 (the GEMM over the input itself, and with padding through im2col), 3×3
  // same and valid, 5×5 on images smaller than the kernel.
  const Conf confs[] = {{5, 1, 0, false, true}, {7, 1, 0, true, true}, {2, 1, 1, false, false},
                        {4, 3, 1, true, true},  {3, 3, 0, false, true}, {6, 5, 2, false, false}};
  for (const Case& c : kCases) {
    for (const Conf& k : confs) {
      const int64_t ho = ConvOutputSize(c.H, k.k, 1, k.pad), wo = ConvOutputSize(c.W, k.k, 1, k.pad);
      if (ho < 1 || wo < 1) continue;
      const MapShape s{c.B, c.C, c.H, c.W};
      const Layout li{c.B, c.C * c.H * c.W, c.pad}, lo{c.B, k.out * ho * wo, c.pad}, lpre = Dense(c.B * k.out * ho * wo);
      const Layout lw = Dense(k.out * c.C * k.k * k.k);
      const std::string name = Name(c) + " out " + std::to_string(k.out) + " k" + std::to_string(k.k) + " pad " +
                               std::to_string(k.pad) + (k.gelu ? " gelu" : "");
      Map x(li, Map::Random(li, 13)), w(lw, RandomVector(lw.size(), 14)), bias(Dense(k.out), RandomVector(k.out, 15));
      Map y(lo, Map::Blank(lo)), pre(lpre, Map::Blank(lpre));
      ConvParams p{s,      k.out,      k.k,        k.pad, x.HostIn(), w.h(), k.bias ? bias.h() : nullptr,
                   k.gelu, y.HostOut(), pre.h()};
      FRUGAL_CHECK_OK(ConvReference(p));
      p.x = x.DevIn(), p.weight = w.d(), p.bias = k.bias ? bias.d() : nullptr, p.y = y.DevOut();
      p.pre = pre.d();
      FRUGAL_CHECK_OK(Conv(CudaContext(), p));
      const double terms = static_cast<double>(c.C * k.k * k.k), back_terms = static_cast<double>(k.out * k.k * k.k);
      ExpectMap(y, 1e-5 + 1e-6 * terms, 1e-4, "y " + name);
      ExpectMap(pre, 1e-5 + 1e-6 * terms, 1e-4, "pre " + name);

      Map dy(lo, Map::Random(lo, 16)), dx(li, Map::Blank(li)), dw(lw, Map::Blank(lw));
      Map dbias(Dense(k.out), Map::Blank(Dense(k.out))), pre_in(lpre, pre.host());
      ConvBackwardParams b{s,     k.out,      k.k,         k.pad,  dy.HostIn(), x.HostIn(), w.h(),
                           k.gelu, pre_in.h(), dx.HostOut(), dw.h(), dbias.h()};
      FRUGAL_CHECK_OK(ConvBackwardReference(b));
      b.dy = dy.DevIn(), b.x = x.DevIn(), b.weight = w.d(), b.pre = pre_in.d(), b.dx = dx.DevOut();
      b.dweight = dw.d(), b.dbias = dbias.d();
      FRUGAL_CHECK_OK(ConvBackward(CudaContext(), b));
      const double param_atol = 1e-5 + 1e-6 * static_cast<double>(c.B * ho * wo);
      ExpectMap(dx, 1e-5 + 1e-6 * back_terms, 1e-4, "dx " + name);
      ExpectMap(dw, param_atol, 1e-4, "dweight " + name);
      ExpectMap(dbias, param_atol, 1e-4, "dbias " + name);
      const std::vector<float> first = Bits(dw);
      FRUGAL_CHECK_OK(ConvBackwardCuda(b, nullptr));
      FRUGAL_CHECK(Bits(dw) == first) << "dweight differs between runs, " << name;
      // dx alone.
      Map dx2(li, Map::Blank(li));
      b.dx = dx2.DevOut(), b.dweight = nullptr, b.dbias = nullptr;
      FRUGAL_CHECK_OK(ConvBackward(CudaContext(), b));
      ExpectMap(dx2, dx, 1e-5 + 1e-6 * back_terms, 1e-4, "dx alone " + name);
    }
  }
}

// ---- max-pool ------------------------------------------------------------------------------

FRUGAL_TEST(cuda_max_pool_matches_the_reference) {
  for (const Case& c : kCases) {
    const MapShape s{c.B, c.C, c.H, c.W};
    const Layout li{c.B, c.C * c.H * c.W, c.pad}, lo{c.B, c.C * (c.H / 2) * (c.W / 2), c.pad};
    const std::string name = Name(c);
    // Few distinct values, so windows hold ties (the first maximum takes dy), and a NaN.
    std::vector<float> xv = Map::Random(li, 17);
    for (size_t i = 0; i < xv.size(); ++i) {
      if (Map::InView(li, i)) xv[i] = std::round(2.0f * xv[i]) / 2.0f;
    }
    if (li.dense > 5) xv[5] = std::nanf("");
    Map x(li, xv), y(lo, Map::Blank(lo));
    FRUGAL_CHECK_OK(MaxPoolReference({s, x.HostIn(), y.HostOut()}));
    FRUGAL_CHECK_OK(MaxPool(CudaContext(), {s, x.DevIn(), y.DevOut()}));
    ExpectMap(y, 0, 1e-6, "y " + name);
    Map dy(lo, Map::Random(lo, 18)), dx(li, Map::Blank(li));
    FRUGAL_CHECK_OK(MaxPoolBackwardReference({s, dy.HostIn(), x.HostIn(), dx.HostOut()}));
    FRUGAL_CHECK_OK(MaxPoolBackward(CudaContext(), {s, dy.DevIn(), x.DevIn(), dx.DevOut()}));
    ExpectMap(dx, 0, 1e-6, "dx " + name);
  }
}

// ---- bilinear resize --------------------------------------------------------------------------

FRUGAL_TEST(cuda_resize_matches_the_reference) {
  for (const Case& c : kCases) {
    struct Out {
      int64_t h, w;
    };
    // One element, upsampling (EGE-UNet resizes 8×8 parameter maps up), downsampling.
    const Out outs[] = {{1, 1}, {1, 5}, {4 * c.H + 1, 3 * c.W}, {7, 33}, {(c.H + 1) / 2, (c.W + 2) / 3}};
    for (const Out& o : outs) {
      const MapShape s{c.B, c.C, c.H, c.W};
      const Layout li{c.B, c.C * c.H * c.W, c.pad}, lo{c.B, c.C * o.h * o.w, c.pad};
      const std::string name = Name(c) + " to " + std::to_string(o.h) + "x" + std::to_string(o.w);
      Map x(li, Map::Random(li, 19)), y(lo, Map::Blank(lo));
      FRUGAL_CHECK_OK(ResizeReference({s, o.h, o.w, x.HostIn(), y.HostOut()}));
      FRUGAL_CHECK_OK(Resize(CudaContext(), {s, o.h, o.w, x.DevIn(), y.DevOut()}));
      ExpectMap(y, 1e-5, 1e-4, "y " + name);
      Map dy(lo, Map::Random(lo, 20)), dx(li, Map::Blank(li));
      FRUGAL_CHECK_OK(ResizeBackwardReference({s, o.h, o.w, dy.HostIn(), dx.HostOut()}));
      FRUGAL_CHECK_OK(ResizeBackward(CudaContext(), {s, o.h, o.w, dy.DevIn(), dx.DevOut()}));
      // Each dx gathers about 4·(out pixels / in pixels) weighted dy terms.
      const double terms = 4.0 * static_cast<double>(o.h * o.w) / static_cast<double>(c.H * c.W) + 4.0;
      ExpectMap(dx, 1e-5 + 1e-6 * terms, 1e-4, "dx " + name);
    }
  }
}

// ---- broadcast Hadamard ---------------------------------------------------------------------------

FRUGAL_TEST(cuda_hadamard_matches_the_reference) {
  for (const Case& c : kCases) {
    for (MapBroadcast mode : {MapBroadcast::kPlane, MapBroadcast::kRows, MapBroadcast::kColumns}) {
      const MapShape s{c.B, c.C, c.H, c.W};
      const Layout l{c.B, c.C * c.H * c.W, c.pad};
      const int64_t map_n = mode == MapBroadcast::kPlane ? c.C * c.H * c.W : mode == MapBroadcast::kRows ? c.C * c.H : c.C * c.W;
      const double terms = static_cast<double>(c.B) *
                           (mode == MapBroadcast::kPlane ? 1 : mode == MapBroadcast::kRows ? c.W : c.H);
      const std::string name = Name(c) + " broadcast " + std::to_string(static_cast<int>(mode));
      Map x(l, Map::Random(l, 21)), m(Dense(map_n), RandomVector(map_n, 22)), y(l, Map::Blank(l));
      FRUGAL_CHECK_OK(HadamardReference({s, mode, x.HostIn(), m.h(), y.HostOut()}));
      FRUGAL_CHECK_OK(Hadamard(CudaContext(), {s, mode, x.DevIn(), m.d(), y.DevOut()}));
      ExpectMap(y, 0, 1e-6, "y " + name);
      Map xy(l, x.host());  // in place
      FRUGAL_CHECK_OK(Hadamard(CudaContext(), {s, mode, xy.DevIn(), m.d(), xy.DevOut()}));
      ExpectMap(xy, y, 0, 1e-6, "y in place " + name);

      Map dy(l, Map::Random(l, 23)), dx(l, Map::Blank(l)), dmap(Dense(map_n), Map::Blank(Dense(map_n)));
      HadamardBackwardParams b{s, mode, dy.HostIn(), x.HostIn(), m.h(), dx.HostOut(), dmap.h()};
      FRUGAL_CHECK_OK(HadamardBackwardReference(b));
      b = {s, mode, dy.DevIn(), x.DevIn(), m.d(), dx.DevOut(), dmap.d()};
      FRUGAL_CHECK_OK(HadamardBackward(CudaContext(), b));
      ExpectMap(dx, 0, 1e-6, "dx " + name);
      ExpectMap(dmap, 1e-6 + 1e-6 * terms, 1e-5, "dmap " + name);
      const std::vector<float> first = Bits(dmap);
      FRUGAL_CHECK_OK(HadamardBackwardCuda(b, nullptr));
      FRUGAL_CHECK(Bits(dmap) == first) << "dmap differs between runs, " << name;
      // dx in place over dy, with dmap (which must read dy first).
      Map dyx(l, dy.host()), dmap2(Dense(map_n), Map::Blank(Dense(map_n)));
      FRUGAL_CHECK_OK(HadamardBackward(CudaContext(), {s, mode, dyx.DevIn(), x.DevIn(), m.d(), dyx.DevOut(), dmap2.d()}));
      ExpectMap(dyx, dx, 0, 1e-6, "dx in place " + name);
      ExpectMap(dmap2, dmap, 1e-6 + 1e-6 * terms, 1e-5, "dmap with dx in place " + name);
    }
  }
}

int main() { return frugal::test::RunAllOnCuda(); }
