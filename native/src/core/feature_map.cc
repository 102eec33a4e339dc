// Feature-map front end (norms, pooling, resize, Hadamard products; the
// convolutions are in feature_map_conv.cc): the argument checks every backend
// shares, then the kernels of the active ISA over the pool, or the CUDA launchers.
//
// Determinism: every output element is written by one task. Parameter
// gradients are sums per fixed block (a (batch, channel) plane, or a block of
// pixels whose bounds depend on the shape only) added in block order.
#include "frugal/feature_map.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "core/front_end.h"
#include "cpu/feature_map_kernels.h"
#include "cpu/kernel_table.h"
#include "frugal/isa.h"
#ifdef FRUGAL_WITH_CUDA
#include "cuda/feature_map.h"
#endif

namespace frugal {

const FeatureMapKernels& FeatureMapKernelsFor(Isa isa) {
#define FRUGAL_FEATURE_MAP_TABLE(ns)                                                                   \
  FeatureMapKernels {                                                                                  \
    ns::ChannelNormKernel, ns::ChannelNormBackwardKernel, ns::SumsKernel, ns::AffineKernel,            \
        ns::Affine2Kernel, ns::MulKernel, ns::MulAccKernel, ns::GeluGradKernel, ns::DepthwiseKernel,   \
        ns::DepthwiseBackwardKernel, ns::PointwiseKernel, ns::DenseConvKernel, ns::DenseConvGradKernel, \
        ns::MaxPoolKernel, ns::MaxPoolBackwardKernel, ns::ResizeKernel, ns::ResizeBackwardKernel,       \
        ns::PointwiseGradKernel                                                                        \
  }
  static const FeatureMapKernels kRef = FRUGAL_FEATURE_MAP_TABLE(ref);
  static const FeatureMapKernels kAvx2 = FRUGAL_FEATURE_MAP_TABLE(avx2);
  static const FeatureMapKernels kAvx512 = FRUGAL_FEATURE_MAP_TABLE(avx512);
#undef FRUGAL_FEATURE_MAP_TABLE
  return KernelsOfLevel(isa, kRef, kAvx2, kAvx512);
}

int64_t ConvOutputSize(int64_t in, int64_t k, int64_t dilation, int64_t pad) {
  const int64_t out = in + 2 * pad - dilation * (k - 1);
  return out < 1 ? -1 : out;
}

namespace {

std::string Str(int64_t v) { return std::to_string(v); }

// Sizes >= 0 whose product fits 64 bits.
Status CheckShape(const char* op, const MapShape& s) {
  if (s.B < 0 || s.C < 0 || s.H < 0 || s.W < 0) {
    return Status::Shape(std::string(op) + ": expected B, C, H, W >= 0, got " + Str(s.B) + ", " + Str(s.C) + ", " +
                         Str(s.H) + ", " + Str(s.W));
  }
  int64_t n = 1;
  for (int64_t d : {s.B, s.C, s.H, s.W}) {
    if (d > 0 && n > INT64_MAX / 4 / d) return Status::Shape(std::string(op) + ": B × C × H × W overflows");
    n *= std::max<int64_t>(d, 1);
  }
  return Status::Ok();
}

// A view of `dense` floats per batch: a batch stride of 0 (dense) or >= dense,
// and data unless the problem is empty (or the view optional and absent).
Status CheckView(const char* op, const char* name, const void* data, int64_t batch_stride, int64_t dense,
                 bool needed) {
  if (batch_stride < 0 || (batch_stride != 0 && batch_stride < dense)) {
    return Status::Shape(std::string(op) + ": " + name + " batch_stride " + Str(batch_stride) +
                         " is below the dense " + Str(dense));
  }
  if (needed && !data) return NullArgument(op, name);
  return Status::Ok();
}

Status NeedPointer(const char* op, const char* name, const void* data, bool needed) {
  return needed && !data ? NullArgument(op, name) : Status::Ok();
}

Status CheckEps(const char* op, float eps) {
  if (std::isfinite(eps) && eps > 0) return Status::Ok();
  return Status::Range(std::string(op) + ": expected eps finite and > 0, got " + std::to_string(eps));
}

Status BothOrNeither(const char* op, const void* a, const void* b) {
  if ((a == nullptr) == (b == nullptr)) return Status::Ok();
  return Status::Native(std::string(op) + ": give both dgamma and dbeta or neither");
}

Status CheckGroups(const char* op, const MapShape& s, int64_t groups) {
  if (groups < 1 || (s.C > 0 && s.C % groups != 0)) {
    return Status::Shape(std::string(op) + ": expected groups >= 1 dividing C = " + Str(s.C) + ", got " + Str(groups));
  }
  return Status::Ok();
}

int64_t Planes(const MapShape& s) { return s.B * s.C; }

// Plane (b, c) of a view: data + b·stride + c·plane.
template <class T>
T* PlaneOf(T* data, int64_t batch_stride, int64_t plane, int64_t channels, int64_t index) {
  return data + (index / channels) * MapStride(batch_stride, channels * plane) + (index % channels) * plane;
}

// Runs fn(plane index) over every (batch, channel) plane, a few planes a task.
template <class Fn>
void ForPlanes(const MapShape& s, int64_t plane_floats, const Fn& fn) {
  const int64_t per_task = std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, plane_floats));
  const int64_t planes = Planes(s);
  ParallelFor(CeilDiv(planes, per_task), [&](int64_t t) {
    for (int64_t i = t * per_task; i < std::min(planes, (t + 1) * per_task); ++i) fn(i);
  });
}

}  // namespace

// ---- argument checks ------------------------------------------------------------------
// ChannelNorm and GroupNorm take the same fields (shape, groups, views, affine,
// statistics); only the name and what `groups` splits differ.
template <class Params>
Status CheckNormForward(const char* op, const Params& p) {
  FRUGAL_RETURN_IF_ERROR(CheckShape(op, p.shape));
  FRUGAL_RETURN_IF_ERROR(CheckGroups(op, p.shape, p.groups));
  FRUGAL_RETURN_IF_ERROR(CheckEps(op, p.eps));
  const bool work = !MapEmpty(p.shape);
  const int64_t dense = p.shape.C * p.shape.H * p.shape.W;
  FRUGAL_RETURN_IF_ERROR(CheckView(op, "x", p.x.data, p.x.batch_stride, dense, work));
  FRUGAL_RETURN_IF_ERROR(CheckView(op, "y", p.y.data, p.y.batch_stride, dense, work));
  FRUGAL_RETURN_IF_ERROR(NeedPointer(op, "gamma", p.gamma, work));
  return NeedPointer(op, "beta", p.beta, work);
}

template <class Params>
Status CheckNormBackward(const char* op, const Params& p) {
  FRUGAL_RETURN_IF_ERROR(CheckShape(op, p.shape));
  FRUGAL_RETURN_IF_ERROR(CheckGroups(op, p.shape, p.groups));
  FRUGAL_RETURN_IF_ERROR(BothOrNeither(op, p.dgamma, p.dbeta));
  const bool work = !MapEmpty(p.shape);
  const int64_t dense = p.shape.C * p.shape.H * p.shape.W;
  FRUGAL_RETURN_IF_ERROR(CheckView(op, "dy", p.dy.data, p.dy.batch_stride, dense, work));
  FRUGAL_RETURN_IF_ERROR(CheckView(op, "x", p.x.data, p.x.batch_stride, dense, work));
  FRUGAL_RETURN_IF_ERROR(CheckView(op, "dx", p.dx.data, p.dx.batch_stride, dense, work));
  FRUGAL_RETURN_IF_ERROR(NeedPointer(op, "gamma", p.gamma, work));
  FRUGAL_RETURN_IF_ERROR(NeedPointer(op, "mean", p.mean, work));
  return NeedPointer(op, "rstd", p.rstd, work);
}

Status CheckParams(const ChannelNormParams& p) { return CheckNormForward("channelNorm", p); }
Status CheckParams(const ChannelNormBackwardParams& p) { return CheckNormBackward("channelNormBackward", p); }
Status CheckParams(const GroupNormParams& p) { return CheckNormForward("groupNorm", p); }
Status CheckParams(const GroupNormBackwardParams& p) { return CheckNormBackward("groupNormBackward", p); }

Status CheckParams(const MaxPoolParams& p) {
  const char* op = "maxPool";
  FRUGAL_RETURN_IF_ERROR(CheckShape(op, p.shape));
  const MapShape& s = p.shape;
  const bool work = !MapEmpty(s) && s.H >= 2 && s.W >= 2;
  FRUGAL_RETURN_IF_ERROR(CheckView(op, "x", p.x.data, p.x.batch_stride, s.C * s.H * s.W, work));
  return CheckView(op, "y", p.y.data, p.y.batch_stride, s.C * (s.H / 2) * (s.W / 2), work);
}

Status CheckParams(const MaxPoolBackwardParams& p) {
  const char* op = "maxPoolBackward";
  FRUGAL_RETURN_IF_ERROR(CheckShape(op, p.shape));
  const MapShape& s = p.shape;
  const bool work = !MapEmpty(s), windows = work && s.H >= 2 && s.W >= 2;
  FRUGAL_RETURN_IF_ERROR(CheckView(op, "dy", p.dy.data, p.dy.batch_stride, s.C * (s.H / 2) * (s.W / 2), windows));
  FRUGAL_RETURN_IF_ERROR(CheckView(op, "x", p.x.data, p.x.batch_stride, s.C * s.H * s.W, windows));
  return CheckView(op, "dx", p.dx.data, p.dx.batch_stride, s.C * s.H * s.W, work);
}

namespace {
Status CheckResizeSize(const char* op, const MapShape& s, int64_t out_h, int64_t out_w) {
  FRUGAL_RETURN_IF_ERROR(CheckShape(op, s));
  if (out_h < 0 || out_w < 0 || out_h > INT32_MAX || out_w > INT32_MAX || s.H > INT32_MAX || s.W > INT32_MAX) {
    return Status::Shape(std::string(op) + ": expected 0 <= out_h, out_w, H, W < 2^31, got out " + Str(out_h) +
                         " × " + Str(out_w));
  }
  if (out_h > 0 && out_w > 0 && s.C > 0 && s.B > 0 && INT64_MAX / 4 / out_h / out_w < s.B * s.C) {
    return Status::Shape(std::string(op) + ": the output size overflows");
  }
  return Status::Ok();
}
bool ResizeEmpty(const MapShape& s, int64_t out_h, int64_t out_w) { return MapEmpty(s) || out_h == 0 || out_w == 0; }
}  // namespace

Status CheckParams(const ResizeParams& p) {
  const char* op = "resize";
  FRUGAL_RETURN_IF_ERROR(CheckResizeSize(op, p.shape, p.out_h, p.out_w));
  const MapShape& s = p.shape;
  const bool work = !ResizeEmpty(s, p.out_h, p.out_w);
  FRUGAL_RETURN_IF_ERROR(CheckView(op, "x", p.x.data, p.x.batch_stride, s.C * s.H * s.W, work));
  return CheckView(op, "y", p.y.data, p.y.batch_stride, s.C * p.out_h * p.out_w, work);
}

Status CheckParams(const ResizeBackwardParams& p) {
  const char* op = "resizeBackward";
  FRUGAL_RETURN_IF_ERROR(CheckResizeSize(op, p.shape, p.out_h, p.out_w));
  const MapShape& s = p.shape;
  FRUGAL_RETURN_IF_ERROR(
      CheckView(op, "dy", p.dy.data, p.dy.batch_stride, s.C * p.out_h * p.out_w, !ResizeEmpty(s, p.out_h, p.out_w)));
  return CheckView(op, "dx", p.dx.data, p.dx.batch_stride, s.C * s.H * s.W, !MapEmpty(s));
}

namespace {
Status CheckBroadcast(const char* op, MapBroadcast b) {
  if (b == MapBroadcast::kPlane || b == MapBroadcast::kRows || b == MapBroadcast::kColumns) return Status::Ok();
  return Status::Range(std::string(op) + ": unknown broadcast " + Str(static_cast<int>(b)));
}
}  // namespace

Status CheckParams(const HadamardParams& p) {
  const char* op = "hadamard";
  FRUGAL_RETURN_IF_ERROR(CheckShape(op, p.shape));
  FRUGAL_RETURN_IF_ERROR(CheckBroadcast(op, p.broadcast));
  const bool work = !MapEmpty(p.shape);
  const int64_t dense = p.shape.C * p.shape.H * p.shape.W;
  FRUGAL_RETURN_IF_ERROR(CheckView(op, "x", p.x.data, p.x.batch_stride, dense, work));
  FRUGAL_RETURN_IF_ERROR(CheckView(op, "y", p.y.data, p.y.batch_stride, dense, work));
  return NeedPointer(op, "map", p.map, work);
}

Status CheckParams(const HadamardBackwardParams& p) {
  const char* op = "hadamardBackward";
  FRUGAL_RETURN_IF_ERROR(CheckShape(op, p.shape));
  FRUGAL_RETURN_IF_ERROR(CheckBroadcast(op, p.broadcast));
  const bool work = !MapEmpty(p.shape);
  const int64_t dense = p.shape.C * p.shape.H * p.shape.W;
  FRUGAL_RETURN_IF_ERROR(CheckView(op, "dy", p.dy.data, p.dy.batch_stride, dense, work));
  FRUGAL_RETURN_IF_ERROR(CheckView(op, "x", p.x.data, p.x.batch_stride, dense, work && p.dmap));
  FRUGAL_RETURN_IF_ERROR(CheckView(op, "dx", p.dx.data, p.dx.batch_stride, dense, false));
  return NeedPointer(op, "map", p.map, work && p.dx.data);
}

// ---- ChannelNorm ---------------------------------------------------------------------------
namespace {

// Pixels per forward task, and the most blocks of the backward's parameter sums.
constexpr int64_t kPixelsPerTask = 1024;
constexpr int64_t kMaxBlocks = 64;

Status ChannelNormCpu(const ChannelNormParams& p) {
  const FeatureMapKernels& k = FeatureMapKernelsFor(ActiveIsa());
  const MapShape& s = p.shape;
  const int64_t hw = s.H * s.W, dense = s.C * hw, per_batch = CeilDiv(hw, kPixelsPerTask);
  const int64_t stats = p.groups * hw;  // statistics per batch
  ParallelFor(s.B * per_batch, [&](int64_t t) {
    const int64_t b = t / per_batch, j = t % per_batch * kPixelsPerTask;
    ChannelNormPixels q{s.C, p.groups, hw, std::min(kPixelsPerTask, hw - j),
                        p.x.data + b * MapStride(p.x.batch_stride, dense) + j, p.gamma, p.beta, p.eps,
                        p.y.data + b * MapStride(p.y.batch_stride, dense) + j,
                        p.mean ? p.mean + b * stats + j : nullptr, p.rstd ? p.rstd + b * stats + j : nullptr};
    k.channel_norm(q);
  });
  return Status::Ok();
}

Status ChannelNormBackwardCpu(const ChannelNormBackwardParams& p) {
  const FeatureMapKernels& k = FeatureMapKernelsFor(ActiveIsa());
  const MapShape& s = p.shape;
  const int64_t hw = s.H * s.W, dense = s.C * hw, pixels = s.B * hw, stats = p.groups * hw;
  // Blocks of the flattened (batch, pixel) range, their number a function of the shape.
  const int64_t blocks = std::min({pixels, kMaxBlocks, std::max<int64_t>(1, pixels * s.C >> 15)});
  const int64_t slot = s.C * kAccLanes;
  std::vector<float> partial;
  if (p.dgamma) {
    try {
      partial.assign(static_cast<size_t>(2 * blocks * slot), 0.0f);
    } catch (const std::bad_alloc&) {
      return Status::Native("channelNormBackward: out of memory for the dgamma/dbeta partial sums");
    }
  }
  ParallelFor(blocks, [&](int64_t blk) {
    float* acc = p.dgamma ? partial.data() + 2 * blk * slot : nullptr;
    const int64_t end = (blk + 1) * pixels / blocks;
    for (int64_t at = blk * pixels / blocks; at < end;) {
      const int64_t b = at / hw, j = at % hw, n = std::min(end - at, hw - j);
      ChannelNormBackwardPixels q{s.C, p.groups, hw, n, p.dy.data + b * MapStride(p.dy.batch_stride, dense) + j,
                                  p.x.data + b * MapStride(p.x.batch_stride, dense) + j, p.gamma,
                                  p.mean + b * stats + j, p.rstd + b * stats + j,
                                  p.dx.data + b * MapStride(p.dx.batch_stride, dense) + j, acc,
                                  acc ? acc + slot : nullptr};
      k.channel_norm_backward(q);
      at += n;
    }
  });
  for (int64_t c = 0; p.dgamma && c < s.C; ++c) {
    float g = 0, b = 0;
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const float* acc = partial.data() + 2 * blk * slot + c * kAccLanes;
      for (int64_t l = 0; l < kAccLanes; ++l) {
        g += acc[l];
        b += acc[slot + l];
      }
    }
    p.dgamma[c] = g;
    p.dbeta[c] = b;
  }
  return Status::Ok();
}

// Zeros of the two parameter gradients of an empty backward.
Status ZeroPair(const Context& ctx, float* a, float* b, int64_t n) {
  FRUGAL_RETURN_IF_ERROR(ZeroFloats(ctx, a, n));
  return ZeroFloats(ctx, b, n);
}

}  // namespace

Status ChannelNorm(const Context& ctx, const ChannelNormParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  return Dispatch("channelNorm", ctx, Empty{MapEmpty(p.shape)}, [&] { return ChannelNormCpu(p); },
                  FRUGAL_CUDA_PATH(ChannelNormCuda(p, ctx.stream)));
}

Status ChannelNormBackward(const Context& ctx, const ChannelNormBackwardParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const Empty empty{MapEmpty(p.shape), [&] { return ZeroPair(ctx, p.dgamma, p.dbeta, std::max<int64_t>(p.shape.C, 0)); }};
  return Dispatch("channelNormBackward", ctx, empty, [&] { return ChannelNormBackwardCpu(p); },
                  FRUGAL_CUDA_PATH(ChannelNormBackwardCuda(p, ctx.stream)));
}

// ---- GroupNorm ------------------------------------------------------------------------------
namespace {

// Per (batch, channel) plane sums, then per group in channel order: the
// statistics never depend on how the planes were spread over the threads.
Status GroupNormCpu(const GroupNormParams& p) {
  const FeatureMapKernels& k = FeatureMapKernelsFor(ActiveIsa());
  const MapShape& s = p.shape;
  const int64_t hw = s.H * s.W, cg = s.C / p.groups;
  std::vector<double> sums;
  std::vector<float> scale;  // per group: mean, rstd
  try {
    sums.assign(static_cast<size_t>(2 * Planes(s)), 0.0);
    scale.assign(static_cast<size_t>(2 * s.B * p.groups), 0.0f);
  } catch (const std::bad_alloc&) {
    return Status::Native("groupNorm: out of memory for the statistics");
  }
  // Shifted by the group's first value: the variance from the two sums then loses
  // nothing to cancellation when the mean is far from zero.
  const auto shift_of = [&](int64_t i) { return *PlaneOf(p.x.data, p.x.batch_stride, hw, s.C, i - i % s.C % cg); };
  ForPlanes(s, hw, [&](int64_t i) {
    const float* x = PlaneOf(p.x.data, p.x.batch_stride, hw, s.C, i);
    const float shift = shift_of(i);
    k.sums(hw, x, shift, x, shift, &sums[2 * i], &sums[2 * i + 1]);
  });
  const double n = static_cast<double>(cg * hw);
  for (int64_t bg = 0; bg < s.B * p.groups; ++bg) {
    double s1 = 0, s2 = 0;
    for (int64_t c = 0; c < cg; ++c) {
      s1 += sums[2 * (bg * cg + c)];
      s2 += sums[2 * (bg * cg + c) + 1];
    }
    const double m = s1 / n, var = std::max(0.0, s2 / n - m * m);
    scale[2 * bg] = static_cast<float>(shift_of(bg * cg) + m);
    scale[2 * bg + 1] = static_cast<float>(1.0 / std::sqrt(var + p.eps));
    if (p.mean) p.mean[bg] = scale[2 * bg];
    if (p.rstd) p.rstd[bg] = scale[2 * bg + 1];
  }
  ForPlanes(s, hw, [&](int64_t i) {
    const int64_t c = i % s.C, bg = i / cg;
    const float mean = scale[2 * bg], rs = scale[2 * bg + 1];
    k.affine(hw, PlaneOf(p.x.data, p.x.batch_stride, hw, s.C, i), mean, rs * p.gamma[c], p.beta[c],
             PlaneOf(p.y.data, p.y.batch_stride, hw, s.C, i));
  });
  return Status::Ok();
}

Status GroupNormBackwardCpu(const GroupNormBackwardParams& p) {
  const FeatureMapKernels& k = FeatureMapKernelsFor(ActiveIsa());
  const MapShape& s = p.shape;
  const int64_t hw = s.H * s.W, cg = s.C / p.groups;
  std::vector<double> sums, coef;  // per plane Σdy, Σdy·(x − μ); per group mean(γdy), mean(γdy·x̂)
  try {
    sums.assign(static_cast<size_t>(2 * Planes(s)), 0.0);
    coef.assign(static_cast<size_t>(2 * s.B * p.groups), 0.0);
  } catch (const std::bad_alloc&) {
    return Status::Native("groupNormBackward: out of memory for the sums");
  }
  ForPlanes(s, hw, [&](int64_t i) {
    k.sums(hw, PlaneOf(p.dy.data, p.dy.batch_stride, hw, s.C, i), 0.0f,
           PlaneOf(p.x.data, p.x.batch_stride, hw, s.C, i), p.mean[i / cg], &sums[2 * i], &sums[2 * i + 1]);
  });
  const double n = static_cast<double>(cg * hw);
  for (int64_t bg = 0; bg < s.B * p.groups; ++bg) {
    double sg = 0, sgx = 0;
    for (int64_t c = 0; c < cg; ++c) {
      const int64_t i = bg * cg + c;
      sg += static_cast<double>(p.gamma[i % s.C]) * sums[2 * i];
      sgx += static_cast<double>(p.gamma[i % s.C]) * sums[2 * i + 1];
    }
    coef[2 * bg] = sg / n;
    coef[2 * bg + 1] = sgx * p.rstd[bg] / n;
  }
  // dx = rstd·(γ·dy − mean(γdy) − x̂·mean(γdy·x̂)), x̂ = (x − μ)·rstd.
  ForPlanes(s, hw, [&](int64_t i) {
    const int64_t bg = i / cg;
    const double rs = p.rstd[bg];
    k.affine2(hw, PlaneOf(p.dy.data, p.dy.batch_stride, hw, s.C, i), PlaneOf(p.x.data, p.x.batch_stride, hw, s.C, i),
              static_cast<float>(rs * p.gamma[i % s.C]), p.mean[bg], static_cast<float>(-rs * rs * coef[2 * bg + 1]),
              static_cast<float>(-rs * coef[2 * bg]), PlaneOf(p.dx.data, p.dx.batch_stride, hw, s.C, i));
  });
  for (int64_t c = 0; p.dgamma && c < s.C; ++c) {
    double g = 0, b = 0;
    for (int64_t bi = 0; bi < s.B; ++bi) {
      const int64_t i = bi * s.C + c;
      g += sums[2 * i + 1] * p.rstd[i / cg];
      b += sums[2 * i];
    }
    p.dgamma[c] = static_cast<float>(g);
    p.dbeta[c] = static_cast<float>(b);
  }
  return Status::Ok();
}

}  // namespace

Status GroupNorm(const Context& ctx, const GroupNormParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  return Dispatch("groupNorm", ctx, Empty{MapEmpty(p.shape)}, [&] { return GroupNormCpu(p); },
                  FRUGAL_CUDA_PATH(GroupNormCuda(p, ctx.stream)));
}

Status GroupNormBackward(const Context& ctx, const GroupNormBackwardParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const Empty empty{MapEmpty(p.shape), [&] { return ZeroPair(ctx, p.dgamma, p.dbeta, p.shape.C); }};
  return Dispatch("groupNormBackward", ctx, empty, [&] { return GroupNormBackwardCpu(p); },
                  FRUGAL_CUDA_PATH(GroupNormBackwardCuda(p, ctx.stream)));
}

// ---- max-pool -------------------------------------------------------------------------------
namespace {

// dx of a map without any window: zeros, plane by plane (a view may be a slice).
Status ZeroPlanes(const Context& ctx, const MapShape& s, MapOut dx) {
  const int64_t dense = s.C * s.H * s.W;
  for (int64_t b = 0; b < s.B; ++b) FRUGAL_RETURN_IF_ERROR(ZeroFloats(ctx, dx.data + b * MapStride(dx.batch_stride, dense), dense));
  return Status::Ok();
}

}  // namespace

Status MaxPool(const Context& ctx, const MaxPoolParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  const int64_t hw = s.H * s.W, ohw = (s.H / 2) * (s.W / 2);
  return Dispatch("maxPool", ctx, Empty{MapEmpty(s) || ohw == 0}, [&] {
    const FeatureMapKernels& k = FeatureMapKernelsFor(ActiveIsa());
    ForPlanes(s, hw, [&](int64_t i) {
      k.max_pool(s.H, s.W, PlaneOf(p.x.data, p.x.batch_stride, hw, s.C, i), PlaneOf(p.y.data, p.y.batch_stride, ohw, s.C, i));
    });
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(MaxPoolCuda(p, ctx.stream)));
}

Status MaxPoolBackward(const Context& ctx, const MaxPoolBackwardParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  const int64_t hw = s.H * s.W, ohw = (s.H / 2) * (s.W / 2);
  const Empty empty{MapEmpty(s) || ohw == 0, [&] { return MapEmpty(s) ? Status::Ok() : ZeroPlanes(ctx, s, p.dx); }};
  return Dispatch("maxPoolBackward", ctx, empty, [&] {
    const FeatureMapKernels& k = FeatureMapKernelsFor(ActiveIsa());
    ForPlanes(s, hw, [&](int64_t i) {
      k.max_pool_backward(s.H, s.W, PlaneOf(p.dy.data, p.dy.batch_stride, ohw, s.C, i),
                          PlaneOf(p.x.data, p.x.batch_stride, hw, s.C, i), PlaneOf(p.dx.data, p.dx.batch_stride, hw, s.C, i));
    });
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(MaxPoolBackwardCuda(p, ctx.stream)));
}

// ---- resize ---------------------------------------------------------------------------------
namespace {

// The taps of both axes (PyTorch's align_corners arithmetic, in float).
struct ResizeTaps {
  std::vector<int32_t> index, step;
  std::vector<float> lambda;
  ResizePlane plane;
};

Status MakeTaps(const char* op, const MapShape& s, int64_t out_h, int64_t out_w, ResizeTaps* t) {
  try {
    t->index.resize(static_cast<size_t>(out_h + out_w + kAccLanes));  // zero taps past out_w
    t->step.resize(t->index.size());
    t->lambda.resize(t->index.size());
  } catch (const std::bad_alloc&) {
    return Status::Native(std::string(op) + ": out of memory for the taps");
  }
  const auto axis = [&](int64_t in, int64_t out, int64_t at) {
    const float scale = out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f;
    for (int64_t i = 0; i < out; ++i) {
      const float src = scale * static_cast<float>(i);
      const int32_t i0 = std::min(static_cast<int32_t>(src), static_cast<int32_t>(in - 1));
      t->index[at + i] = i0;
      t->step[at + i] = i0 < in - 1 ? 1 : 0;
      t->lambda[at + i] = src - static_cast<float>(i0);
    }
  };
  axis(s.H, out_h, 0);
  axis(s.W, out_w, out_h);
  t->plane = ResizePlane{s.H, s.W, out_h, out_w, {t->index.data(), t->step.data(), t->lambda.data()},
                         {t->index.data() + out_h, t->step.data() + out_h, t->lambda.data() + out_h}};
  return Status::Ok();
}

// Runs fn(plane, scratch) over the planes; a failed scratch allocation is
// reported after the loop.
template <class Fn>
Status ForPlanesWithRow(const char* op, const MapShape& s, int64_t out_w, int64_t plane_floats, const Fn& fn) {
  std::atomic<bool> out_of_memory{false};
  ForPlanes(s, plane_floats, [&](int64_t i) {
    float* row;
    if (!Workspace(op, 0, ResizeScratch(s.W, out_w), &row).ok()) return out_of_memory.store(true);
    fn(i, row);
  });
  return out_of_memory ? Status::Native(std::string(op) + ": out of memory for a row of scratch") : Status::Ok();
}

}  // namespace

Status Resize(const Context& ctx, const ResizeParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  return Dispatch("resize", ctx, Empty{ResizeEmpty(s, p.out_h, p.out_w)}, [&] {
    ResizeTaps taps;
    FRUGAL_RETURN_IF_ERROR(MakeTaps("resize", s, p.out_h, p.out_w, &taps));
    const FeatureMapKernels& k = FeatureMapKernelsFor(ActiveIsa());
    const int64_t hw = s.H * s.W, ohw = p.out_h * p.out_w;
    return ForPlanesWithRow("resize", s, p.out_w, ohw, [&](int64_t i, float* row) {
      k.resize(taps.plane, PlaneOf(p.x.data, p.x.batch_stride, hw, s.C, i), PlaneOf(p.y.data, p.y.batch_stride, ohw, s.C, i), row);
    });
  }, FRUGAL_CUDA_PATH(ResizeCuda(p, ctx.stream)));
}

Status ResizeBackward(const Context& ctx, const ResizeBackwardParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  const Empty empty{ResizeEmpty(s, p.out_h, p.out_w), [&] { return MapEmpty(s) ? Status::Ok() : ZeroPlanes(ctx, s, p.dx); }};
  return Dispatch("resizeBackward", ctx, empty, [&] {
    ResizeTaps taps;
    FRUGAL_RETURN_IF_ERROR(MakeTaps("resizeBackward", s, p.out_h, p.out_w, &taps));
    const FeatureMapKernels& k = FeatureMapKernelsFor(ActiveIsa());
    const int64_t hw = s.H * s.W, ohw = p.out_h * p.out_w;
    return ForPlanesWithRow("resizeBackward", s, p.out_w, ohw, [&](int64_t i, float* row) {
      k.resize_backward(taps.plane, PlaneOf(p.dy.data, p.dy.batch_stride, ohw, s.C, i),
                        PlaneOf(p.dx.data, p.dx.batch_stride, hw, s.C, i), row);
    });
  }, FRUGAL_CUDA_PATH(ResizeBackwardCuda(p, ctx.stream)));
}

// ---- Hadamard -------------------------------------------------------------------------------
namespace {

// out = in ⊙ m over one (batch, channel) plane with the broadcast of `kind`.
void HadamardPlane(const FeatureMapKernels& k, MapBroadcast kind, const MapShape& s, int64_t c, const float* map,
                   const float* in, float* out) {
  const int64_t hw = s.H * s.W;
  switch (kind) {
    case MapBroadcast::kPlane: k.mul(hw, in, map + c * hw, out); return;
    case MapBroadcast::kRows:
      for (int64_t h = 0; h < s.H; ++h) k.affine(s.W, in + h * s.W, 0.0f, map[c * s.H + h], 0.0f, out + h * s.W);
      return;
    case MapBroadcast::kColumns:
      for (int64_t h = 0; h < s.H; ++h) k.mul(s.W, in + h * s.W, map + c * s.W, out + h * s.W);
      return;
  }
}

// dmap: each element summed over the batch (and w or h) in a fixed order by
// the one task that owns it: a channel, or a block of a channel's pixels.
void HadamardMapGradient(const FeatureMapKernels& k, const HadamardBackwardParams& p) {
  const MapShape& s = p.shape;
  const int64_t hw = s.H * s.W;
  const auto dy = [&](int64_t b, int64_t c) { return PlaneOf(p.dy.data, p.dy.batch_stride, hw, s.C, b * s.C + c); };
  const auto x = [&](int64_t b, int64_t c) { return PlaneOf(p.x.data, p.x.batch_stride, hw, s.C, b * s.C + c); };
  if (p.broadcast == MapBroadcast::kPlane) {
    const int64_t per_c = CeilDiv(hw, kPixelsPerTask);
    ParallelFor(s.C * per_c, [&](int64_t t) {
      const int64_t c = t / per_c, j = t % per_c * kPixelsPerTask, n = std::min(kPixelsPerTask, hw - j);
      float* out = p.dmap + c * hw + j;
      k.mul(n, dy(0, c) + j, x(0, c) + j, out);
      for (int64_t b = 1; b < s.B; ++b) k.mul_acc(n, dy(b, c) + j, x(b, c) + j, out);
    });
    return;
  }
  ParallelFor(s.C, [&](int64_t c) {
    if (p.broadcast == MapBroadcast::kRows) {
      for (int64_t h = 0; h < s.H; ++h) {
        double sum = 0, unused = 0;
        for (int64_t b = 0; b < s.B; ++b) k.sums(s.W, dy(b, c) + h * s.W, 0.0f, x(b, c) + h * s.W, 0.0f, &unused, &sum);
        p.dmap[c * s.H + h] = static_cast<float>(sum);
      }
      return;
    }
    float* out = p.dmap + c * s.W;
    std::fill(out, out + s.W, 0.0f);
    for (int64_t b = 0; b < s.B; ++b) {
      for (int64_t h = 0; h < s.H; ++h) k.mul_acc(s.W, dy(b, c) + h * s.W, x(b, c) + h * s.W, out);
    }
  });
}

int64_t MapFloats(MapBroadcast kind, const MapShape& s) {
  return kind == MapBroadcast::kRows ? s.C * s.H : kind == MapBroadcast::kColumns ? s.C * s.W : s.C * s.H * s.W;
}

}  // namespace

Status Hadamard(const Context& ctx, const HadamardParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  return Dispatch("hadamard", ctx, Empty{MapEmpty(s)}, [&] {
    const FeatureMapKernels& k = FeatureMapKernelsFor(ActiveIsa());
    const int64_t hw = s.H * s.W;
    ForPlanes(s, hw, [&](int64_t i) {
      HadamardPlane(k, p.broadcast, s, i % s.C, p.map, PlaneOf(p.x.data, p.x.batch_stride, hw, s.C, i),
                    PlaneOf(p.y.data, p.y.batch_stride, hw, s.C, i));
    });
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(HadamardCuda(p, ctx.stream)));
}

Status HadamardBackward(const Context& ctx, const HadamardBackwardParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckParams(p));
  const MapShape& s = p.shape;
  const Empty empty{MapEmpty(s), [&] { return ZeroFloats(ctx, p.dmap, MapFloats(p.broadcast, s)); }};
  return Dispatch("hadamardBackward", ctx, empty, [&] {
    const FeatureMapKernels& k = FeatureMapKernelsFor(ActiveIsa());
    const int64_t hw = s.H * s.W;
    // dmap first: dx may overwrite dy.
    if (p.dmap) HadamardMapGradient(k, p);
    if (p.dx.data) {
      ForPlanes(s, hw, [&](int64_t i) {
        HadamardPlane(k, p.broadcast, s, i % s.C, p.map, PlaneOf(p.dy.data, p.dy.batch_stride, hw, s.C, i),
                      PlaneOf(p.dx.data, p.dx.batch_stride, hw, s.C, i));
      });
    }
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(HadamardBackwardCuda(p, ctx.stream)));
}

}  // namespace frugal
