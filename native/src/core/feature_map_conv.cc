// Feature-map convolutions' front end (see feature_map.cc for the rest):
// depthwise planes over the pool; the dense conv as the pointwise register tile
// (k = 1, no padding), the direct kernel over (batch, row block) tasks (small
// channel counts, see Direct), or im2col blocks into a workspace and the GEMM,
// whose epilogue adds the bias (an extra row of ones) and applies the GELU.
// The backward's dx is the transposed conv through the same three paths.
//
// Determinism: outputs are one task's; the depthwise parameter sums are per
// (batch, channel) plane in double, added over the batch in order; the dense
// weight gradient is per (batch, row block) fp32 sums added in block order in
// double (direct), or GEMMs accumulated in a fixed (batch, row block) order.
#include <algorithm>
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "core/front_end.h"
#include "cpu/feature_map_kernels.h"
#include "frugal/feature_map.h"
#include "frugal/gemm.h"
#include "frugal/isa.h"
#ifdef FRUGAL_WITH_CUDA
#include "cuda/feature_map.h"
#endif

namespace frugal {

PlaneConv TransposedConv(const PlaneConv& g) {
  return PlaneConv{g.out_h, g.out_w, g.in_h, g.in_w, g.kh, g.kw, g.dil_h, g.dil_w,
                   g.dil_h * (g.kh - 1) - g.pad_h, g.dil_w * (g.kw - 1) - g.pad_w, g.w, !g.flip};
}

int64_t DepthwiseScratch(const PlaneConv& g, bool backward) {
  const int64_t forward = PaddedRows(g).floats(g.in_h);
  return backward ? forward + PaddedRows(TransposedConv(g)).floats(g.out_h) : forward;
}

namespace {

std::string Str(int64_t v) { return std::to_string(v); }

// Workspace slots: depthwise and direct-conv tasks use 0 (per thread; the
// calling thread runs tasks too), the dense conv's call-level buffers the rest
// (the backward's dpre shares the slot of the forward's weights).
constexpr int kSlotTask = 0, kSlotCol = 1, kSlotWeights = 2, kSlotDpre = 2, kSlotFlipped = 3;
// Floats of one im2col block (about 4 MB: its GEMM panels stay in L2/L3).
constexpr int64_t kColFloats = int64_t{1} << 20;
constexpr int64_t kPixelsPerTask = 512;

Status CheckConvShape(const char* op, const MapShape& s, int64_t kh, int64_t kw, int64_t dil_h, int64_t dil_w,
                      int64_t pad_h, int64_t pad_w) {
  if (s.B < 0 || s.C < 0 || s.H < 0 || s.W < 0) {
    return Status::Shape(std::string(op) + ": expected B, C, H, W >= 0, got " + Str(s.B) + ", " + Str(s.C) + ", " +
                         Str(s.H) + ", " + Str(s.W));
  }
  if (kh < 1 || kw < 1 || dil_h < 1 || dil_w < 1 || pad_h < 0 || pad_w < 0 || kh > 1024 || kw > 1024 ||
      dil_h > (1 << 20) || dil_w > (1 << 20) || pad_h > (1 << 20) || pad_w > (1 << 20)) {
    return Status::Shape(std::string(op) + ": expected kernel 1..1024, dilation 1..2^20 and padding 0..2^20, got " +
                         Str(kh) + "×" + Str(kw) + ", dilation " + Str(dil_h) + "×" + Str(dil_w) + ", padding " +
                         Str(pad_h) + "×" + Str(pad_w));
  }
  if (s.H > (1 << 24) || s.W > (1 << 24) || (s.B && s.C && s.H && s.W && s.B * s.C > INT64_MAX / 4 / s.H / s.W)) {
    return Status::Shape(std::string(op) + ": the map is too large");
  }
  if (MapEmpty(s)) return Status::Ok();
  if (ConvOutputSize(s.H, kh, dil_h, pad_h) < 1 || ConvOutputSize(s.W, kw, dil_w, pad_w) < 1) {
    return Status::Shape(std::string(op) + ": the kernel's reach exceeds the padded " + Str(s.H) + " × " + Str(s.W) +
                         " map (no output)");
  }
  return Status::Ok();
}

Status CheckView(const char* op, const char* name, const void* data, int64_t batch_stride, int64_t dense, bool needed) {
  if (batch_stride < 0 || (batch_stride != 0 && batch_stride < dense)) {
    return Status::Shape(std::string(op) + ": " + name + " batch_stride " + Str(batch_stride) + " is below the dense " +
                         Str(dense));
  }
  if (needed && !data) return NullArgument(op, name);
  return Status::Ok();
}

// Output plane size of a conv (0 for an empty problem).
int64_t OutPlane(const MapShape& s, int64_t kh, int64_t kw, int64_t dil_h, int64_t dil_w, int64_t pad_h, int64_t pad_w) {
  return MapEmpty(s) ? 0 : ConvOutputSize(s.H, kh, dil_h, pad_h) * ConvOutputSize(s.W, kw, dil_w, pad_w);
}

// The views and pointers both convs (depthwise and dense) check past their
// geometry, given the floats of one batch of the output: the forward's x, y and
// weight…
template <class Params>
Status CheckConvViews(const char* op, const Params& p, bool work, int64_t out_floats) {
  const MapShape& s = p.shape;
  FRUGAL_RETURN_IF_ERROR(CheckView(op, "x", p.x.data, p.x.batch_stride, s.C * s.H * s.W, work));
  FRUGAL_RETURN_IF_ERROR(CheckView(op, "y", p.y.data, p.y.batch_stride, out_floats, work));
  return work && !p.weight ? NullArgument(op, "weight") : Status::Ok();
}

// …and the backward's dy, x (read for dweight), dx, weight (for dx) and pre (with gelu).
template <class Params>
Status CheckConvBackwardViews(const char* op, const Params& p, bool work, int64_t out_floats) {
  const MapShape& s = p.shape;
  FRUGAL_RETURN_IF_ERROR(CheckView(op, "dy", p.dy.data, p.dy.batch_stride, out_floats, work));
  FRUGAL_RETURN_IF_ERROR(CheckView(op, "x", p.x.data, p.x.batch_stride, s.C * s.H * s.W, work && p.dweight));
  FRUGAL_RETURN_IF_ERROR(CheckView(op, "dx", p.dx.data, p.dx.batch_stride, s.C * s.H * s.W, false));
  if (work && p.dx.data && !p.weight) return NullArgument(op, "weight");
  if (work && p.gelu && !p.pre) return NullArgument(op, "pre");
  return Status::Ok();
}

}  // namespace

Status CheckParams(const DepthwiseConvParams& p) {
  const char* op = "depthwiseConv";
  const MapShape& s = p.shape;
  FRUGAL_RETURN_IF_ERROR(CheckConvShape(op, s, p.kh, p.kw, p.dil_h, p.dil_w, p.pad_h, p.pad_w));
  const bool work = !MapEmpty(s);
  const int64_t ohw = OutPlane(s, p.kh, p.kw, p.dil_h, p.dil_w, p.pad_h, p.pad_w);
  return CheckConvViews(op, p, work, s.C * ohw);
}

Status CheckParams(const DepthwiseConvBackwardParams& p) {
  const char* op = "depthwiseConvBackward";
  const MapShape& s = p.shape;
  FRUGAL_RETURN_IF_ERROR(CheckConvShape(op, s, p.kh, p.kw, p.dil_h, p.dil_w, p.pad_h, p.pad_w));
  const bool work = !MapEmpty(s);
  const int64_t ohw = OutPlane(s, p.kh, p.kw, p.dil_h, p.dil_w, p.pad_h, p.pad_w);
  return CheckConvBackwardViews(op, p, work, s.C * ohw);
}

namespace {
Status CheckOutChannels(const char* op, int64_t out_channels) {
  if (out_channels < 0 || out_channels > (1 << 24)) {
    return Status::Shape(std::string(op) + ": expected out_channels in 0..2^24, got " + Str(out_channels));
  }
  return Status::Ok();
}
}  // namespace

Status CheckParams(const ConvParams& p) {
  const char* op = "conv";
  const MapShape& s = p.shape;
  FRUGAL_RETURN_IF_ERROR(CheckConvShape(op, s, p.k, p.k, 1, 1, p.pad, p.pad));
  FRUGAL_RETURN_IF_ERROR(CheckOutChannels(op, p.out_channels));
  const bool work = !MapEmpty(s) && p.out_channels > 0;
  const int64_t ohw = OutPlane(s, p.k, p.k, 1, 1, p.pad, p.pad);
  return CheckConvViews(op, p, work, p.out_channels * ohw);
}

Status CheckParams(const ConvBackwardParams& p) {
  const char* op = "convBackward";
  const MapShape& s = p.shape;
  FRUGAL_RETURN_IF_ERROR(CheckConvShape(op, s, p.k, p.k, 1, 1, p.pad, p.pad));
  FRUGAL_RETURN_IF_ERROR(CheckOutChannels(op, p.out_channels));
  const bool work = !MapEmpty(s) && p.out_channels > 0;
  const int64_t ohw = OutPlane(s, p.k, p.k, 1, 1, p.pad, p.pad);
  return CheckConvBackwardViews(op, p, work, p.out_channels * ohw);
}

// ---- depthwise ------------------------------------------------------------------------------
namespace {

PlaneConv DepthwiseGeometry(const MapShape& s, int64_t kh, int64_t kw, int64_t dil_h, int64_t dil_w, int64_t pad_h,
                            int64_t pad_w, const float* w) {
  return PlaneConv{s.H, s.W, ConvOutputSize(s.H, kh, dil_h, pad_h), ConvOutputSize(s.W, kw, dil_w, pad_w),
                   kh, kw, dil_h, dil_w, pad_h, pad_w, w, false};
}

// Runs fn(b, c, scratch) over the (batch, channel) planes, each with its scratch.
template <class Fn>
Status ForDepthwisePlanes(const char* op, const MapShape& s, int64_t scratch_floats, const Fn& fn) {
  std::atomic<bool> out_of_memory{false};
  ParallelFor(s.B * s.C, [&](int64_t i) {
    float* scratch;
    if (!Workspace(op, kSlotTask, scratch_floats, &scratch).ok()) return out_of_memory.store(true);
    fn(i / s.C, i % s.C, scratch);
  });
  return out_of_memory ? Status::Native(std::string(op) + ": out of memory for a plane's scratch") : Status::Ok();
}

Status DepthwiseCpu(const DepthwiseConvParams& p) {
  const FeatureMapKernels& k = FeatureMapKernelsFor(ActiveIsa());
  const MapShape& s = p.shape;
  const PlaneConv g0 = DepthwiseGeometry(s, p.kh, p.kw, p.dil_h, p.dil_w, p.pad_h, p.pad_w, p.weight);
  const int64_t hw = s.H * s.W, ohw = g0.out_h * g0.out_w, taps = p.kh * p.kw;
  return ForDepthwisePlanes("depthwiseConv", s, DepthwiseScratch(g0, false), [&](int64_t b, int64_t c, float* scratch) {
    PlaneConv g = g0;
    g.w = p.weight + c * taps;
    const DepthwiseForwardPlane plane{g, p.x.data + b * MapStride(p.x.batch_stride, s.C * hw) + c * hw,
                                      p.bias ? p.bias[c] : 0.0f, p.gelu,
                                      p.y.data + b * MapStride(p.y.batch_stride, s.C * ohw) + c * ohw,
                                      p.pre ? p.pre + (b * s.C + c) * ohw : nullptr};
    k.depthwise(plane, scratch);
  });
}

Status DepthwiseBackwardCpu(const DepthwiseConvBackwardParams& p) {
  const FeatureMapKernels& k = FeatureMapKernelsFor(ActiveIsa());
  const MapShape& s = p.shape;
  const PlaneConv g0 = DepthwiseGeometry(s, p.kh, p.kw, p.dil_h, p.dil_w, p.pad_h, p.pad_w, p.weight);
  const int64_t hw = s.H * s.W, ohw = g0.out_h * g0.out_w, taps = p.kh * p.kw, per_plane = taps + 1;
  const bool sums = p.dweight || p.dbias;
  std::vector<double> partial;
  try {
    if (sums) partial.assign(static_cast<size_t>(s.B * s.C * per_plane), 0.0);
  } catch (const std::bad_alloc&) {
    return Status::Native("depthwiseConvBackward: out of memory for the weight sums");
  }
  FRUGAL_RETURN_IF_ERROR(ForDepthwisePlanes(
      "depthwiseConvBackward", s, DepthwiseScratch(g0, true), [&](int64_t b, int64_t c, float* scratch) {
        PlaneConv g = g0;
        g.w = p.weight ? p.weight + c * taps : nullptr;
        double* sum = sums ? partial.data() + (b * s.C + c) * per_plane : nullptr;
        const DepthwiseBackwardPlane plane{
            g, p.x.data ? p.x.data + b * MapStride(p.x.batch_stride, s.C * hw) + c * hw : nullptr,
            p.dy.data + b * MapStride(p.dy.batch_stride, s.C * ohw) + c * ohw,
            p.gelu ? p.pre + (b * s.C + c) * ohw : nullptr, p.gelu,
            p.dx.data ? p.dx.data + b * MapStride(p.dx.batch_stride, s.C * hw) + c * hw : nullptr,
            p.dweight ? sum : nullptr, p.dbias ? sum + taps : nullptr};
        k.depthwise_backward(plane, scratch);
      }));
  for (int64_t c = 0; sums && c < s.C; ++c) {
    for (int64_t t = 0; t < per_plane; ++t) {
      double v = 0;
      for (int64_t b = 0; b < s.B; ++b) v += partial[(b * s.C + c) * per_plane + t];
      if (t < taps && p.dweight) p.dweight[c * taps + t] = static_cast<float>(v);
      if (t == taps && p.dbias) p.dbias[c] = static_cast<float>(v);
    }
  }
  return Status::Ok();
}

}  // namespace

Status DepthwiseConv(const Context& ctx, const DepthwiseConvParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  return Dispatch("depthwiseConv", ctx, Empty{MapEmpty(p.shape)}, [&] { return DepthwiseCpu(p); },
                  FRUGAL_CUDA_PATH(DepthwiseConvCuda(p, ctx.stream)));
}

Status DepthwiseConvBackward(const Context& ctx, const DepthwiseConvBackwardParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const Empty empty{MapEmpty(p.shape), [&] {
    FRUGAL_RETURN_IF_ERROR(ZeroFloats(ctx, p.dweight, p.shape.C * p.kh * p.kw));
    return ZeroFloats(ctx, p.dbias, p.shape.C);
  }};
  return Dispatch("depthwiseConvBackward", ctx, empty, [&] { return DepthwiseBackwardCpu(p); },
                  FRUGAL_CUDA_PATH(DepthwiseConvBackwardCuda(p, ctx.stream)));
}

// ---- dense conv -------------------------------------------------------------------------------
namespace {

// One batch of a stride-1 k × k conv: x is C planes of H × W; y and pre O planes
// of out_h × out_w (pre dense, or null).
struct DenseConv {
  int64_t C, H, W, O, k, pad, out_h, out_w;
  const float *x, *w, *bias;  // w [O, C·k·k], bias [O] or null
  bool gelu;
  float *y, *pre;
};

DenseConv DenseGeometry(int64_t C, int64_t H, int64_t W, int64_t O, int64_t k, int64_t pad) {
  DenseConv d{};
  d.C = C, d.H = H, d.W = W, d.O = O, d.k = k, d.pad = pad;
  d.out_h = H + 2 * pad - k + 1;
  d.out_w = W + 2 * pad - k + 1;
  return d;
}

// The direct kernels take convs with few taps per output (C·k²) and few output
// channels: there a tile's padded input rows and packed weights stay in L1 and
// the im2col copy plus the GEMM's packing would cost more than the FMAs
// (EGE-UNet's 3×3 convs have C·k² <= 216, O <= 24; their transposed convs of
// the backward O·k² <= 216, C <= 24). Longer sums keep the GEMM, whose cache
// blocking wins once K = C·k² is long; the pointwise conv its own tile.
constexpr int64_t kDirectMaxTaps = 1024, kDirectMaxOut = 64;
bool Direct(const DenseConv& d) {
  return !(d.k == 1 && d.pad == 0) && d.C * d.k * d.k <= kDirectMaxTaps && d.O <= kDirectMaxOut;
}
// Output rows per direct task: about 2048 pixels, so a task's padded rows and
// (backward) dpre rows stay in L2 and the k − 1 rows copied twice stay few.
int64_t DirectRows(const DenseConv& d) { return std::clamp<int64_t>(CeilDiv(2048, d.out_w), 1, d.out_h); }

// w(o, c, t) packed in output-channel quads for the direct kernels (DenseConvRows).
template <class W>
void PackQuads(int64_t O, int64_t C, int64_t kk, const W& w, float* out) {
  for (int64_t q = 0; q < CeilDiv(O, kConvQuad); ++q) {
    for (int64_t c = 0; c < C; ++c) {
      for (int64_t t = 0; t < kk; ++t) {
        for (int64_t a = 0; a < kConvQuad; ++a) {
          const int64_t o = q * kConvQuad + a;
          out[((q * C + c) * kk + t) * kConvQuad + a] = o < O ? w(o, c, t) : 0.0f;
        }
      }
    }
  }
}
int64_t PackedFloats(int64_t O, int64_t C, int64_t kk) { return CeilDiv(O, kConvQuad) * kConvQuad * C * kk; }

DenseConvRows DirectRowsOf(const DenseConv& d, int64_t r0, int64_t rows) {
  return DenseConvRows{d.C, d.O, d.H, d.W, d.out_h, d.out_w, d.k, d.pad, r0, rows, d.x, d.w, d.bias, d.gelu, d.y, d.pre};
}

// Runs fn(b, r0, rows, scratch) over B batches × the direct row blocks of d.
template <class Fn>
Status ForDirectBlocks(const char* op, const DenseConv& d, int64_t B, const Fn& fn) {
  const int64_t rows = DirectRows(d), blocks = CeilDiv(d.out_h, rows);
  const int64_t scratch_floats = DenseConvScratch(DirectRowsOf(d, 0, rows));
  std::atomic<bool> out_of_memory{false};
  ParallelFor(B * blocks, [&](int64_t t) {
    float* scratch;
    if (!Workspace(op, kSlotTask, scratch_floats, &scratch).ok()) return out_of_memory.store(true);
    const int64_t r0 = t % blocks * rows;
    fn(t / blocks, r0, std::min(rows, d.out_h - r0), scratch);
  });
  return out_of_memory ? Status::Native(std::string(op) + ": out of memory for a block's padded rows") : Status::Ok();
}

// y = act(w ⋆ x + bias) of B batches by the direct kernel; d.w packed in quads,
// batch b at x + b·x_stride, y + b·y_stride and pre + b·O·out_h·out_w.
Status DirectForward(const char* op, const DenseConv& d, int64_t B, int64_t x_stride, int64_t y_stride) {
  const FeatureMapKernels& k = FeatureMapKernelsFor(ActiveIsa());
  const int64_t ohw = d.out_h * d.out_w;
  return ForDirectBlocks(op, d, B, [&](int64_t b, int64_t r0, int64_t rows, float* scratch) {
    DenseConvRows q = DirectRowsOf(d, r0, rows);
    q.x += b * x_stride, q.y += b * y_stride;
    if (q.pre) q.pre += b * d.O * ohw;
    k.dense_conv(q, scratch);
  });
}

// Rows [r0, r0 + rows) of the im2col matrix: row (c, i, j) holds x[c] at
// (r − pad + i, s − pad + j) for the block's outputs (r, s), zero outside;
// pad may be negative (the backward's transposed conv crops).
void Im2col(const DenseConv& d, int64_t r0, int64_t rows, float* col) {
  const int64_t kk = d.k * d.k, n = rows * d.out_w;
  ParallelFor(d.C * kk, [&](int64_t q) {
    const int64_t c = q / kk, i = q % kk / d.k, j = q % d.k;
    const float* x = d.x + c * d.H * d.W;
    // Output columns s with 0 <= s − pad + j < W.
    const int64_t s0 = std::clamp<int64_t>(d.pad - j, 0, d.out_w), s1 = std::clamp<int64_t>(d.W + d.pad - j, s0, d.out_w);
    for (int64_t r = 0; r < rows; ++r) {
      float* out = col + q * n + r * d.out_w;
      const int64_t t = r0 + r - d.pad + i;
      if (t < 0 || t >= d.H) {
        std::fill(out, out + d.out_w, 0.0f);
        continue;
      }
      std::fill(out, out + s0, 0.0f);
      std::copy(x + t * d.W + s0 - d.pad + j, x + t * d.W + s1 - d.pad + j, out + s0);
      std::fill(out + s1, out + d.out_w, 0.0f);
    }
  });
}

// Output rows per im2col block.
int64_t BlockRows(const DenseConv& d, int64_t col_rows) {
  return std::clamp<int64_t>(kColFloats / std::max<int64_t>(1, col_rows * d.out_w), 1, d.out_h);
}

// y = act(w ⋆ x + bias) by GEMM over im2col blocks, the bias as a K row of ones.
Status DenseByGemm(const char* op, const DenseConv& d) {
  const int64_t kc = d.C * d.k * d.k, K = kc + (d.bias ? 1 : 0), ohw = d.out_h * d.out_w;
  const float* a = d.w;
  if (d.bias) {
    float* waug;
    FRUGAL_RETURN_IF_ERROR(Workspace(op, kSlotWeights, d.O * K, &waug));
    for (int64_t o = 0; o < d.O; ++o) {
      std::copy(d.w + o * kc, d.w + (o + 1) * kc, waug + o * K);
      waug[o * K + kc] = d.bias[o];
    }
    a = waug;
  }
  const int64_t block = BlockRows(d, K);
  float* col;
  FRUGAL_RETURN_IF_ERROR(Workspace(op, kSlotCol, K * block * d.out_w, &col));
  for (int64_t r0 = 0; r0 < d.out_h; r0 += block) {
    const int64_t rows = std::min(block, d.out_h - r0), n = rows * d.out_w;
    Im2col(d, r0, rows, col);
    if (d.bias) std::fill(col + kc * n, col + K * n, 1.0f);
    GemmParams g;
    g.M = d.O, g.N = n, g.K = K;
    g.A = a, g.lda = K;
    g.B = col, g.ldb = n;
    g.C = d.y + r0 * d.out_w, g.ldc = ohw;
    if (d.pre) g.preActivation = d.pre + r0 * d.out_w, g.ldp = ohw;
    g.activation = d.gelu ? Activation::kGelu : Activation::kNone;
    FRUGAL_RETURN_IF_ERROR(Gemm(Context{}, g));
  }
  return Status::Ok();
}

// The pointwise register tile (k = 1, no padding) over every batch's blocks of
// pixels in one parallel loop; x, y and pre batches x_stride, y_stride and
// pre_stride floats apart.
bool Pointwise(const DenseConv& d) { return d.k == 1 && d.pad == 0; }
void PointwiseBatches(const DenseConv& d, int64_t B, int64_t x_stride, int64_t y_stride, int64_t pre_stride) {
  const FeatureMapKernels& k = FeatureMapKernelsFor(ActiveIsa());
  const int64_t hw = d.H * d.W, per_batch = CeilDiv(hw, kPixelsPerTask);
  ParallelFor(B * per_batch, [&](int64_t t) {
    const int64_t b = t / per_batch, j = t % per_batch * kPixelsPerTask;
    k.pointwise(PointwiseBlock{d.C, d.O, hw, std::min(kPixelsPerTask, hw - j), d.x + b * x_stride + j, d.w, d.bias,
                               d.gelu, d.y + b * y_stride + j, d.pre ? d.pre + b * pre_stride + j : nullptr});
  });
}

Status ConvCpu(const ConvParams& p) {
  const MapShape& s = p.shape;
  DenseConv d = DenseGeometry(s.C, s.H, s.W, p.out_channels, p.k, p.pad);
  const int64_t ohw = d.out_h * d.out_w, kk = p.k * p.k;
  const int64_t x_stride = MapStride(p.x.batch_stride, s.C * s.H * s.W), y_stride = MapStride(p.y.batch_stride, d.O * ohw);
  d.w = p.weight, d.bias = p.bias, d.gelu = p.gelu;
  if (Direct(d)) {
    float* packed;
    FRUGAL_RETURN_IF_ERROR(Workspace("conv", kSlotWeights, PackedFloats(d.O, d.C, kk), &packed));
    PackQuads(d.O, d.C, kk, [&](int64_t o, int64_t c, int64_t t) { return p.weight[(o * d.C + c) * kk + t]; }, packed);
    d.x = p.x.data, d.y = p.y.data, d.pre = p.pre, d.w = packed;
    return DirectForward("conv", d, s.B, x_stride, y_stride);
  }
  if (Pointwise(d)) {
    d.x = p.x.data, d.y = p.y.data, d.pre = p.pre;
    PointwiseBatches(d, s.B, x_stride, y_stride, d.O * ohw);
    return Status::Ok();
  }
  for (int64_t b = 0; b < s.B; ++b) {
    d.x = p.x.data + b * x_stride;
    d.y = p.y.data + b * y_stride;
    d.pre = p.pre ? p.pre + b * d.O * ohw : nullptr;
    FRUGAL_RETURN_IF_ERROR(DenseByGemm("conv", d));
  }
  return Status::Ok();
}

// dweight [nw] and dbias [O] as sums over `blocks` fixed blocks: `block(blk,
// scratch, sums)` writes one block's fp32 sums (sums = nw + O floats, at the end
// of `scratch_floats` of task scratch); the blocks split into at most
// kMaxSumTasks runs fixed by the shape, each run's blocks added in order in
// double, then the runs in order: the same bits at any thread count.
constexpr int64_t kMaxSumTasks = 64;
Status SumBlocksInRuns(const char* op, int64_t blocks, int64_t nw, int64_t O, int64_t scratch_floats, float* dweight,
                       float* dbias, const std::function<void(int64_t blk, float* scratch, float* sums)>& block) {
  const int64_t per_block = nw + O, tasks = std::min(blocks, kMaxSumTasks);
  std::vector<double> partial;
  try {
    partial.assign(static_cast<size_t>(tasks * per_block), 0.0);
  } catch (const std::bad_alloc&) {
    return Status::Native(std::string(op) + ": out of memory for the weight sums");
  }
  std::atomic<bool> out_of_memory{false};
  ParallelFor(tasks, [&](int64_t t) {
    float* scratch;
    if (!Workspace(op, kSlotTask, scratch_floats + per_block, &scratch).ok()) return out_of_memory.store(true);
    float* sums = scratch + scratch_floats;
    double* run = partial.data() + t * per_block;
    for (int64_t blk = t * blocks / tasks; blk < (t + 1) * blocks / tasks; ++blk) {
      block(blk, scratch, sums);
      for (int64_t i = dweight ? 0 : nw; i < (dbias ? per_block : nw); ++i) run[i] += sums[i];
    }
  });
  if (out_of_memory) return Status::Native(std::string(op) + ": out of memory for a block's scratch");
  for (int64_t i = 0; i < per_block; ++i) {
    double v = 0;
    for (int64_t t = 0; t < tasks; ++t) v += partial[t * per_block + i];
    if (i < nw && dweight) dweight[i] = static_cast<float>(v);
    if (i >= nw && dbias) dbias[i - nw] = static_cast<float>(v);
  }
  return Status::Ok();
}

// dweight and dbias by the direct kernel: fp32 sums per (batch, row block).
Status DirectParameterSums(const ConvBackwardParams& p, const DenseConv& d, const float* dpre, int64_t dpre_stride) {
  const FeatureMapKernels& k = FeatureMapKernelsFor(ActiveIsa());
  const MapShape& s = p.shape;
  const int64_t nw = d.O * d.C * d.k * d.k;
  const int64_t rows = DirectRows(d), per_batch = CeilDiv(d.out_h, rows);
  const int64_t x_stride = MapStride(p.x.batch_stride, s.C * s.H * s.W);
  return SumBlocksInRuns("convBackward", s.B * per_batch, nw, d.O, DenseConvScratch(DirectRowsOf(d, 0, rows)),
                         p.dweight, p.dbias, [&](int64_t blk, float* scratch, float* sums) {
    const int64_t b = blk / per_batch, r0 = blk % per_batch * rows;
    DenseConvRows g = DirectRowsOf(d, r0, std::min(rows, d.out_h - r0));
    g.x = p.x.data ? p.x.data + b * x_stride : nullptr;
    k.dense_conv_grad(DenseConvGradRows{g, dpre + b * dpre_stride, p.dweight ? sums : nullptr, p.dbias ? sums + nw : nullptr},
                      scratch);
  });
}

// dweight and dbias of the pointwise conv: fp32 sums per (batch, block of
// kPointwiseSumPixels pixels) by the dot tile.
constexpr int64_t kPointwiseSumPixels = 1024;
Status PointwiseParameterSums(const ConvBackwardParams& p, const DenseConv& d, const float* dpre, int64_t dpre_stride) {
  const FeatureMapKernels& k = FeatureMapKernelsFor(ActiveIsa());
  const MapShape& s = p.shape;
  const int64_t hw = s.H * s.W, nw = d.O * d.C, per_batch = CeilDiv(hw, kPointwiseSumPixels);
  const int64_t x_stride = MapStride(p.x.batch_stride, s.C * hw);
  return SumBlocksInRuns("convBackward", s.B * per_batch, nw, d.O, 0, p.dweight, p.dbias,
                         [&](int64_t blk, float*, float* sums) {
    const int64_t b = blk / per_batch, j = blk % per_batch * kPointwiseSumPixels;
    k.pointwise_grad(PointwiseGradBlock{d.C, d.O, hw, std::min(kPointwiseSumPixels, hw - j),
                                        p.dweight ? p.x.data + b * x_stride + j : nullptr, dpre + b * dpre_stride + j,
                                        p.dweight ? sums : nullptr, p.dbias ? sums + nw : nullptr});
  });
}

// dweight and dbias through the GEMM (convs neither Direct nor Pointwise).
Status GemmParameterSums(const ConvBackwardParams& p, const DenseConv& d0, const float* dpre0, int64_t dpre_stride) {
  const char* op = "convBackward";
  const FeatureMapKernels& k = FeatureMapKernelsFor(ActiveIsa());
  const MapShape& s = p.shape;
  DenseConv d = d0;
  const int64_t O = d.O, hw = s.H * s.W, ohw = d.out_h * d.out_w, kc = s.C * p.k * p.k;
  std::vector<double> bias_sums;
  try {
    if (p.dbias) bias_sums.assign(static_cast<size_t>(s.B * O), 0.0);
  } catch (const std::bad_alloc&) {
    return Status::Native(std::string(op) + ": out of memory for the bias sums");
  }
  for (int64_t b = 0; b < s.B; ++b) {
    const float* dpre = dpre0 + b * dpre_stride;
    if (p.dbias) {
      ParallelFor(O, [&](int64_t o) {
        double unused = 0;
        k.sums(ohw, dpre + o * ohw, 0.0f, nullptr, 0.0f, &bias_sums[b * O + o], &unused);
      });
    }
    if (!p.dweight) continue;
    d.x = p.x.data + b * MapStride(p.x.batch_stride, s.C * hw);
    // dW (+)= dpre · colᵀ, block by block in order.
    GemmParams g;
    g.M = O, g.K = 0, g.transB = true;
    g.C = p.dweight, g.ldc = kc;
    const int64_t block = BlockRows(d, kc);
    float* col;
    FRUGAL_RETURN_IF_ERROR(Workspace(op, kSlotCol, kc * block * d.out_w, &col));
    for (int64_t r0 = 0; r0 < d.out_h; r0 += block) {
      const int64_t rows = std::min(block, d.out_h - r0), n = rows * d.out_w;
      Im2col(d, r0, rows, col);
      g.N = kc, g.K = n, g.A = dpre + r0 * d.out_w, g.lda = ohw, g.B = col, g.ldb = n;
      g.beta = b || r0 ? 1.0f : 0.0f;
      FRUGAL_RETURN_IF_ERROR(Gemm(Context{}, g));
    }
  }
  for (int64_t o = 0; p.dbias && o < O; ++o) {
    double v = 0;
    for (int64_t b = 0; b < s.B; ++b) v += bias_sums[b * O + o];
    p.dbias[o] = static_cast<float>(v);
  }
  return Status::Ok();
}

// dx: the transposed conv of dpre (flipped weights, the channel roles swapped,
// padding k − 1 − pad): direct, pointwise, or per batch through the GEMM.
Status ConvInputGradient(const ConvBackwardParams& p, const DenseConv& d, const float* dpre, int64_t dpre_stride) {
  const char* op = "convBackward";
  const MapShape& s = p.shape;
  const int64_t kk = p.k * p.k, dx_stride = MapStride(p.dx.batch_stride, s.C * s.H * s.W);
  const auto flipped = [&](int64_t c, int64_t o, int64_t t) { return p.weight[(o * s.C + c) * kk + kk - 1 - t]; };
  DenseConv t = DenseGeometry(d.O, d.out_h, d.out_w, s.C, p.k, p.k - 1 - p.pad);
  t.bias = nullptr, t.gelu = false, t.pre = nullptr;
  float* w;
  if (Direct(t)) {
    FRUGAL_RETURN_IF_ERROR(Workspace(op, kSlotFlipped, PackedFloats(s.C, d.O, kk), &w));
    PackQuads(s.C, d.O, kk, flipped, w);
    t.x = dpre, t.w = w, t.y = p.dx.data;
    return DirectForward(op, t, s.B, dpre_stride, dx_stride);
  }
  FRUGAL_RETURN_IF_ERROR(Workspace(op, kSlotFlipped, kk * s.C * d.O, &w));
  for (int64_t c = 0; c < s.C; ++c) {
    for (int64_t o = 0; o < d.O; ++o) {
      for (int64_t i = 0; i < kk; ++i) w[(c * d.O + o) * kk + i] = flipped(c, o, i);
    }
  }
  t.w = w;
  if (Pointwise(t)) {
    t.x = dpre, t.y = p.dx.data;
    PointwiseBatches(t, s.B, dpre_stride, dx_stride, 0);
    return Status::Ok();
  }
  for (int64_t b = 0; b < s.B; ++b) {
    t.x = dpre + b * dpre_stride, t.y = p.dx.data + b * dx_stride;
    FRUGAL_RETURN_IF_ERROR(DenseByGemm(op, t));
  }
  return Status::Ok();
}

Status ConvBackwardCpu(const ConvBackwardParams& p) {
  const char* op = "convBackward";
  const FeatureMapKernels& k = FeatureMapKernelsFor(ActiveIsa());
  const MapShape& s = p.shape;
  DenseConv d = DenseGeometry(s.C, s.H, s.W, p.out_channels, p.k, p.pad);
  const int64_t O = d.O, ohw = d.out_h * d.out_w;
  // dpre = dy ⊙ GELU'(pre) for every batch (dense), or dy itself.
  const float* dpre = p.dy.data;
  int64_t dpre_stride = MapStride(p.dy.batch_stride, O * ohw);
  if (p.gelu) {
    float* buffer;
    FRUGAL_RETURN_IF_ERROR(Workspace(op, kSlotDpre, s.B * O * ohw, &buffer));
    ParallelFor(s.B * O, [&](int64_t i) {
      k.gelu_grad(ohw, p.dy.data + i / O * dpre_stride + i % O * ohw, p.pre + i * ohw, buffer + i * ohw);
    });
    dpre = buffer, dpre_stride = O * ohw;
  }
  if (p.dweight || p.dbias) {
    FRUGAL_RETURN_IF_ERROR(Direct(d)      ? DirectParameterSums(p, d, dpre, dpre_stride)
                           : Pointwise(d) ? PointwiseParameterSums(p, d, dpre, dpre_stride)
                                          : GemmParameterSums(p, d, dpre, dpre_stride));
  }
  return p.dx.data ? ConvInputGradient(p, d, dpre, dpre_stride) : Status::Ok();
}

}  // namespace

Status Conv(const Context& ctx, const ConvParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  return Dispatch("conv", ctx, Empty{MapEmpty(p.shape) || p.out_channels == 0}, [&] { return ConvCpu(p); },
                  FRUGAL_CUDA_PATH(ConvCuda(p, ctx.stream)));
}

Status ConvBackward(const Context& ctx, const ConvBackwardParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  const bool empty_out = p.out_channels == 0;
  // No outputs: dx receives nothing (zeros); no input: the parameter sums are empty.
  const Empty empty{MapEmpty(s) || empty_out, [&]() -> Status {
    FRUGAL_RETURN_IF_ERROR(ZeroFloats(ctx, p.dweight, p.out_channels * s.C * p.k * p.k));
    FRUGAL_RETURN_IF_ERROR(ZeroFloats(ctx, p.dbias, p.out_channels));
    if (MapEmpty(s) || !p.dx.data) return Status::Ok();
    const int64_t dense = s.C * s.H * s.W;
    for (int64_t b = 0; b < s.B; ++b) {
      FRUGAL_RETURN_IF_ERROR(ZeroFloats(ctx, p.dx.data + b * MapStride(p.dx.batch_stride, dense), dense));
    }
    return Status::Ok();
  }};
  return Dispatch("convBackward", ctx, empty, [&] { return ConvBackwardCpu(p); },
                  FRUGAL_CUDA_PATH(ConvBackwardCuda(p, ctx.stream)));
}

}  // namespace frugal
