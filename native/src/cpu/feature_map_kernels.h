// Feature-map inner loops, one set per ISA level (internal to the core). The
// front end (native/src/core/feature_map.cc) cuts every op into tasks that own
// their outputs (planes, pixel blocks, rows) and calls these on one task's
// data; the parameter-gradient sums come back per task and are added by the
// front end in a fixed order. The SIMD levels are cpu/feature_map_*-inl.h, the
// scalar level is ref/feature_map_ref.cc (which also holds the double oracles).
#pragma once
#include <algorithm>
#include <cstdint>

#include "frugal/feature_map.h"
#include "frugal/isa.h"
#include "frugal/status.h"

namespace frugal {

namespace {
// The elements between batches of a view (0 means dense).
inline int64_t MapStride(int64_t batch_stride, int64_t dense) { return batch_stride ? batch_stride : dense; }
inline bool MapEmpty(const MapShape& s) { return s.B == 0 || s.C == 0 || s.H == 0 || s.W == 0; }
}  // namespace

// Lanes of one channel's slot in the ChannelNorm backward accumulators: the
// widest vector, so the layout is the same at every level (narrower levels
// leave the upper lanes zero).
constexpr int64_t kAccLanes = 16;

// n pixels of one batch for ChannelNorm: channel c of pixel j at x[c·hw + j];
// the channels in `groups` consecutive blocks of channels/groups, each
// normalised on its own, block k's mean and rstd at [k·hw + j].
struct ChannelNormPixels {
  int64_t channels, groups, hw, n;
  const float *x, *gamma, *beta;
  float eps;
  float *y, *mean, *rstd;  // mean and rstd may be null
};
struct ChannelNormBackwardPixels {
  int64_t channels, groups, hw, n;
  const float *dy, *x, *gamma, *mean, *rstd;
  float* dx;
  // [channels][kAccLanes], or null: += the lanes of Σ dy·x̂ and Σ dy.
  float *dgamma_acc, *dbeta_acc;
};

// One plane of a stride-1 2-D convolution with one kernel (depthwise):
//   out[r, s] = bias + Σ_{i,j} w[i, j] · in[r − pad_h + i·dil_h, s − pad_w + j·dil_w]
// (zero outside in), `flip` reading w[kh−1−i, kw−1−j] instead (the transposed
// conv of the backward). Pads may be negative (the backward's crops).
struct PlaneConv {
  int64_t in_h, in_w, out_h, out_w, kh, kw, dil_h, dil_w, pad_h, pad_w;
  const float* w;
  bool flip;
};

// The zero-padded copy of a conv's input rows that the kernels read with plain
// vector loads: column s of an output row reads buffer column s + j·dil_w +
// (left − pad_w), input column t sits at left + t, and every row has zeros up
// to whole vectors of the widest level (kAccLanes) past both the input row and
// the furthest tap of the last output vector. Internal linkage, as CeilDiv: the
// ISA units each keep their own copy.
namespace {
struct PaddedRows {
  int64_t left, width;
  explicit PaddedRows(const PlaneConv& g) {
    const auto whole = [](int64_t n) { return (n + kAccLanes - 1) / kAccLanes * kAccLanes; };
    left = std::max<int64_t>(g.pad_w, 0);
    width = std::max(whole(g.out_w) + (g.kw - 1) * g.dil_w - g.pad_w + left, left + whole(g.in_w));
  }
  int64_t floats(int64_t rows) const { return rows * width; }
};
}  // namespace

struct DepthwiseForwardPlane {
  PlaneConv g;
  const float* x;  // in_h × in_w
  float bias;
  bool gelu;
  float *y, *pre;  // out_h × out_w; pre may be null
};
// g is the forward's geometry.
struct DepthwiseBackwardPlane {
  PlaneConv g;
  const float *x, *dy, *pre;  // pre: with gelu
  bool gelu;
  float* dx;       // or null
  double* dw;      // [kh·kw] += Σ dpre · shifted x, or null
  double* dbias;   // += Σ dpre, or null
};

// A block of n pixels of the pointwise conv: y[o, j] = bias_o + Σ_i w[o, i]·x[i, j]
// (channel planes hw apart in x, y and pre), GELU'd with `gelu`.
struct PointwiseBlock {
  int64_t in_channels, out_channels, hw, n;
  const float *x, *w, *bias;  // bias may be null
  bool gelu;
  float *y, *pre;  // pre may be null
};
// The weight and bias gradient sums of the pointwise conv over a block of n
// pixels, fp32, overwritten: dw[o·in_channels + i] = Σ_j dpre[o, j]·x[i, j] and
// db[o] = Σ_j dpre[o, j] (planes hw apart).
struct PointwiseGradBlock {
  int64_t in_channels, out_channels, hw, n;
  const float *x, *dpre;
  float *dw, *db;  // either may be null
};

// ---- dense k×k conv, direct (small channel counts) ----------------------------------
// The direct kernels' weights come in output-channel quads, so that the four
// weights a register tile broadcasts for one tap are adjacent:
// w[((o / 4)·in_channels·k² + c·k² + t)·4 + o % 4], zeros past out_channels.
constexpr int64_t kConvQuad = 4;

// One batch of a stride-1 k × k conv, output rows [r0, r0 + rows):
//   y[o, r, s] = bias_o + Σ_{c,i,j} w[o, c, i, j] · x[c, r − pad + i, s − pad + j]
// (zero outside x; pad < 0 crops, as in the backward's transposed conv). x holds
// in_channels planes of in_h × in_w, y and pre out_channels planes of out_h ×
// out_w, GELU'd with `gelu`.
struct DenseConvRows {
  int64_t in_channels, out_channels, in_h, in_w, out_h, out_w, k, pad, r0, rows;
  const float *x, *w, *bias;  // w packed in quads; bias [out_channels] or null
  bool gelu;
  float *y, *pre;  // pre may be null
};
// The weight and bias gradient sums of the same block of output rows, fp32,
// overwritten: dw[o·in_channels·k² + c·k² + t] = Σ dpre[o, r, s] · x[c, r − pad + i,
// s − pad + j] and db[o] = Σ dpre[o, r, s] over the block's (r, s). The fields
// are DenseConvRows's; w, bias, y and pre are unused.
struct DenseConvGradRows {
  DenseConvRows g;
  const float* dpre;  // out_channels planes of out_h × out_w
  float *dw, *db;     // either may be null
};
// The geometry of the block's padded input rows (PaddedRows), and the floats
// of scratch both direct kernels need: every input channel's rows r0 − pad ..
// r0 + rows − 1 − pad + k − 1, zero rows off the map (internal linkage, as
// PaddedRows).
namespace {
inline PlaneConv DenseConvGeometry(const DenseConvRows& d) {
  return PlaneConv{d.in_h, d.in_w, d.out_h, d.out_w, d.k, d.k, 1, 1, d.pad, d.pad, nullptr, false};
}
inline int64_t DenseConvScratch(const DenseConvRows& d) {
  return PaddedRows(DenseConvGeometry(d)).floats(d.in_channels * (d.rows + d.k - 1));
}
}  // namespace

// Bilinear taps (align_corners) of one axis: output i reads index[i] and
// index[i] + step[i] with weights 1 − lambda[i] and lambda[i]. The column
// taps go on for kAccLanes zero entries past out_w, so the vector levels read
// them in whole vectors.
struct ResizeAxis {
  const int32_t *index, *step;
  const float* lambda;
};
struct ResizePlane {
  int64_t in_h, in_w, out_h, out_w;
  ResizeAxis rows, cols;
};
// Scratch of the resize kernels: a row of in_w floats (the scalar level) and
// two rows of out_w in whole vectors (the vector levels' sampled rows, or the
// backward's row sums). Internal linkage, as PaddedRows.
namespace {
inline int64_t ResizeRowFloats(int64_t out_w) { return (out_w + kAccLanes - 1) / kAccLanes * kAccLanes; }
inline int64_t ResizeScratch(int64_t in_w, int64_t out_w) { return in_w + 2 * ResizeRowFloats(out_w); }
}  // namespace

struct FeatureMapKernels {
  void (*channel_norm)(const ChannelNormPixels& p);
  void (*channel_norm_backward)(const ChannelNormBackwardPixels& p);
  // *sum_a += Σ (a − shift_a); with b, *sum_ab += Σ (a − shift_a)(b − shift_b);
  // fp32 over short blocks (the vector levels: 256 floats), double across them.
  void (*sums)(int64_t n, const float* a, float shift_a, const float* b, float shift_b, double* sum_a,
               double* sum_ab);
  // y = (x − m)·a + c.
  void (*affine)(int64_t n, const float* x, float m, float a, float c, float* y);
  // dx = a·dy + b·(x − m) + c.
  void (*affine2)(int64_t n, const float* dy, const float* x, float a, float m, float b, float c, float* dx);
  // out = a ⊙ b, and acc += a ⊙ b.
  void (*mul)(int64_t n, const float* a, const float* b, float* out);
  void (*mul_acc)(int64_t n, const float* a, const float* b, float* acc);
  // dpre = dy ⊙ GELU'(pre).
  void (*gelu_grad)(int64_t n, const float* dy, const float* pre, float* dpre);
  // scratch: PaddedRows(g).floats(in_h), and for the backward
  // PaddedRows(transposed g).floats(out_h) more (DepthwiseScratch).
  void (*depthwise)(const DepthwiseForwardPlane& p, float* scratch);
  void (*depthwise_backward)(const DepthwiseBackwardPlane& p, float* scratch);
  void (*pointwise)(const PointwiseBlock& p);
  // scratch: DenseConvScratch(rows) floats (the gradient's rows are p.g).
  void (*dense_conv)(const DenseConvRows& p, float* scratch);
  void (*dense_conv_grad)(const DenseConvGradRows& p, float* scratch);
  // One plane each (x in_h × in_w, y ⌊in_h/2⌋ × ⌊in_w/2⌋); the backward overwrites dx.
  void (*max_pool)(int64_t in_h, int64_t in_w, const float* x, float* y);
  void (*max_pool_backward)(int64_t in_h, int64_t in_w, const float* dy, const float* x, float* dx);
  // scratch: ResizeScratch(in_w, out_w) floats.
  void (*resize)(const ResizePlane& r, const float* x, float* y, float* scratch);
  void (*resize_backward)(const ResizePlane& r, const float* dy, float* dx, float* scratch);
  void (*pointwise_grad)(const PointwiseGradBlock& p);
};

// The kernels of an ISA level (the caller makes sure the CPU has it).
const FeatureMapKernels& FeatureMapKernelsFor(Isa isa);

// The backward's transposed geometry: dpre (out_h × out_w) in, dx out.
PlaneConv TransposedConv(const PlaneConv& g);
// Floats of scratch the depthwise kernels need for one plane.
int64_t DepthwiseScratch(const PlaneConv& g, bool backward);

// Argument checks shared by the front end and the references (feature_map.cc).
Status CheckParams(const ChannelNormParams& p);
Status CheckParams(const ChannelNormBackwardParams& p);
Status CheckParams(const GroupNormParams& p);
Status CheckParams(const GroupNormBackwardParams& p);
Status CheckParams(const DepthwiseConvParams& p);
Status CheckParams(const DepthwiseConvBackwardParams& p);
Status CheckParams(const ConvParams& p);
Status CheckParams(const ConvBackwardParams& p);
Status CheckParams(const MaxPoolParams& p);
Status CheckParams(const MaxPoolBackwardParams& p);
Status CheckParams(const ResizeParams& p);
Status CheckParams(const ResizeBackwardParams& p);
Status CheckParams(const HadamardParams& p);
Status CheckParams(const HadamardBackwardParams& p);

// Each level's namespace declares the same kernels.
#define FRUGAL_FEATURE_MAP_KERNELS                                                                        \
  void ChannelNormKernel(const ChannelNormPixels& p);                                                     \
  void ChannelNormBackwardKernel(const ChannelNormBackwardPixels& p);                                     \
  void SumsKernel(int64_t n, const float* a, float shift_a, const float* b, float shift_b, double* sum_a, \
                  double* sum_ab);                                                                        \
  void AffineKernel(int64_t n, const float* x, float m, float a, float c, float* y);                     \
  void Affine2Kernel(int64_t n, const float* dy, const float* x, float a, float m, float b, float c,     \
                     float* dx);                                                                          \
  void MulKernel(int64_t n, const float* a, const float* b, float* out);                                 \
  void MulAccKernel(int64_t n, const float* a, const float* b, float* acc);                              \
  void GeluGradKernel(int64_t n, const float* dy, const float* pre, float* dpre);                        \
  void DepthwiseKernel(const DepthwiseForwardPlane& p, float* scratch);                                   \
  void DepthwiseBackwardKernel(const DepthwiseBackwardPlane& p, float* scratch);                          \
  void PointwiseKernel(const PointwiseBlock& p);                                                           \
  void DenseConvKernel(const DenseConvRows& p, float* scratch);                                           \
  void DenseConvGradKernel(const DenseConvGradRows& p, float* scratch);                                   \
  void MaxPoolKernel(int64_t in_h, int64_t in_w, const float* x, float* y);                               \
  void MaxPoolBackwardKernel(int64_t in_h, int64_t in_w, const float* dy, const float* x, float* dx);     \
  void ResizeKernel(const ResizePlane& r, const float* x, float* y, float* scratch);                       \
  void ResizeBackwardKernel(const ResizePlane& r, const float* dy, float* dx, float* scratch);             \
  void PointwiseGradKernel(const PointwiseGradBlock& p);

namespace ref {
FRUGAL_FEATURE_MAP_KERNELS
}  // namespace ref
namespace avx2 {
FRUGAL_FEATURE_MAP_KERNELS
}  // namespace avx2
namespace avx512 {
FRUGAL_FEATURE_MAP_KERNELS
}  // namespace avx512
#undef FRUGAL_FEATURE_MAP_KERNELS

}  // namespace frugal
