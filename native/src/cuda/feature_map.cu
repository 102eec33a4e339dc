// CUDA launchers of the feature-map resampling and broadcast ops
// (frugal/feature_map.h): 2×2 max-pool, bilinear resize (align_corners) and the
// broadcast Hadamard product. The normalisations are in feature_map_norm.cu, the
// convolutions in feature_map_conv.cu.
// Every backward is a gather: each output element (dx, dmap) is one thread's (or
// one warp's) fixed-order sum, so no atomics and results depend on the shape only.
#include <cstdint>

#include "cuda/feature_map.h"
#include "feature_map_common.cuh"

namespace frugal {
namespace {

using fm::kThreads;
using fm::Stride;

// ---- max-pool --------------------------------------------------------------------------

// The first maximum of window (oh, ow) in row-major order, NaN counting as the
// maximum (the first NaN wins): its index 0..3 (row·2 + column) and value.
__device__ __forceinline__ int WindowArgmax(const float* plane, long long W, long long oh, long long ow,
                                            float* value) {
  const float* r = plane + 2 * oh * W + 2 * ow;
  const float v[4] = {r[0], r[1], r[W], r[W + 1]};
  int best = 0;
  for (int k = 1; k < 4; ++k) {
    if (v[k] > v[best] || (isnan(v[k]) && !isnan(v[best]))) best = k;
  }
  *value = v[best];
  return best;
}

__global__ void MaxPoolKernel(const float* x, long long xs, long long C, long long H, long long W, long long total,
                              float* y, long long ys) {
  const long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (e >= total) return;
  const long long ho = H / 2, wo = W / 2, po = ho * wo, cpo = C * po;
  const long long b = e / cpo, r = e % cpo, c = r / po;
  float v;
  WindowArgmax(x + b * xs + c * H * W, W, (r % po) / wo, r % wo, &v);
  y[b * ys + r] = v;
}

// One thread per dx element: dy where it is its window's first maximum, else 0
// (also for the last row or column of an odd size, which no window covers).
__global__ void MaxPoolDxKernel(const float* dy, long long ds, const float* x, long long xs, long long C, long long H,
                                long long W, long long total, float* dx, long long dxs) {
  const long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (e >= total) return;
  const long long hw = H * W, chw = C * hw, ho = H / 2, wo = W / 2;
  const long long b = e / chw, r = e % chw, c = r / hw, h = (r % hw) / W, w = r % W;
  float out = 0;
  if (h / 2 < ho && w / 2 < wo) {
    float v;
    const int at = WindowArgmax(x + b * xs + c * hw, W, h / 2, w / 2, &v);
    if (at == static_cast<int>((h % 2) * 2 + w % 2)) out = dy[b * ds + (c * ho + h / 2) * wo + w / 2];
  }
  dx[b * dxs + r] = out;
}

// ---- bilinear resize ---------------------------------------------------------------------

// The two source indices and the weight of the second along one axis for output
// index i; scale = (n − 1)/(out − 1), or 0 when out has one element.
struct Tap {
  long long i0, i1;
  float l;
};
__device__ __forceinline__ Tap AxisTap(long long i, float scale, long long n) {
  const float src = scale * static_cast<float>(i);
  long long i0 = static_cast<long long>(src);  // src >= 0: truncation is floor
  if (i0 > n - 1) i0 = n - 1;
  return {i0, i0 + 1 < n ? i0 + 1 : n - 1, src - static_cast<float>(i0)};
}

// The weight output index i gives source index h (both taps may be h at the edge).
__device__ __forceinline__ float TapWeight(const Tap& t, long long h) {
  return (t.i0 == h ? 1.0f - t.l : 0.0f) + (t.i1 == h ? t.l : 0.0f);
}

// The output indices whose taps can reach source index h: [*lo, *hi]. The
// analytic bounds are widened by one each side; TapWeight sorts out the rest.
__device__ __forceinline__ void TapRange(long long h, float scale, long long out, long long* lo, long long* hi) {
  if (scale == 0.0f) {
    *lo = 0, *hi = out - 1;
    return;
  }
  const long long a = static_cast<long long>(floorf((h - 1) / scale)) - 1;
  const long long z = static_cast<long long>(ceilf((h + 1) / scale)) + 1;
  *lo = a < 0 ? 0 : a;
  *hi = z > out - 1 ? out - 1 : z;
}

struct ResizeGeom {
  long long C, H, W, oh, ow;
  float sh, sw;
};

ResizeGeom Geometry(const MapShape& s, int64_t out_h, int64_t out_w) {
  const auto scale = [](int64_t n, int64_t out) {
    return out > 1 ? static_cast<float>(n - 1) / static_cast<float>(out - 1) : 0.0f;
  };
  return {s.C, s.H, s.W, out_h, out_w, scale(s.H, out_h), scale(s.W, out_w)};
}

__global__ void ResizeKernel(const float* x, long long xs, ResizeGeom g, long long total, float* y, long long ys) {
  const long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (e >= total) return;
  const long long po = g.oh * g.ow, cpo = g.C * po;
  const long long b = e / cpo, r = e % cpo, c = r / po;
  const Tap th = AxisTap((r % po) / g.ow, g.sh, g.H), tw = AxisTap(r % g.ow, g.sw, g.W);
  const float* xp = x + b * xs + c * g.H * g.W;
  const float* r0 = xp + th.i0 * g.W;
  const float* r1 = xp + th.i1 * g.W;
  const float top = (1.0f - tw.l) * r0[tw.i0] + tw.l * r0[tw.i1];
  const float bottom = (1.0f - tw.l) * r1[tw.i0] + tw.l * r1[tw.i1];
  y[b * ys + r] = (1.0f - th.l) * top + th.l * bottom;
}

// dx[h, w] = Σ_i Σ_j wh(i, h)·ww(j, w)·dy[i, j] over the outputs that reach (h, w),
// rows then columns in increasing order.
__global__ void ResizeDxKernel(const float* dy, long long ds, ResizeGeom g, long long total, float* dx,
                               long long dxs) {
  const long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (e >= total) return;
  const long long hw = g.H * g.W, chw = g.C * hw;
  const long long b = e / chw, r = e % chw, c = r / hw, h = (r % hw) / g.W, w = r % g.W;
  long long i0, i1, j0, j1;
  TapRange(h, g.sh, g.oh, &i0, &i1);
  TapRange(w, g.sw, g.ow, &j0, &j1);
  const float* dp = dy + b * ds + c * g.oh * g.ow;
  float acc = 0;
  for (long long i = i0; i <= i1; ++i) {
    const float wh = TapWeight(AxisTap(i, g.sh, g.H), h);
    if (wh == 0.0f) continue;
    float row = 0;
    for (long long j = j0; j <= j1; ++j) {
      const float ww = TapWeight(AxisTap(j, g.sw, g.W), w);
      if (ww != 0.0f) row = fmaf(ww, dp[i * g.ow + j], row);
    }
    acc = fmaf(wh, row, acc);
  }
  dx[b * dxs + r] = acc;
}

// ---- broadcast Hadamard ------------------------------------------------------------------

__device__ __forceinline__ long long MapIndex(int mode, long long c, long long h, long long w, long long H,
                                              long long W) {
  if (mode == static_cast<int>(MapBroadcast::kRows)) return c * H + h;
  if (mode == static_cast<int>(MapBroadcast::kColumns)) return c * W + w;
  return (c * H + h) * W + w;
}

// y = x ⊙ m (forward) or dx = dy ⊙ m (backward), one thread per element; the
// output may be the input's memory.
__global__ void HadamardKernel(const float* x, long long xs, const float* map, int mode, long long C, long long H,
                               long long W, long long total, float* y, long long ys) {
  const long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (e >= total) return;
  const long long hw = H * W, chw = C * hw;
  const long long b = e / chw, r = e % chw, c = r / hw, h = (r % hw) / W, w = r % W;
  y[b * ys + r] = x[b * xs + r] * map[MapIndex(mode, c, h, w, H, W)];
}

// dmap[c,h,w] = Σ_b dy·x, one thread per map element.
__global__ void DmapPlaneKernel(const float* dy, long long ds, const float* x, long long xs, long long B,
                                long long chw, float* dmap) {
  const long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (e >= chw) return;
  float acc = 0;
  for (long long b = 0; b < B; ++b) acc = fmaf(dy[b * ds + e], x[b * xs + e], acc);
  dmap[e] = acc;
}

// dmap[c,h] = Σ_b Σ_w dy·x, one warp per row (c, h): lanes stride w, then WarpSum.
__global__ void DmapRowsKernel(const float* dy, long long ds, const float* x, long long xs, long long B,
                               long long rows, long long W, float* dmap) {
  const long long row = (blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  if (row >= rows) return;  // whole warps leave together: rows are per warp
  float acc = 0;
  for (long long b = 0; b < B; ++b) {
    const float* d = dy + b * ds + row * W;
    const float* v = x + b * xs + row * W;
    for (long long w = lane; w < W; w += 32) acc = fmaf(d[w], v[w], acc);
  }
  acc = WarpSum(acc);
  if (lane == 0) dmap[row] = acc;
}

// dmap[c,w] = Σ_b Σ_h dy·x, one thread per column (c, w): neighbouring threads
// read neighbouring pixels.
__global__ void DmapColumnsKernel(const float* dy, long long ds, const float* x, long long xs, long long B,
                                  long long C, long long H, long long W, float* dmap) {
  const long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (e >= C * W) return;
  const long long c = e / W, w = e % W, o = c * H * W + w;
  float acc = 0;
  for (long long b = 0; b < B; ++b) {
    for (long long h = 0; h < H; ++h) acc = fmaf(dy[b * ds + o + h * W], x[b * xs + o + h * W], acc);
  }
  dmap[e] = acc;
}

}  // namespace

Status MaxPoolCuda(const MaxPoolParams& p, void* stream) {
  const MapShape& s = p.shape;
  const long long cpo = s.C * (s.H / 2) * (s.W / 2), total = s.B * cpo;
  if (total == 0) return Status::Ok();  // H or W of 1: an empty output
  MaxPoolKernel<<<GridBlocks(total, kThreads), kThreads, 0, AsStream(stream)>>>(
      p.x.data, Stride(p.x.batch_stride, s.C * s.H * s.W), s.C, s.H, s.W, total, p.y.data,
      Stride(p.y.batch_stride, cpo));
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status MaxPoolBackwardCuda(const MaxPoolBackwardParams& p, void* stream) {
  const MapShape& s = p.shape;
  const long long chw = s.C * s.H * s.W, total = s.B * chw;
  MaxPoolDxKernel<<<GridBlocks(total, kThreads), kThreads, 0, AsStream(stream)>>>(
      p.dy.data, Stride(p.dy.batch_stride, s.C * (s.H / 2) * (s.W / 2)), p.x.data, Stride(p.x.batch_stride, chw), s.C,
      s.H, s.W, total, p.dx.data, Stride(p.dx.batch_stride, chw));
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status ResizeCuda(const ResizeParams& p, void* stream) {
  const ResizeGeom g = Geometry(p.shape, p.out_h, p.out_w);
  const long long cpo = g.C * g.oh * g.ow, total = p.shape.B * cpo;
  if (total == 0) return Status::Ok();
  ResizeKernel<<<GridBlocks(total, kThreads), kThreads, 0, AsStream(stream)>>>(
      p.x.data, Stride(p.x.batch_stride, g.C * g.H * g.W), g, total, p.y.data, Stride(p.y.batch_stride, cpo));
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status ResizeBackwardCuda(const ResizeBackwardParams& p, void* stream) {
  const ResizeGeom g = Geometry(p.shape, p.out_h, p.out_w);
  const long long chw = g.C * g.H * g.W, total = p.shape.B * chw;
  ResizeDxKernel<<<GridBlocks(total, kThreads), kThreads, 0, AsStream(stream)>>>(
      p.dy.data, Stride(p.dy.batch_stride, g.C * g.oh * g.ow), g, total, p.dx.data, Stride(p.dx.batch_stride, chw));
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status HadamardCuda(const HadamardParams& p, void* stream) {
  const MapShape& s = p.shape;
  const long long chw = s.C * s.H * s.W, total = s.B * chw;
  HadamardKernel<<<GridBlocks(total, kThreads), kThreads, 0, AsStream(stream)>>>(
      p.x.data, Stride(p.x.batch_stride, chw), p.map, static_cast<int>(p.broadcast), s.C, s.H, s.W, total, p.y.data,
      Stride(p.y.batch_stride, chw));
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status HadamardBackwardCuda(const HadamardBackwardParams& p, void* stream) {
  const cudaStream_t st = AsStream(stream);
  const MapShape& s = p.shape;
  const long long chw = s.C * s.H * s.W, total = s.B * chw;
  const long long ds = Stride(p.dy.batch_stride, chw), xs = Stride(p.x.batch_stride, chw);
  // dmap first: dx may overwrite dy.
  if (p.dmap) {
    switch (p.broadcast) {
      case MapBroadcast::kPlane:
        DmapPlaneKernel<<<GridBlocks(chw, kThreads), kThreads, 0, st>>>(p.dy.data, ds, p.x.data, xs, s.B, chw,
                                                                        p.dmap);
        break;
      case MapBroadcast::kRows:
        DmapRowsKernel<<<GridBlocks(s.C * s.H * 32, kThreads), kThreads, 0, st>>>(p.dy.data, ds, p.x.data, xs, s.B,
                                                                                  s.C * s.H, s.W, p.dmap);
        break;
      case MapBroadcast::kColumns:
        DmapColumnsKernel<<<GridBlocks(s.C * s.W, kThreads), kThreads, 0, st>>>(p.dy.data, ds, p.x.data, xs, s.B,
                                                                                s.C, s.H, s.W, p.dmap);
        break;
    }
    CUDA_CHECK_LAUNCH();
  }
  if (p.dx.data) {
    HadamardKernel<<<GridBlocks(total, kThreads), kThreads, 0, st>>>(p.dy.data, ds, p.map, static_cast<int>(p.broadcast),
                                                                     s.C, s.H, s.W, total, p.dx.data,
                                                                     Stride(p.dx.batch_stride, chw));
    CUDA_CHECK_LAUNCH();
  }
  return Status::Ok();
}

}  // namespace frugal
