// GAB (frugal/hadamard.h) as a sequence of feature-map ops over views. Each of
// the four groups z_k = [r_k, xl_k, mask] is assembled in one buffer of 4(2g + 1)
// channels (the resize writes its slices in place, two copies fill the rest), so
// the dilated convs and the tail read slices of it, and the four per-group
// LayerNorms are one grouped ChannelNorm over all of it (their affines gathered
// into one [G] pair, their gradients scattered back).
#include <string>

#include "core/hadamard_support.h"
#include "core/map_copy.h"
#include "frugal/feature_map.h"
#include "frugal/hadamard.h"

namespace frugal {
namespace {

using namespace hadamard_support;

template <class Tensors>
Status GabPresent(const char* op, const Tensors& t) {
  FRUGAL_GAB_TENSORS(FRUGAL_HADAMARD_REQUIRE)
  return Status::Ok();
}

Status CheckGabShape(const char* op, const GabShape& s) {
  FRUGAL_RETURN_IF_ERROR(PositiveShape(
      op, {{"B", s.B}, {"Ch", s.Ch}, {"Cl", s.Cl}, {"h", s.h}, {"w", s.w}, {"H", s.H}, {"W", s.W}}));
  return QuarterChannels(op, "Cl", s.Cl);
}

// Group k's tensors, in the order of the X-macro.
struct GroupWeights {
  const float *norm_w, *norm_b, *conv_w, *conv_b;
};
GroupWeights Group(const GabWeights& w, int k) {
  const GroupWeights all[4] = {{w.g0_norm_w, w.g0_norm_b, w.g0_conv_w, w.g0_conv_b},
                               {w.g1_norm_w, w.g1_norm_b, w.g1_conv_w, w.g1_conv_b},
                               {w.g2_norm_w, w.g2_norm_b, w.g2_conv_w, w.g2_conv_b},
                               {w.g3_norm_w, w.g3_norm_b, w.g3_conv_w, w.g3_conv_b}};
  return all[k];
}
struct GroupGrads {
  float *norm_w, *norm_b, *conv_w, *conv_b;
};
GroupGrads Group(const GabGrads& g, int k) {
  const GroupGrads all[4] = {{g.g0_norm_w, g.g0_norm_b, g.g0_conv_w, g.g0_conv_b},
                             {g.g1_norm_w, g.g1_norm_b, g.g1_conv_w, g.g1_conv_b},
                             {g.g2_norm_w, g.g2_norm_b, g.g2_conv_w, g.g2_conv_b},
                             {g.g3_norm_w, g.g3_norm_b, g.g3_conv_w, g.g3_conv_b}};
  return all[k];
}

// Channel counts: g per source part, gc per group, G in all.
struct GabSizes {
  int64_t g, gc, G, P, p;  // P = H·W, p = h·w
  explicit GabSizes(const GabShape& s)
      : g(s.Cl / 4), gc(2 * (s.Cl / 4) + 1), G(4 * (2 * (s.Cl / 4) + 1)), P(s.H * s.W), p(s.h * s.w) {}
};

// The forward's intermediates: z (the groups' inputs), n (after their norms),
// o (after their convs), q (after the tail norm), and the statistics: the
// group norms' [B, 4, P] each (ChannelNorm with 4 groups), the tail's [B, P].
struct GabBuffers {
  float *z, *n, *o, *q, *mean, *rstd, *mean_t, *rstd_t;
};

GabBuffers CarveSaved(Carver& c, const GabShape& s) {
  const GabSizes z(s);
  GabBuffers b;
  b.z = c.Take(s.B * z.G * z.P), b.n = c.Take(s.B * z.G * z.P), b.o = c.Take(s.B * z.G * z.P);
  b.q = c.Take(s.B * z.G * z.P);
  b.mean = c.Take(s.B * 4 * z.P), b.rstd = c.Take(s.B * 4 * z.P);
  b.mean_t = c.Take(s.B * z.P), b.rstd_t = c.Take(s.B * z.P);
  return b;
}

// Inference saves nothing: the norms run in place (n = z, q = o).
GabBuffers CarveInference(Carver& c, const GabShape& s) {
  const GabSizes z(s);
  GabBuffers b{};
  b.z = b.n = c.Take(s.B * z.G * z.P);
  b.o = b.q = c.Take(s.B * z.G * z.P);
  return b;
}

// The four groups' norm parameters (or their gradients) as one [G] vector, group
// k's gc at k·gc: [1, 1, 1, gc] views copied either way (device memory on CUDA).
Status GatherNorm(const Context& ctx, const GabSizes& z, const GabWeights& w, float* gamma, float* beta) {
  for (int k = 0; k < 4; ++k) {
    const GroupWeights gw = Group(w, k);
    FRUGAL_RETURN_IF_ERROR(CopyMap(ctx, {1, 1, 1, z.gc}, In(gw.norm_w), Out(gamma + k * z.gc), false));
    if (beta) FRUGAL_RETURN_IF_ERROR(CopyMap(ctx, {1, 1, 1, z.gc}, In(gw.norm_b), Out(beta + k * z.gc), false));
  }
  return Status::Ok();
}
Status ScatterNorm(const Context& ctx, const GabSizes& z, const float* dgamma, const float* dbeta, const GabGrads& g) {
  for (int k = 0; k < 4; ++k) {
    const GroupGrads gg = Group(g, k);
    FRUGAL_RETURN_IF_ERROR(CopyMap(ctx, {1, 1, 1, z.gc}, In(dgamma + k * z.gc), Out(gg.norm_w), false));
    FRUGAL_RETURN_IF_ERROR(CopyMap(ctx, {1, 1, 1, z.gc}, In(dbeta + k * z.gc), Out(gg.norm_b), false));
  }
  return Status::Ok();
}

}  // namespace

// z, n, o, q (B·G·P each), the group norms' mean and rstd (B·4·P each), the
// tail's (B·P each).
int64_t GabSavedFloats(const GabShape& s) {
  const GabSizes z(s);
  return s.B * (4 * z.G * z.P + 2 * 4 * z.P + 2 * z.P);
}

Status Gab(const Context& ctx, const GabParams& p) {
  const char* op = "hadamard.gab";
  const GabShape& s = p.shape;
  FRUGAL_RETURN_IF_ERROR(CheckGabShape(op, s));
  FRUGAL_RETURN_IF_ERROR(GabPresent(op, p.w));
  for (const auto& a : {std::make_pair("xh", p.xh), std::make_pair("xl", p.xl), std::make_pair("mask", p.mask)}) {
    if (!a.second) return NullArgument(op, a.first);
  }
  if (!p.y) return NullArgument(op, "y");
  const GabSizes z(s);
  Scratch scratch;
  float* base = nullptr;
  const int64_t projected = s.B * s.Cl * z.p;
  FRUGAL_RETURN_IF_ERROR(scratch.Get(ctx, op, projected + 2 * z.G + (p.saved ? 0 : 2 * s.B * z.G * z.P), &base));
  Carver sc(base);
  float* r = sc.Take(projected);
  Carver saved(p.saved);
  const GabBuffers b = p.saved ? CarveSaved(saved, s) : CarveInference(sc, s);
  float *gamma = sc.Take(z.G), *beta = sc.Take(z.G);  // the group norms' affines, concatenated (last: the maps stay aligned)

  ConvParams pre;
  pre.shape = {s.B, s.Ch, s.h, s.w}, pre.out_channels = s.Cl, pre.x = In(p.xh), pre.weight = p.w.pre_w;
  pre.bias = p.w.pre_b, pre.y = Out(r);
  FRUGAL_RETURN_IF_ERROR(Conv(ctx, pre));
  const int64_t zs = z.G * z.P;  // batch stride of the group buffers
  for (int k = 0; k < 4; ++k) {
    float* zk = b.z + k * z.gc * z.P;
    ResizeParams rs;
    rs.shape = {s.B, z.g, s.h, s.w}, rs.out_h = s.H, rs.out_w = s.W, rs.x = In(r + k * z.g * z.p, s.Cl * z.p);
    rs.y = Out(zk, zs);
    FRUGAL_RETURN_IF_ERROR(Resize(ctx, rs));
    FRUGAL_RETURN_IF_ERROR(CopyMap(ctx, {s.B, z.g, s.H, s.W}, In(p.xl + k * z.g * z.P, s.Cl * z.P),
                                   Out(zk + z.g * z.P, zs), false));
    FRUGAL_RETURN_IF_ERROR(CopyMap(ctx, {s.B, 1, s.H, s.W}, In(p.mask), Out(zk + 2 * z.g * z.P, zs), false));
  }
  // The four LayerNorms: one ChannelNorm of 4 groups of gc channels over z.
  FRUGAL_RETURN_IF_ERROR(GatherNorm(ctx, z, p.w, gamma, beta));
  ChannelNormParams n;
  n.shape = {s.B, z.G, s.H, s.W}, n.groups = 4, n.x = In(b.z), n.gamma = gamma, n.beta = beta, n.eps = kEps;
  n.y = Out(b.n), n.mean = b.mean, n.rstd = b.rstd;
  FRUGAL_RETURN_IF_ERROR(ChannelNorm(ctx, n));
  for (int k = 0; k < 4; ++k) {
    const GroupWeights gw = Group(p.w, k);
    DepthwiseConvParams dw;
    dw.shape = {s.B, z.gc, s.H, s.W}, dw.dil_h = dw.dil_w = dw.pad_h = dw.pad_w = kGabDilations[k];
    dw.x = In(b.n + k * z.gc * z.P, zs), dw.weight = gw.conv_w, dw.bias = gw.conv_b;
    dw.y = Out(b.o + k * z.gc * z.P, zs);
    FRUGAL_RETURN_IF_ERROR(DepthwiseConv(ctx, dw));
  }
  ChannelNormParams tail;
  tail.shape = {s.B, z.G, s.H, s.W}, tail.x = In(b.o), tail.gamma = p.w.tail_norm_w, tail.beta = p.w.tail_norm_b;
  tail.eps = kEps, tail.y = Out(b.q), tail.mean = b.mean_t, tail.rstd = b.rstd_t;
  FRUGAL_RETURN_IF_ERROR(ChannelNorm(ctx, tail));
  ConvParams out;
  out.shape = {s.B, z.G, s.H, s.W}, out.out_channels = s.Cl, out.x = In(b.q), out.weight = p.w.tail_w;
  out.bias = p.w.tail_b, out.y = Out(p.y);
  return Conv(ctx, out);
}

Status GabBackward(const Context& ctx, const GabBackwardParams& p) {
  const char* op = "hadamard.gabBackward";
  const GabShape& s = p.shape;
  FRUGAL_RETURN_IF_ERROR(CheckGabShape(op, s));
  FRUGAL_RETURN_IF_ERROR(GabPresent(op, p.w));
  FRUGAL_RETURN_IF_ERROR(GabPresent(op, p.grads));
  for (const auto& a : {std::make_pair("xh", p.xh), std::make_pair("saved", p.saved), std::make_pair("dy", p.dy)}) {
    if (!a.second) return NullArgument(op, a.first);
  }
  if (!p.dxh || !p.dxl || !p.dmask) return NullArgument(op, !p.dxh ? "dxh" : !p.dxl ? "dxl" : "dmask");
  const GabSizes z(s);
  Carver saved(const_cast<float*>(p.saved));  // read only: the carver only hands out addresses
  const GabBuffers b = CarveSaved(saved, s);
  Scratch scratch;
  float* base = nullptr;
  FRUGAL_RETURN_IF_ERROR(scratch.Get(ctx, op, 2 * s.B * z.G * z.P + s.B * s.Cl * z.p + 3 * z.G, &base));
  Carver sc(base);
  float *dA = sc.Take(s.B * z.G * z.P), *dB = sc.Take(s.B * z.G * z.P), *dr = sc.Take(s.B * s.Cl * z.p);
  float *gamma = sc.Take(z.G), *dgamma = sc.Take(z.G), *dbeta = sc.Take(z.G);  // the group norms', concatenated
  const int64_t zs = z.G * z.P;

  ConvBackwardParams out;
  out.shape = {s.B, z.G, s.H, s.W}, out.out_channels = s.Cl, out.dy = In(p.dy), out.x = In(b.q);
  out.weight = p.w.tail_w, out.dx = Out(dA), out.dweight = p.grads.tail_w, out.dbias = p.grads.tail_b;
  FRUGAL_RETURN_IF_ERROR(ConvBackward(ctx, out));
  ChannelNormBackwardParams tail;
  tail.shape = {s.B, z.G, s.H, s.W}, tail.dy = In(dA), tail.x = In(b.o), tail.gamma = p.w.tail_norm_w;
  tail.mean = b.mean_t, tail.rstd = b.rstd_t, tail.dx = Out(dA);
  tail.dgamma = p.grads.tail_norm_w, tail.dbeta = p.grads.tail_norm_b;
  FRUGAL_RETURN_IF_ERROR(ChannelNormBackward(ctx, tail));
  for (int k = 0; k < 4; ++k) {
    const int64_t at = k * z.gc * z.P;
    const GroupWeights gw = Group(p.w, k);
    const GroupGrads gg = Group(p.grads, k);
    DepthwiseConvBackwardParams dw;
    dw.shape = {s.B, z.gc, s.H, s.W}, dw.dil_h = dw.dil_w = dw.pad_h = dw.pad_w = kGabDilations[k];
    dw.dy = In(dA + at, zs), dw.x = In(b.n + at, zs), dw.weight = gw.conv_w, dw.dx = Out(dB + at, zs);
    dw.dweight = gg.conv_w, dw.dbias = gg.conv_b;
    FRUGAL_RETURN_IF_ERROR(DepthwiseConvBackward(ctx, dw));
  }
  // The four LayerNorms' backward in one grouped call (dx in place over dB).
  FRUGAL_RETURN_IF_ERROR(GatherNorm(ctx, z, p.w, gamma, nullptr));
  ChannelNormBackwardParams n;
  n.shape = {s.B, z.G, s.H, s.W}, n.groups = 4, n.dy = In(dB), n.x = In(b.z), n.gamma = gamma;
  n.mean = b.mean, n.rstd = b.rstd, n.dx = Out(dB), n.dgamma = dgamma, n.dbeta = dbeta;
  FRUGAL_RETURN_IF_ERROR(ChannelNormBackward(ctx, n));
  FRUGAL_RETURN_IF_ERROR(ScatterNorm(ctx, z, dgamma, dbeta, p.grads));
  for (int k = 0; k < 4; ++k) {
    const int64_t at = k * z.gc * z.P;
    ResizeBackwardParams rs;
    rs.shape = {s.B, z.g, s.h, s.w}, rs.out_h = s.H, rs.out_w = s.W, rs.dy = In(dB + at, zs);
    rs.dx = Out(dr + k * z.g * z.p, s.Cl * z.p);
    FRUGAL_RETURN_IF_ERROR(ResizeBackward(ctx, rs));
    FRUGAL_RETURN_IF_ERROR(CopyMap(ctx, {s.B, z.g, s.H, s.W}, In(dB + at + z.g * z.P, zs),
                                   Out(p.dxl + k * z.g * z.P, s.Cl * z.P), false));
    // The mask is in every group: its gradient is the sum, in group order.
    FRUGAL_RETURN_IF_ERROR(CopyMap(ctx, {s.B, 1, s.H, s.W}, In(dB + at + 2 * z.g * z.P, zs), Out(p.dmask), k > 0));
  }
  ConvBackwardParams pre;
  pre.shape = {s.B, s.Ch, s.h, s.w}, pre.out_channels = s.Cl, pre.dy = In(dr), pre.x = In(p.xh);
  pre.weight = p.w.pre_w, pre.dx = Out(p.dxh), pre.dweight = p.grads.pre_w, pre.dbias = p.grads.pre_b;
  return ConvBackward(ctx, pre);
}

}  // namespace frugal
