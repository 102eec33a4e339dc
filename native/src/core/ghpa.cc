// GHPA (frugal/hadamard.h) as a sequence of feature-map ops over views:
// the channel groups are slices of one buffer (batch stride = the full channel
// count), so chunk and concat never copy. Every op dispatches on ctx.device
// itself, so this file runs unchanged on the CPU and on CUDA.
#include "frugal/hadamard.h"

#include <string>

#include "core/hadamard_support.h"
#include "frugal/feature_map.h"

namespace frugal {
namespace {

using namespace hadamard_support;

template <class Tensors>
Status GhpaPresent(const char* op, const Tensors& t) {
  FRUGAL_GHPA_TENSORS(FRUGAL_HADAMARD_REQUIRE)
  return Status::Ok();
}

Status CheckGhpaShape(const char* op, const GhpaShape& s, bool batch) {
  FRUGAL_RETURN_IF_ERROR(PositiveShape(op, {{"C", s.C}, {"H", s.H}, {"W", s.W}}));
  if (batch) FRUGAL_RETURN_IF_ERROR(PositiveShape(op, {{"B", s.B}, {"O", s.O}}));
  return QuarterChannels(op, "C", s.C);
}

// ---- GHPA ------------------------------------------------------------------------

// The three attention maps and what their backward needs (r: resized parameters,
// pre and g: before and after the GELU).
struct GhpaMapBuffers {
  float *xy, *zx, *zy;
  float *r_xy, *pre_xy, *g_xy, *r_zx, *pre_zx, *g_zx, *r_zy, *pre_zy, *g_zy;
};

int64_t MapIntermediateFloats(const GhpaShape& s) { return 3 * GhpaMapsFloats(s); }

GhpaMapBuffers CarveMaps(float* maps, Carver& c, const GhpaShape& s) {
  const int64_t q = s.C / 4, P = s.H * s.W;
  GhpaMapBuffers m;
  m.xy = maps, m.zx = maps + q * P, m.zy = m.zx + q * s.H;
  for (float** p : {&m.r_xy, &m.pre_xy, &m.g_xy}) *p = c.Take(q * P);
  for (float** p : {&m.r_zx, &m.pre_zx, &m.g_zx}) *p = c.Take(q * s.H);
  for (float** p : {&m.r_zy, &m.pre_zy, &m.g_zy}) *p = c.Take(q * s.W);
  return m;
}

// One axis map: params [1,1,q,8] resized to (q, L), a depthwise 1-D conv k 3 with
// GELU, a pointwise 1-D conv: [q, L].
Status AxisMap(const Context& ctx, int64_t q, int64_t L, const float* params, const float* dw_w, const float* dw_b,
               const float* pw_w, const float* pw_b, float* r, float* pre, float* g, float* map) {
  ResizeParams rs;
  rs.shape = {1, 1, q, kGhpaMapSize}, rs.out_h = q, rs.out_w = L, rs.x = In(params), rs.y = Out(r);
  FRUGAL_RETURN_IF_ERROR(Resize(ctx, rs));
  DepthwiseConvParams dw;
  dw.shape = {1, q, 1, L}, dw.kh = 1, dw.kw = 3, dw.pad_h = 0, dw.pad_w = 1;
  dw.x = In(r), dw.weight = dw_w, dw.bias = dw_b, dw.gelu = true, dw.y = Out(g), dw.pre = pre;
  FRUGAL_RETURN_IF_ERROR(DepthwiseConv(ctx, dw));
  ConvParams pw;
  pw.shape = {1, q, 1, L}, pw.out_channels = q, pw.x = In(g), pw.weight = pw_w, pw.bias = pw_b, pw.y = Out(map);
  return Conv(ctx, pw);
}

Status ComputeMaps(const Context& ctx, const GhpaShape& s, const GhpaWeights& w, const GhpaMapBuffers& m) {
  const int64_t q = s.C / 4;
  ResizeParams rs;
  rs.shape = {1, q, kGhpaMapSize, kGhpaMapSize}, rs.out_h = s.H, rs.out_w = s.W, rs.x = In(w.params_xy), rs.y = Out(m.r_xy);
  FRUGAL_RETURN_IF_ERROR(Resize(ctx, rs));
  DepthwiseConvParams dw;
  dw.shape = {1, q, s.H, s.W}, dw.x = In(m.r_xy), dw.weight = w.conv_xy0_w, dw.bias = w.conv_xy0_b;
  dw.gelu = true, dw.y = Out(m.g_xy), dw.pre = m.pre_xy;
  FRUGAL_RETURN_IF_ERROR(DepthwiseConv(ctx, dw));
  ConvParams pw;
  pw.shape = {1, q, s.H, s.W}, pw.out_channels = q, pw.x = In(m.g_xy), pw.weight = w.conv_xy2_w, pw.bias = w.conv_xy2_b;
  pw.y = Out(m.xy);
  FRUGAL_RETURN_IF_ERROR(Conv(ctx, pw));
  FRUGAL_RETURN_IF_ERROR(AxisMap(ctx, q, s.H, w.params_zx, w.conv_zx0_w, w.conv_zx0_b, w.conv_zx2_w, w.conv_zx2_b,
                                 m.r_zx, m.pre_zx, m.g_zx, m.zx));
  return AxisMap(ctx, q, s.W, w.params_zy, w.conv_zy0_w, w.conv_zy0_b, w.conv_zy2_w, w.conv_zy2_b, m.r_zy,
                 m.pre_zy, m.g_zy, m.zy);
}

// The forward's intermediates (saved for the backward, or scratch).
struct GhpaBuffers {
  float *mean1, *rstd1, *n, *pre_dw, *t, *u, *mean2, *rstd2, *v, *pre_l, *wv;
};

int64_t GhpaActivationFloats(const GhpaShape& s) {
  const int64_t P = s.H * s.W, q = s.C / 4;
  return s.B * (4 * P + 5 * s.C * P + 2 * q * P);
}

// Inference keeps nothing for a backward: the norms and the GELUs save no
// statistics, LN₂ runs in place and the last conv reads from n's buffer.
int64_t GhpaInferenceFloats(const GhpaShape& s) {
  const int64_t P = s.H * s.W;
  return s.B * (2 * s.C * P + (s.C / 4) * P);
}

GhpaBuffers CarveInference(Carver& c, const GhpaShape& s) {
  const int64_t P = s.H * s.W;
  GhpaBuffers b{};
  b.n = c.Take(s.B * s.C * P), b.u = c.Take(s.B * s.C * P), b.t = c.Take(s.B * (s.C / 4) * P);
  b.v = b.u, b.wv = b.n;
  return b;
}

GhpaBuffers CarveActivations(Carver& c, const GhpaShape& s) {
  const int64_t P = s.H * s.W, map = s.B * s.C * P, quarter = s.B * (s.C / 4) * P;
  GhpaBuffers b;
  b.mean1 = c.Take(s.B * P), b.rstd1 = c.Take(s.B * P), b.n = c.Take(map);
  b.pre_dw = c.Take(quarter), b.t = c.Take(quarter), b.u = c.Take(map);
  b.mean2 = c.Take(s.B * P), b.rstd2 = c.Take(s.B * P), b.v = c.Take(map), b.pre_l = c.Take(map), b.wv = c.Take(map);
  return b;
}

Status GhpaBody(const Context& ctx, const GhpaShape& s, const GhpaWeights& w, const float* x, const float* xy,
                const float* zx, const float* zy, const GhpaBuffers& b, float* y) {
  const int64_t q = s.C / 4, P = s.H * s.W, stride = s.C * P;
  ChannelNormParams n1;
  n1.shape = {s.B, s.C, s.H, s.W}, n1.x = In(x), n1.gamma = w.norm1_w, n1.beta = w.norm1_b, n1.eps = kEps;
  n1.y = Out(b.n), n1.mean = b.mean1, n1.rstd = b.rstd1;
  FRUGAL_RETURN_IF_ERROR(ChannelNorm(ctx, n1));
  const MapShape group{s.B, q, s.H, s.W};
  const MapBroadcast kinds[3] = {MapBroadcast::kPlane, MapBroadcast::kRows, MapBroadcast::kColumns};
  const float* maps[3] = {xy, zx, zy};
  for (int k = 0; k < 3; ++k) {
    HadamardParams h;
    h.shape = group, h.broadcast = kinds[k], h.x = In(b.n + k * q * P, stride), h.map = maps[k];
    h.y = Out(b.u + k * q * P, stride);
    FRUGAL_RETURN_IF_ERROR(Hadamard(ctx, h));
  }
  ConvParams pw;
  pw.shape = group, pw.out_channels = q, pw.x = In(b.n + 3 * q * P, stride), pw.weight = w.dw0_w, pw.bias = w.dw0_b;
  pw.gelu = true, pw.y = Out(b.t), pw.pre = b.pre_dw;
  FRUGAL_RETURN_IF_ERROR(Conv(ctx, pw));
  DepthwiseConvParams dw;
  dw.shape = group, dw.x = In(b.t), dw.weight = w.dw2_w, dw.bias = w.dw2_b, dw.y = Out(b.u + 3 * q * P, stride);
  FRUGAL_RETURN_IF_ERROR(DepthwiseConv(ctx, dw));
  ChannelNormParams n2;
  n2.shape = {s.B, s.C, s.H, s.W}, n2.x = In(b.u), n2.gamma = w.norm2_w, n2.beta = w.norm2_b, n2.eps = kEps;
  n2.y = Out(b.v), n2.mean = b.mean2, n2.rstd = b.rstd2;
  FRUGAL_RETURN_IF_ERROR(ChannelNorm(ctx, n2));
  DepthwiseConvParams ldw;
  ldw.shape = {s.B, s.C, s.H, s.W}, ldw.x = In(b.v), ldw.weight = w.ldw0_w, ldw.bias = w.ldw0_b, ldw.gelu = true;
  ldw.y = Out(b.wv), ldw.pre = b.pre_l;
  FRUGAL_RETURN_IF_ERROR(DepthwiseConv(ctx, ldw));
  ConvParams out;
  out.shape = {s.B, s.C, s.H, s.W}, out.out_channels = s.O, out.x = In(b.wv), out.weight = w.ldw2_w;
  out.bias = w.ldw2_b, out.y = Out(y);
  return Conv(ctx, out);
}

// Backward of one axis map: dmap [q, L] → the 1-D convs' and params' gradients.
Status AxisMapBackward(const Context& ctx, int64_t q, int64_t L, const float* dmap, const float* r, const float* pre,
                       const float* g, const float* dw_w, const float* pw_w, float* scratch, float* dparams,
                       float* ddw_w, float* ddw_b, float* dpw_w, float* dpw_b) {
  float* dg = scratch;
  float* dr = scratch + q * L;
  ConvBackwardParams pw;
  pw.shape = {1, q, 1, L}, pw.out_channels = q, pw.dy = In(dmap), pw.x = In(g), pw.weight = pw_w;
  pw.dx = Out(dg), pw.dweight = dpw_w, pw.dbias = dpw_b;
  FRUGAL_RETURN_IF_ERROR(ConvBackward(ctx, pw));
  DepthwiseConvBackwardParams dw;
  dw.shape = {1, q, 1, L}, dw.kh = 1, dw.kw = 3, dw.pad_h = 0, dw.pad_w = 1, dw.dy = In(dg), dw.x = In(r);
  dw.weight = dw_w, dw.gelu = true, dw.pre = pre, dw.dx = Out(dr), dw.dweight = ddw_w, dw.dbias = ddw_b;
  FRUGAL_RETURN_IF_ERROR(DepthwiseConvBackward(ctx, dw));
  ResizeBackwardParams rs;
  rs.shape = {1, 1, q, kGhpaMapSize}, rs.out_h = q, rs.out_w = L, rs.dy = In(dr), rs.dx = Out(dparams);
  return ResizeBackward(ctx, rs);
}

Status MapsBackward(const Context& ctx, const GhpaShape& s, const GhpaWeights& w, const GhpaMapBuffers& m,
                    const float* dxy, const float* dzx, const float* dzy, float* scratch, const GhpaGrads& g) {
  const int64_t q = s.C / 4, P = s.H * s.W;
  float* dg = scratch;
  float* dr = scratch + q * P;
  ConvBackwardParams pw;
  pw.shape = {1, q, s.H, s.W}, pw.out_channels = q, pw.dy = In(dxy), pw.x = In(m.g_xy), pw.weight = w.conv_xy2_w;
  pw.dx = Out(dg), pw.dweight = g.conv_xy2_w, pw.dbias = g.conv_xy2_b;
  FRUGAL_RETURN_IF_ERROR(ConvBackward(ctx, pw));
  DepthwiseConvBackwardParams dw;
  dw.shape = {1, q, s.H, s.W}, dw.dy = In(dg), dw.x = In(m.r_xy), dw.weight = w.conv_xy0_w, dw.gelu = true;
  dw.pre = m.pre_xy, dw.dx = Out(dr), dw.dweight = g.conv_xy0_w, dw.dbias = g.conv_xy0_b;
  FRUGAL_RETURN_IF_ERROR(DepthwiseConvBackward(ctx, dw));
  ResizeBackwardParams rs;
  rs.shape = {1, q, kGhpaMapSize, kGhpaMapSize}, rs.out_h = s.H, rs.out_w = s.W, rs.dy = In(dr);
  rs.dx = Out(g.params_xy);
  FRUGAL_RETURN_IF_ERROR(ResizeBackward(ctx, rs));
  FRUGAL_RETURN_IF_ERROR(AxisMapBackward(ctx, q, s.H, dzx, m.r_zx, m.pre_zx, m.g_zx, w.conv_zx0_w, w.conv_zx2_w,
                                         scratch, g.params_zx, g.conv_zx0_w, g.conv_zx0_b, g.conv_zx2_w,
                                         g.conv_zx2_b));
  return AxisMapBackward(ctx, q, s.W, dzy, m.r_zy, m.pre_zy, m.g_zy, w.conv_zy0_w, w.conv_zy2_w, scratch,
                         g.params_zy, g.conv_zy0_w, g.conv_zy0_b, g.conv_zy2_w, g.conv_zy2_b);
}

}  // namespace

int64_t GhpaMapsFloats(const GhpaShape& s) { return (s.C / 4) * (s.H * s.W + s.H + s.W); }

int64_t GhpaSavedFloats(const GhpaShape& s) {
  return GhpaMapsFloats(s) + MapIntermediateFloats(s) + GhpaActivationFloats(s);
}

Status GhpaMaps(const Context& ctx, const GhpaMapsParams& p) {
  const char* op = "hadamard.ghpaMaps";
  FRUGAL_RETURN_IF_ERROR(CheckGhpaShape(op, p.shape, false));
  FRUGAL_RETURN_IF_ERROR(GhpaPresent(op, p.w));
  if (!p.maps) return NullArgument(op, "maps");
  Scratch scratch;
  float* base = nullptr;
  FRUGAL_RETURN_IF_ERROR(scratch.Get(ctx, op, MapIntermediateFloats(p.shape), &base));
  Carver c(base);
  return ComputeMaps(ctx, p.shape, p.w, CarveMaps(p.maps, c, p.shape));
}

Status Ghpa(const Context& ctx, const GhpaParams& p) {
  const char* op = "hadamard.ghpa";
  const GhpaShape& s = p.shape;
  FRUGAL_RETURN_IF_ERROR(CheckGhpaShape(op, s, true));
  FRUGAL_RETURN_IF_ERROR(GhpaPresent(op, p.w));
  if (!p.x) return NullArgument(op, "x");
  if (!p.y) return NullArgument(op, "y");
  if (p.saved && p.maps) {
    return Status::Native(std::string(op) + ": a training forward (saved) computes its own maps; give maps only for inference");
  }
  Scratch scratch;
  float* base = p.saved;
  if (!base) {
    const int64_t maps = p.maps ? 0 : GhpaMapsFloats(s) + MapIntermediateFloats(s);
    FRUGAL_RETURN_IF_ERROR(scratch.Get(ctx, op, maps + GhpaInferenceFloats(s), &base));
  }
  Carver c(base);
  const float *xy = p.maps, *zx = nullptr, *zy = nullptr;
  if (p.maps) {
    zx = p.maps + (s.C / 4) * s.H * s.W, zy = zx + (s.C / 4) * s.H;
  } else {
    const GhpaMapBuffers m = CarveMaps(c.Take(GhpaMapsFloats(s)), c, s);
    FRUGAL_RETURN_IF_ERROR(ComputeMaps(ctx, s, p.w, m));
    xy = m.xy, zx = m.zx, zy = m.zy;
  }
  const GhpaBuffers b = p.saved ? CarveActivations(c, s) : CarveInference(c, s);
  return GhpaBody(ctx, s, p.w, p.x, xy, zx, zy, b, p.y);
}

Status GhpaBackward(const Context& ctx, const GhpaBackwardParams& p) {
  const char* op = "hadamard.ghpaBackward";
  const GhpaShape& s = p.shape;
  FRUGAL_RETURN_IF_ERROR(CheckGhpaShape(op, s, true));
  FRUGAL_RETURN_IF_ERROR(GhpaPresent(op, p.w));
  FRUGAL_RETURN_IF_ERROR(GhpaPresent(op, p.grads));
  for (const auto& a : {std::make_pair("x", p.x), std::make_pair("saved", p.saved), std::make_pair("dy", p.dy)}) {
    if (!a.second) return NullArgument(op, a.first);
  }
  if (!p.dx) return NullArgument(op, "dx");
  const int64_t q = s.C / 4, P = s.H * s.W, stride = s.C * P, map = s.B * s.C * P;
  Carver c(const_cast<float*>(p.saved));  // read only: the carver only hands out addresses
  const GhpaMapBuffers m = CarveMaps(c.Take(GhpaMapsFloats(s)), c, s);
  const GhpaBuffers b = CarveActivations(c, s);

  Scratch scratch;
  float* base = nullptr;
  const int64_t small = GhpaMapsFloats(s) + 2 * q * P;  // dmaps, then two map-sized temporaries
  FRUGAL_RETURN_IF_ERROR(scratch.Get(ctx, op, 2 * map + s.B * q * P + small, &base));
  Carver sc(base);
  float *dA = sc.Take(map), *dB = sc.Take(map), *dt = sc.Take(s.B * q * P);
  float *dxy = sc.Take(q * P), *dzx = sc.Take(q * s.H), *dzy = sc.Take(q * s.W), *tmp = sc.Take(2 * q * P);
  const MapShape full{s.B, s.C, s.H, s.W}, group{s.B, q, s.H, s.W};

  ConvBackwardParams out;
  out.shape = full, out.out_channels = s.O, out.dy = In(p.dy), out.x = In(b.wv), out.weight = p.w.ldw2_w;
  out.dx = Out(dA), out.dweight = p.grads.ldw2_w, out.dbias = p.grads.ldw2_b;
  FRUGAL_RETURN_IF_ERROR(ConvBackward(ctx, out));
  DepthwiseConvBackwardParams ldw;
  ldw.shape = full, ldw.dy = In(dA), ldw.x = In(b.v), ldw.weight = p.w.ldw0_w, ldw.gelu = true, ldw.pre = b.pre_l;
  ldw.dx = Out(dB), ldw.dweight = p.grads.ldw0_w, ldw.dbias = p.grads.ldw0_b;
  FRUGAL_RETURN_IF_ERROR(DepthwiseConvBackward(ctx, ldw));
  ChannelNormBackwardParams n2;
  n2.shape = full, n2.dy = In(dB), n2.x = In(b.u), n2.gamma = p.w.norm2_w, n2.mean = b.mean2, n2.rstd = b.rstd2;
  n2.dx = Out(dA), n2.dgamma = p.grads.norm2_w, n2.dbeta = p.grads.norm2_b;
  FRUGAL_RETURN_IF_ERROR(ChannelNormBackward(ctx, n2));

  const MapBroadcast kinds[3] = {MapBroadcast::kPlane, MapBroadcast::kRows, MapBroadcast::kColumns};
  const float* maps[3] = {m.xy, m.zx, m.zy};
  float* dmaps[3] = {dxy, dzx, dzy};
  for (int k = 0; k < 3; ++k) {
    HadamardBackwardParams h;
    h.shape = group, h.broadcast = kinds[k], h.dy = In(dA + k * q * P, stride), h.x = In(b.n + k * q * P, stride);
    h.map = maps[k], h.dx = Out(dB + k * q * P, stride), h.dmap = dmaps[k];
    FRUGAL_RETURN_IF_ERROR(HadamardBackward(ctx, h));
  }
  DepthwiseConvBackwardParams dw;
  dw.shape = group, dw.dy = In(dA + 3 * q * P, stride), dw.x = In(b.t), dw.weight = p.w.dw2_w, dw.dx = Out(dt);
  dw.dweight = p.grads.dw2_w, dw.dbias = p.grads.dw2_b;
  FRUGAL_RETURN_IF_ERROR(DepthwiseConvBackward(ctx, dw));
  ConvBackwardParams pw;
  pw.shape = group, pw.out_channels = q, pw.dy = In(dt), pw.x = In(b.n + 3 * q * P, stride), pw.weight = p.w.dw0_w;
  pw.gelu = true, pw.pre = b.pre_dw, pw.dx = Out(dB + 3 * q * P, stride), pw.dweight = p.grads.dw0_w;
  pw.dbias = p.grads.dw0_b;
  FRUGAL_RETURN_IF_ERROR(ConvBackward(ctx, pw));
  FRUGAL_RETURN_IF_ERROR(MapsBackward(ctx, s, p.w, m, dxy, dzx, dzy, tmp, p.grads));
  ChannelNormBackwardParams n1;
  n1.shape = full, n1.dy = In(dB), n1.x = In(p.x), n1.gamma = p.w.norm1_w, n1.mean = b.mean1, n1.rstd = b.rstd1;
  n1.dx = Out(p.dx), n1.dgamma = p.grads.norm1_w, n1.dbeta = p.grads.norm1_b;
  return ChannelNormBackward(ctx, n1);
}

}  // namespace frugal
