// CUDA launchers of the feature-map normalisations (frugal/feature_map.h).
// - ChannelNorm: one thread per pixel (and channel block, with groups) walks its
//   block's channels (channel planes are hw apart, so a warp's reads of one
//   channel are contiguous); two-pass statistics as in the reference, indexed as
//   [B, groups, hw] = the thread index. dgamma/dbeta: plane sums, then batches in order.
// - GroupNorm: per-plane mean and M2 (two passes within a plane), merged per
//   group in channel order (Chan's formula), so the statistics of a large group
//   need no single long sum; then one elementwise pass.
#include <cstdint>

#include "cuda/feature_map.h"
#include "feature_map_common.cuh"

namespace frugal {
namespace {

using fm::kThreads;
using fm::Stride;

// ---- ChannelNorm ------------------------------------------------------------------

// channels: per block (C / groups); pixels: B·groups·hw threads.
__global__ void ChannelNormKernel(const float* x, long long xs, const float* gamma, const float* beta, float eps,
                                  long long channels, long long groups, long long hw, long long pixels, float* y,
                                  long long ys, float* mean, float* rstd) {
  const long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (t >= pixels) return;
  const long long bk = t / hw, b = bk / groups, k = bk % groups, p = t % hw;
  const long long at = k * channels * hw + p;
  const float* xp = x + b * xs + at;
  float* yp = y + b * ys + at;
  gamma += k * channels, beta += k * channels;
  float s = 0;
  for (long long c = 0; c < channels; ++c) s += xp[c * hw];
  const float mu = s / static_cast<float>(channels);
  float ss = 0;
  for (long long c = 0; c < channels; ++c) {
    const float d = xp[c * hw] - mu;
    ss = fmaf(d, d, ss);
  }
  const float rs = 1.0f / sqrtf(ss / static_cast<float>(channels) + eps);
  // y may be x: each element is read before this thread overwrites it.
  for (long long c = 0; c < channels; ++c) yp[c * hw] = fmaf(gamma[c], (xp[c * hw] - mu) * rs, beta[c]);
  if (mean) mean[t] = mu;
  if (rstd) rstd[t] = rs;
}

// dx = rstd·(g − mean_c(g) − x̂·mean_c(g·x̂)), g = γ ⊙ dy, per pixel.
__global__ void ChannelNormDxKernel(const float* dy, long long ds, const float* x, long long xs, const float* gamma,
                                    const float* mean, const float* rstd, long long channels, long long groups,
                                    long long hw, long long pixels, float* dx, long long dxs) {
  const long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (t >= pixels) return;
  const long long bk = t / hw, b = bk / groups, k = bk % groups, p = t % hw;
  const long long at = k * channels * hw + p;
  const float* dyp = dy + b * ds + at;
  const float* xp = x + b * xs + at;
  float* dxp = dx + b * dxs + at;
  gamma += k * channels;
  const float mu = mean[t], rs = rstd[t];
  float sum_g = 0, sum_gx = 0;
  for (long long c = 0; c < channels; ++c) {
    const float g = gamma[c] * dyp[c * hw];
    sum_g += g;
    sum_gx = fmaf(g, (xp[c * hw] - mu) * rs, sum_gx);
  }
  const float mean_g = sum_g / static_cast<float>(channels), mean_gx = sum_gx / static_cast<float>(channels);
  for (long long c = 0; c < channels; ++c) {
    const float xhat = (xp[c * hw] - mu) * rs;
    dxp[c * hw] = rs * (gamma[c] * dyp[c * hw] - mean_g - xhat * mean_gx);
  }
}

// Terms of dgamma (dy·x̂ with the pixel's statistics) and dbeta (dy).
struct ChannelNormTerms {
  const float* dy;
  long long ds;
  const float* x;
  long long xs;
  const float* mean;
  const float* rstd;
  long long hw, per, groups;  // per: channels of a block
  __device__ float2 operator()(long long b, long long c, long long p) const {
    const float d = dy[b * ds + c * hw + p];
    const long long q = (b * groups + c / per) * hw + p;
    return make_float2(d * ((x[b * xs + c * hw + p] - mean[q]) * rstd[q]), d);
  }
};

// ---- GroupNorm ----------------------------------------------------------------------

// Mean and M2 = Σ(x − mean)² of plane blockIdx.x = b·C + c.
__global__ void PlaneMomentsKernel(const float* x, long long xs, long long channels, long long hw, float* pmean,
                                   float* pm2) {
  __shared__ float scratch[32];
  const long long plane = blockIdx.x;
  const float* xp = x + (plane / channels) * xs + (plane % channels) * hw;
  float s = 0;
  for (long long i = threadIdx.x; i < hw; i += blockDim.x) s += xp[i];
  const float mu = BlockSum(s, scratch) / static_cast<float>(hw);
  float ss = 0;
  for (long long i = threadIdx.x; i < hw; i += blockDim.x) {
    const float d = xp[i] - mu;
    ss = fmaf(d, d, ss);
  }
  ss = BlockSum(ss, scratch);
  if (threadIdx.x == 0) {
    pmean[plane] = mu;
    pm2[plane] = ss;
  }
}

// One thread per (b, g): merges the group's plane moments in channel order.
__global__ void GroupMergeKernel(const float* pmean, const float* pm2, long long channels, long long groups,
                                 long long batch, long long hw, float eps, float* mean, float* rstd) {
  const long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (t >= batch * groups) return;
  const long long per = channels / groups, first = (t / groups) * channels + (t % groups) * per;
  const float w = static_cast<float>(hw);
  float mu = 0, m2 = 0, n = 0;
  for (long long c = 0; c < per; ++c) {
    const float total = n + w, delta = pmean[first + c] - mu;
    mu = fmaf(delta, w / total, mu);
    m2 += pm2[first + c] + delta * delta * (n * (w / total));
    n = total;
  }
  mean[t] = mu;
  rstd[t] = 1.0f / sqrtf(m2 / n + eps);
}

// y = γ_c (x − μ_bg) rstd_bg + β_c, one thread per element.
__global__ void GroupNormApplyKernel(const float* x, long long xs, const float* gamma, const float* beta,
                                     const float* mean, const float* rstd, long long channels, long long groups,
                                     long long hw, long long total, float* y, long long ys) {
  const long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i >= total) return;
  const long long chw = channels * hw, b = i / chw, r = i % chw, c = r / hw;
  const long long g = b * groups + c / (channels / groups);
  y[b * ys + r] = fmaf(gamma[c], (x[b * xs + r] - mean[g]) * rstd[g], beta[c]);
}

// dx = rstd·(γ_c dy − coef[2g] − x̂·coef[2g+1]), one thread per element.
__global__ void GroupNormDxKernel(const float* dy, long long ds, const float* x, long long xs, const float* gamma,
                                  const float* mean, const float* rstd, const float* coef, long long channels,
                                  long long groups, long long hw, long long total, float* dx, long long dxs) {
  const long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i >= total) return;
  const long long chw = channels * hw, b = i / chw, r = i % chw, c = r / hw;
  const long long g = b * groups + c / (channels / groups);
  const float rs = rstd[g], xhat = (x[b * xs + r] - mean[g]) * rs;
  dx[b * dxs + r] = rs * (gamma[c] * dy[b * ds + r] - coef[2 * g] - xhat * coef[2 * g + 1]);
}

// Terms of dgamma (dy·x̂ with the group's statistics) and dbeta (dy).
struct GroupNormTerms {
  const float* dy;
  long long ds;
  const float* x;
  long long xs;
  const float* mean;
  const float* rstd;
  long long hw, per, groups;
  __device__ float2 operator()(long long b, long long c, long long p) const {
    const long long g = b * groups + c / per;
    const float d = dy[b * ds + c * hw + p];
    return make_float2(d * ((x[b * xs + c * hw + p] - mean[g]) * rstd[g]), d);
  }
};

// coef[2g] = mean over the group of γ·dy, coef[2g+1] = of γ·dy·x̂, from the plane
// sums part[b][0..C) (dy·x̂) and part[b][C..2C) (dy), added in channel order.
__global__ void GroupCoefKernel(const float* part, const float* gamma, long long channels, long long groups,
                                long long batch, long long hw, float* coef) {
  const long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (t >= batch * groups) return;
  const long long per = channels / groups, b = t / groups, c0 = (t % groups) * per;
  const float* sx = part + b * 2 * channels;
  const float* sd = sx + channels;
  float a = 0, bx = 0;
  for (long long c = c0; c < c0 + per; ++c) {
    a = fmaf(gamma[c], sd[c], a);
    bx = fmaf(gamma[c], sx[c], bx);
  }
  const float n = static_cast<float>(per) * static_cast<float>(hw);
  coef[2 * t] = a / n;
  coef[2 * t + 1] = bx / n;
}

}  // namespace

Status ChannelNormCuda(const ChannelNormParams& p, void* stream) {
  const MapShape& s = p.shape;
  const long long hw = s.H * s.W, dense = s.C * hw, pixels = s.B * p.groups * hw;
  ChannelNormKernel<<<GridBlocks(pixels, kThreads), kThreads, 0, AsStream(stream)>>>(
      p.x.data, Stride(p.x.batch_stride, dense), p.gamma, p.beta, p.eps, s.C / p.groups, p.groups, hw, pixels,
      p.y.data, Stride(p.y.batch_stride, dense), p.mean, p.rstd);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status ChannelNormBackwardCuda(const ChannelNormBackwardParams& p, void* stream) {
  const cudaStream_t st = AsStream(stream);
  const MapShape& s = p.shape;
  const long long hw = s.H * s.W, dense = s.C * hw, pixels = s.B * p.groups * hw, per = s.C / p.groups;
  const long long ds = Stride(p.dy.batch_stride, dense), xs = Stride(p.x.batch_stride, dense);
  // The parameter gradients first: dx may overwrite dy.
  StreamBuffer part(st);
  if (p.dgamma || p.dbeta) {
    FRUGAL_RETURN_IF_ERROR(part.AllocateFloats(2 * s.B * s.C));
    const ChannelNormTerms terms{p.dy.data, ds, p.x.data, xs, p.mean, p.rstd, hw, per, p.groups};
    FRUGAL_RETURN_IF_ERROR(fm::PlaneSums(terms, s.B, s.C, hw, part.get(), st));
    FRUGAL_RETURN_IF_ERROR(fm::SumSlots(part.get(), s.B, s.C, s.C, p.dgamma, p.dbeta, st));
  }
  if (p.dx.data) {
    ChannelNormDxKernel<<<GridBlocks(pixels, kThreads), kThreads, 0, st>>>(
        p.dy.data, ds, p.x.data, xs, p.gamma, p.mean, p.rstd, per, p.groups, hw, pixels, p.dx.data,
        Stride(p.dx.batch_stride, dense));
    CUDA_CHECK_LAUNCH();
  }
  return Status::Ok();
}

Status GroupNormCuda(const GroupNormParams& p, void* stream) {
  const cudaStream_t st = AsStream(stream);
  const MapShape& s = p.shape;
  const long long hw = s.H * s.W, dense = s.C * hw, planes = s.B * s.C, stats = s.B * p.groups;
  const long long xs = Stride(p.x.batch_stride, dense);
  // Plane moments, then the group statistics (into the caller's mean/rstd when given).
  StreamBuffer work(st);
  FRUGAL_RETURN_IF_ERROR(work.AllocateFloats(2 * planes + 2 * stats));
  float* pmean = work.get();
  float* pm2 = pmean + planes;
  float* mean = p.mean ? p.mean : pm2 + planes;
  float* rstd = p.rstd ? p.rstd : pm2 + planes + stats;
  PlaneMomentsKernel<<<static_cast<unsigned>(planes), fm::SlotThreads(hw), 0, st>>>(p.x.data, xs, s.C, hw, pmean,
                                                                                    pm2);
  CUDA_CHECK_LAUNCH();
  GroupMergeKernel<<<GridBlocks(stats, kThreads), kThreads, 0, st>>>(pmean, pm2, s.C, p.groups, s.B, hw, p.eps, mean,
                                                                     rstd);
  CUDA_CHECK_LAUNCH();
  const long long total = s.B * dense;
  GroupNormApplyKernel<<<GridBlocks(total, kThreads), kThreads, 0, st>>>(
      p.x.data, xs, p.gamma, p.beta, mean, rstd, s.C, p.groups, hw, total, p.y.data, Stride(p.y.batch_stride, dense));
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status GroupNormBackwardCuda(const GroupNormBackwardParams& p, void* stream) {
  const cudaStream_t st = AsStream(stream);
  const MapShape& s = p.shape;
  const long long hw = s.H * s.W, dense = s.C * hw, stats = s.B * p.groups;
  const long long ds = Stride(p.dy.batch_stride, dense), xs = Stride(p.x.batch_stride, dense);
  // Plane sums of dy·x̂ and dy feed both the parameter gradients and dx's group terms.
  StreamBuffer work(st);
  FRUGAL_RETURN_IF_ERROR(work.AllocateFloats(2 * s.B * s.C + 2 * stats));
  float* part = work.get();
  float* coef = part + 2 * s.B * s.C;
  const GroupNormTerms terms{p.dy.data, ds, p.x.data, xs, p.mean, p.rstd, hw, s.C / p.groups, p.groups};
  FRUGAL_RETURN_IF_ERROR(fm::PlaneSums(terms, s.B, s.C, hw, part, st));
  FRUGAL_RETURN_IF_ERROR(fm::SumSlots(part, s.B, s.C, s.C, p.dgamma, p.dbeta, st));
  if (p.dx.data) {
    GroupCoefKernel<<<GridBlocks(stats, kThreads), kThreads, 0, st>>>(part, p.gamma, s.C, p.groups, s.B, hw, coef);
    CUDA_CHECK_LAUNCH();
    const long long total = s.B * dense;
    GroupNormDxKernel<<<GridBlocks(total, kThreads), kThreads, 0, st>>>(
        p.dy.data, ds, p.x.data, xs, p.gamma, p.mean, p.rstd, coef, s.C, p.groups, hw, total, p.dx.data,
        Stride(p.dx.batch_stride, dense));
    CUDA_CHECK_LAUNCH();
  }
  return Status::Ok();
}

}  // namespace frugal
