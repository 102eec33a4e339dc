// Feature-map ops over NCHW fp32 tensors: what convolutional modules such as
// EGE-UNet's GHPA and GAB are built from (frugal/hadamard.h composes them).
//
// Views. Every map argument is `B` planes of `C` channels × `H`·`W` pixels, the
// pixels of a channel contiguous, channel c of batch b at data + b·batch_stride +
// c·H·W. batch_stride 0 means dense (C·H·W); a larger one lets an op read or write
// a channel slice of a wider tensor in place (torch.chunk / torch.cat cost nothing).
// Maps must not overlap unless a comment says so; the float data lives on ctx's
// device, the parameter tensors too.
//
// Determinism. Every output element is one task's; every parameter gradient is a
// sum over (batch, pixel) taken in fixed blocks whose bounds depend on the shape
// only, the block partials added in block order: the same bits at any thread
// count. NaN and Inf propagate as in the formulas; nothing traps.
//
// Sizes: negative sizes or strides smaller than the dense one give kShape, null
// pointers for a non-empty problem kNative. Zero B, C, H or W is an empty problem.
#pragma once
#include <cstdint>

#include "frugal/context.h"
#include "frugal/status.h"

namespace frugal {

// A read-only / writable view of B × C × H × W floats (see Views above).
struct MapIn {
  const float* data = nullptr;
  int64_t batch_stride = 0;
};
struct MapOut {
  float* data = nullptr;
  int64_t batch_stride = 0;
};

struct MapShape {
  int64_t B = 0, C = 0, H = 0, W = 0;
};

// ---- channel LayerNorm ----------------------------------------------------------
// Per pixel, over the C channels: y = γ_c (x − μ)·rstd + β_c, rstd = 1/√(σ² + eps),
// biased variance (EGE-UNet's channels_first LayerNorm). mean and rstd are [B, H·W].
// With groups > 1 (C % groups == 0) C is split into `groups` consecutive blocks of
// C/groups channels, each normalised on its own per pixel (several LayerNorms over
// channel slices in one call): mean and rstd are [B, groups, H·W]; gamma and beta
// stay [C] (the blocks' affines concatenated), so do dgamma and dbeta.
struct ChannelNormParams {
  MapShape shape;
  int64_t groups = 1;
  MapIn x;
  const float* gamma = nullptr;  // [C]
  const float* beta = nullptr;   // [C]
  float eps = 1e-6f;
  MapOut y;               // may be x's memory exactly
  float* mean = nullptr;  // [B, groups, H·W] or null (inference)
  float* rstd = nullptr;
};
struct ChannelNormBackwardParams {
  MapShape shape;
  int64_t groups = 1;  // as the forward's
  MapIn dy, x;
  const float* gamma = nullptr;
  const float* mean = nullptr;
  const float* rstd = nullptr;
  MapOut dx;                      // may be dy's memory exactly
  float* dgamma = nullptr;        // [C], overwritten (null: not computed; give both or neither)
  float* dbeta = nullptr;
};

// ---- GroupNorm ---------------------------------------------------------------------
// torch.nn.GroupNorm: C split in `groups` (C % groups == 0), statistics over each
// group's channels and pixels, per-channel affine. mean and rstd are [B, groups].
struct GroupNormParams {
  MapShape shape;
  int64_t groups = 1;
  MapIn x;
  const float* gamma = nullptr;
  const float* beta = nullptr;
  float eps = 1e-5f;
  MapOut y;
  float* mean = nullptr;
  float* rstd = nullptr;
};
struct GroupNormBackwardParams {
  MapShape shape;
  int64_t groups = 1;
  MapIn dy, x;
  const float* gamma = nullptr;
  const float* mean = nullptr;
  const float* rstd = nullptr;
  MapOut dx;
  float* dgamma = nullptr;  // [C], overwritten (give both or neither)
  float* dbeta = nullptr;
};

// ---- depthwise convolution -----------------------------------------------------------
// y[b,c] = bias_c + Σ_{i,j} w[c,i,j] · x[b,c, h·1 − pad_h + i·dil_h, w − pad_w + j·dil_w]
// (zero outside), kernel kh × kw, stride 1, output (H + 2 pad_h − dil_h(kh − 1)) ×
// (W + 2 pad_w − dil_w(kw − 1)). A 1-D depthwise conv is H = kh = 1. With `gelu`
// the output is GELU(pre) and `pre` (optional, [out shape] dense) keeps pre for the
// backward.
struct DepthwiseConvParams {
  MapShape shape;  // the input's
  int64_t kh = 3, kw = 3, dil_h = 1, dil_w = 1, pad_h = 1, pad_w = 1;
  MapIn x;
  const float* weight = nullptr;  // [C, kh, kw]
  const float* bias = nullptr;    // [C] or null
  bool gelu = false;
  MapOut y;
  float* pre = nullptr;
};
struct DepthwiseConvBackwardParams {
  MapShape shape;  // the input's
  int64_t kh = 3, kw = 3, dil_h = 1, dil_w = 1, pad_h = 1, pad_w = 1;
  MapIn dy, x;
  const float* weight = nullptr;
  bool gelu = false;
  const float* pre = nullptr;  // with gelu: the forward's pre (dense, out shape)
  MapOut dx;                   // null data: not computed
  float* dweight = nullptr;    // [C, kh, kw], overwritten (null: not computed)
  float* dbias = nullptr;      // [C], overwritten (null: not computed)
};
// The output size of one axis, or −1 when it is < 1.
int64_t ConvOutputSize(int64_t in, int64_t k, int64_t dilation, int64_t pad);

// ---- pointwise (1×1) and dense k×k convolution ------------------------------------------
// y[b,o] = bias_o + Σ_i w[o,i,·,·] ⋆ x[b,i]: a GEMM per batch with the pixels as its
// columns. k = 1 is the pointwise conv (1-D too: H = 1); k > 1 is stride 1 with
// padding `pad` and output (H + 2 pad − k + 1) × (W + 2 pad − k + 1) (EGE-UNet's 3×3
// stem and decoder convs). `gelu` as for the depthwise conv.
struct ConvParams {
  MapShape shape;  // the input's (C = in channels)
  int64_t out_channels = 0, k = 1, pad = 0;
  MapIn x;
  const float* weight = nullptr;  // [out, C, k, k]
  const float* bias = nullptr;    // [out] or null
  bool gelu = false;
  MapOut y;
  float* pre = nullptr;
};
struct ConvBackwardParams {
  MapShape shape;
  int64_t out_channels = 0, k = 1, pad = 0;
  MapIn dy, x;
  const float* weight = nullptr;
  bool gelu = false;
  const float* pre = nullptr;
  MapOut dx;                 // null data: not computed
  float* dweight = nullptr;  // [out, C, k, k], overwritten (null: not computed)
  float* dbias = nullptr;    // [out], overwritten (null: not computed)
};

// ---- 2×2 max-pool, stride 2 ----------------------------------------------------------
// Output ⌊H/2⌋ × ⌊W/2⌋; the backward routes dy to the first maximum of each window in
// row-major order (PyTorch's choice), found again from x; NaN is a maximum.
struct MaxPoolParams {
  MapShape shape;  // the input's
  MapIn x;
  MapOut y;
};
struct MaxPoolBackwardParams {
  MapShape shape;
  MapIn dy, x;
  MapOut dx;  // overwritten, zeros off the maxima
};

// ---- bilinear resize, align_corners = true -------------------------------------------------
// y [B, C, out_h, out_w] samples x at (i·(H − 1)/(out_h − 1), j·(W − 1)/(out_w − 1))
// (position 0 when the output axis has one element). The backward scatters each dy
// with the same four weights into dx (overwritten), plane by plane in a fixed order.
struct ResizeParams {
  MapShape shape;  // the input's
  int64_t out_h = 0, out_w = 0;
  MapIn x;
  MapOut y;
};
struct ResizeBackwardParams {
  MapShape shape;  // the input's
  int64_t out_h = 0, out_w = 0;
  MapIn dy;
  MapOut dx;
};

// ---- broadcast Hadamard product -------------------------------------------------------------
// y[b,c,h,w] = x[b,c,h,w] · m, with m = map[c,h,w] (kPlane), map[c,h] (kRows:
// broadcast over w) or map[c,w] (kColumns: broadcast over h). y may be x's memory.
// The backward: dx = dy ⊙ m and dmap = the sum of dy ⊙ x over the broadcast axes
// (b, and w or h).
enum class MapBroadcast { kPlane = 0, kRows = 1, kColumns = 2 };
struct HadamardParams {
  MapShape shape;
  MapBroadcast broadcast = MapBroadcast::kPlane;
  MapIn x;
  const float* map = nullptr;
  MapOut y;
};
struct HadamardBackwardParams {
  MapShape shape;
  MapBroadcast broadcast = MapBroadcast::kPlane;
  MapIn dy, x;
  const float* map = nullptr;
  MapOut dx;              // null data: not computed; may be dy's memory
  float* dmap = nullptr;  // overwritten (null: not computed)
};

Status ChannelNorm(const Context& ctx, const ChannelNormParams& p);
Status ChannelNormBackward(const Context& ctx, const ChannelNormBackwardParams& p);
Status GroupNorm(const Context& ctx, const GroupNormParams& p);
Status GroupNormBackward(const Context& ctx, const GroupNormBackwardParams& p);
Status DepthwiseConv(const Context& ctx, const DepthwiseConvParams& p);
Status DepthwiseConvBackward(const Context& ctx, const DepthwiseConvBackwardParams& p);
Status Conv(const Context& ctx, const ConvParams& p);
Status ConvBackward(const Context& ctx, const ConvBackwardParams& p);
Status MaxPool(const Context& ctx, const MaxPoolParams& p);
Status MaxPoolBackward(const Context& ctx, const MaxPoolBackwardParams& p);
Status Resize(const Context& ctx, const ResizeParams& p);
Status ResizeBackward(const Context& ctx, const ResizeBackwardParams& p);
Status Hadamard(const Context& ctx, const HadamardParams& p);
Status HadamardBackward(const Context& ctx, const HadamardBackwardParams& p);

// Scalar references in double (host memory): the oracles of the tests.
Status ChannelNormReference(const ChannelNormParams& p);
Status ChannelNormBackwardReference(const ChannelNormBackwardParams& p);
Status GroupNormReference(const GroupNormParams& p);
Status GroupNormBackwardReference(const GroupNormBackwardParams& p);
Status DepthwiseConvReference(const DepthwiseConvParams& p);
Status DepthwiseConvBackwardReference(const DepthwiseConvBackwardParams& p);
Status ConvReference(const ConvParams& p);
Status ConvBackwardReference(const ConvBackwardParams& p);
Status MaxPoolReference(const MaxPoolParams& p);
Status MaxPoolBackwardReference(const MaxPoolBackwardParams& p);
Status ResizeReference(const ResizeParams& p);
Status ResizeBackwardReference(const ResizeBackwardParams& p);
Status HadamardReference(const HadamardParams& p);
Status HadamardBackwardReference(const HadamardBackwardParams& p);

}  // namespace frugal
