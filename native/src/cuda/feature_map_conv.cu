// CUDA launchers of the feature-map convolutions (frugal/feature_map.h).
// - Depthwise: one thread per output (forward) or per input element (dx, a
//   gather over the taps that reach it, so no atomics); dweight/dbias per
//   channel over fixed chunks of (batch, pixel), the chunk partials added in order.
// - Pointwise and k×k: the GEMM launcher (fp32, never TF32) with the pixels as
//   columns; k×k goes through im2col / col2im one batch at a time, which bounds
//   the workspace to one batch's columns. The GEMM's bias is per column, ours per
//   row (output channel), so bias and GELU are one elementwise pass after it.
//   dweight is a split-K GEMM over fixed pixel chunks into partials, added in
//   (batch, chunk) order: deterministic and not one long serial K loop.
#include <cstdint>

#include "cuda/feature_map.h"
#include "cuda/gemm.h"
#include "feature_map_common.cuh"
#include "gelu.cuh"

namespace frugal {
namespace {

using fm::kThreads;
using fm::Stride;

// g = dy ⊙ GELU'(pre) into a dense [B, C, P] buffer (pre is dense too).
__global__ void GeluGradKernel(const float* dy, long long ds, const float* pre, long long cp, long long total,
                               float* g) {
  const long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i >= total) return;
  g[i] = dy[(i / cp) * ds + i % cp] * GeluExactGrad(pre[i]);
}

// The gradient at the pre-activation: dy itself, or dy ⊙ GELU'(pre) in `work`.
// *g and *gs receive the map and its batch stride.
Status PreGradient(const float* dy, long long ds, bool gelu, const float* pre, long long cp, long long batch,
                   StreamBuffer* work, cudaStream_t st, const float** g, long long* gs) {
  if (!gelu) {
    *g = dy;
    *gs = ds;
    return Status::Ok();
  }
  const long long total = batch * cp;
  FRUGAL_RETURN_IF_ERROR(work->AllocateFloats(total));
  GeluGradKernel<<<GridBlocks(total, kThreads), kThreads, 0, st>>>(dy, ds, pre, cp, total, work->get());
  CUDA_CHECK_LAUNCH();
  *g = work->get();
  *gs = cp;
  return Status::Ok();
}

// ---- depthwise -------------------------------------------------------------------------

struct DwGeom {
  long long C, H, W, Ho, Wo, kh, kw, dh, dw, ph, pw;
};

DwGeom Geometry(const MapShape& s, int64_t kh, int64_t kw, int64_t dh, int64_t dw, int64_t ph, int64_t pw) {
  return {s.C, s.H, s.W, ConvOutputSize(s.H, kh, dh, ph), ConvOutputSize(s.W, kw, dw, pw), kh, kw, dh, dw, ph, pw};
}

__global__ void DepthwiseKernel(const float* x, long long xs, const float* weight, const float* bias, bool gelu,
                                DwGeom g, long long total, float* y, long long ys, float* pre) {
  const long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (e >= total) return;
  const long long po = g.Ho * g.Wo, cpo = g.C * po;
  const long long b = e / cpo, r = e % cpo, c = r / po, oh = (r % po) / g.Wo, ow = r % g.Wo;
  const float* xp = x + b * xs + c * g.H * g.W;
  const float* wc = weight + c * g.kh * g.kw;
  float acc = bias ? bias[c] : 0.0f;
  for (long long i = 0; i < g.kh; ++i) {
    const long long ih = oh - g.ph + i * g.dh;
    if (ih < 0 || ih >= g.H) continue;
    for (long long j = 0; j < g.kw; ++j) {
      const long long iw = ow - g.pw + j * g.dw;
      if (iw >= 0 && iw < g.W) acc = fmaf(wc[i * g.kw + j], xp[ih * g.W + iw], acc);
    }
  }
  if (pre) pre[e] = acc;
  y[b * ys + r] = gelu ? GeluExact(acc) : acc;
}

// dx[b,c,h,w] = Σ_{i,j} w[c,i,j]·g[b,c,h + ph − i·dh, w + pw − j·dw]: each input
// element gathers the outputs its taps fed.
__global__ void DepthwiseDxKernel(const float* gp, long long gs, const float* weight, DwGeom g, long long total,
                                  float* dx, long long dxs) {
  const long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (e >= total) return;
  const long long hw = g.H * g.W, chw = g.C * hw;
  const long long b = e / chw, r = e % chw, c = r / hw, h = (r % hw) / g.W, w = r % g.W;
  const float* gc = gp + b * gs + c * g.Ho * g.Wo;
  const float* wc = weight + c * g.kh * g.kw;
  float acc = 0;
  for (long long i = 0; i < g.kh; ++i) {
    const long long oh = h + g.ph - i * g.dh;
    if (oh < 0 || oh >= g.Ho) continue;
    for (long long j = 0; j < g.kw; ++j) {
      const long long ow = w + g.pw - j * g.dw;
      if (ow >= 0 && ow < g.Wo) acc = fmaf(wc[i * g.kw + j], gc[oh * g.Wo + ow], acc);
    }
  }
  dx[b * dxs + r] = acc;
}

// Block (chunk = blockIdx.x, channel c = blockIdx.y) sums, over its chunk of the
// (batch, output pixel) pairs, g·x at every tap (dweight) and g (dbias); the
// totals go to slot `chunk` of part: [C·kh·kw dweight terms, C dbias terms].
__global__ void DepthwiseParamPartialsKernel(const float* gp, long long gs, const float* x, long long xs, DwGeom g,
                                             long long batch, long long chunk, bool want_w, bool want_b,
                                             float* part) {
  __shared__ float scratch[32];
  const long long c = blockIdx.y, taps = g.kh * g.kw, po = g.Ho * g.Wo;
  const long long n0 = blockIdx.x * chunk, n1 = n0 + chunk < batch * po ? n0 + chunk : batch * po;
  float* slot = part + blockIdx.x * (g.C * taps + g.C);
  for (long long t = want_w ? 0 : taps; t <= taps; ++t) {
    if (t == taps && !want_b) break;
    const long long di = t < taps ? (t / g.kw) * g.dh - g.ph : 0, dj = t < taps ? (t % g.kw) * g.dw - g.pw : 0;
    float acc = 0;
    for (long long n = n0 + threadIdx.x; n < n1; n += blockDim.x) {
      const long long b = n / po, op = n % po, oh = op / g.Wo, ow = op % g.Wo;
      const float gv = gp[b * gs + c * po + op];
      if (t == taps) {
        acc += gv;
        continue;
      }
      const long long ih = oh + di, iw = ow + dj;
      if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) acc = fmaf(gv, x[b * xs + (c * g.H + ih) * g.W + iw], acc);
    }
    acc = BlockSum(acc, scratch);
    if (threadIdx.x == 0) slot[t < taps ? c * taps + t : g.C * taps + c] = acc;
  }
}

// ---- dense convolution -------------------------------------------------------------------

struct ConvGeom {
  long long C, H, W, Ho, Wo, k, pad;
};

// col[kd][op] = x[c, oh − pad + i, ow − pad + j] (zero outside), kd = (c·k + i)·k + j.
__global__ void Im2ColKernel(const float* x, ConvGeom g, long long total, float* col) {
  const long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (e >= total) return;
  const long long p = g.Ho * g.Wo, kd = e / p, op = e % p, kk = g.k * g.k;
  const long long c = kd / kk, i = (kd % kk) / g.k, j = kd % g.k;
  const long long ih = op / g.Wo - g.pad + i, iw = op % g.Wo - g.pad + j;
  col[e] = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W ? x[(c * g.H + ih) * g.W + iw] : 0.0f;
}

// dx[c,h,w] = Σ_{i,j} dcol[(c·k + i)·k + j][h + pad − i, w + pad − j]: the adjoint
// of Im2Col as a gather, in tap order.
__global__ void Col2ImKernel(const float* dcol, ConvGeom g, long long total, float* dx) {
  const long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (e >= total) return;
  const long long hw = g.H * g.W, p = g.Ho * g.Wo, c = e / hw, h = (e % hw) / g.W, w = e % g.W;
  float acc = 0;
  for (long long i = 0; i < g.k; ++i) {
    const long long oh = h + g.pad - i;
    if (oh < 0 || oh >= g.Ho) continue;
    for (long long j = 0; j < g.k; ++j) {
      const long long ow = w + g.pad - j;
      if (ow >= 0 && ow < g.Wo) acc += dcol[((c * g.k + i) * g.k + j) * p + oh * g.Wo + ow];
    }
  }
  dx[e] = acc;
}

// pre = y + bias_o (stored dense when asked), y = GELU(pre) or pre, over [B, O, P]
// with y's batch stride.
__global__ void ConvEpilogueKernel(float* y, long long ys, const float* bias, bool gelu, long long p, long long op,
                                   long long total, float* pre) {
  const long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (e >= total) return;
  float* v = y + (e / op) * ys + e % op;
  const float pv = bias ? *v + bias[(e % op) / p] : *v;
  if (pre) pre[e] = pv;
  *v = gelu ? GeluExact(pv) : pv;
}

// Dense-bias terms for PlaneSums: the gradient itself (the second sum is unused).
struct BiasTerms {
  const float* g;
  long long gs, p;
  __device__ float2 operator()(long long b, long long o, long long i) const {
    return make_float2(g[b * gs + o * p + i], 0.0f);
  }
};

// Row-major C = op(A)·op(B) over `batch` problems: the GEMM launcher's plain form.
GemmParams Product(long long batch, long long m, long long n, long long k, bool trans_a, const float* a,
                   long long lda, long long stride_a, bool trans_b, const float* b, long long ldb, long long stride_b,
                   float* c, long long ldc, long long stride_c) {
  GemmParams g;
  g.batch = batch, g.M = m, g.N = n, g.K = k;
  g.transA = trans_a, g.A = a, g.lda = lda, g.strideA = stride_a;
  g.transB = trans_b, g.B = b, g.ldb = ldb, g.strideB = stride_b;
  g.C = c, g.ldc = ldc, g.strideC = stride_c;
  return g;
}

ConvGeom Geometry(const MapShape& s, int64_t k, int64_t pad) {
  return {s.C, s.H, s.W, ConvOutputSize(s.H, k, 1, pad), ConvOutputSize(s.W, k, 1, pad), k, pad};
}

Status Im2Col(const float* x, const ConvGeom& g, float* col, cudaStream_t st) {
  const long long total = g.C * g.k * g.k * g.Ho * g.Wo;
  Im2ColKernel<<<GridBlocks(total, kThreads), kThreads, 0, st>>>(x, g, total, col);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

// Pixels per split-K chunk of the dweight GEMM: at most 16 chunks, none tiny.
long long WeightChunk(long long p) {
  const long long c = CeilDiv(p, 16LL);
  return c < 256 ? 256 : c;
}

}  // namespace

Status DepthwiseConvCuda(const DepthwiseConvParams& p, void* stream) {
  const DwGeom g = Geometry(p.shape, p.kh, p.kw, p.dil_h, p.dil_w, p.pad_h, p.pad_w);
  const long long cpo = g.C * g.Ho * g.Wo, total = p.shape.B * cpo;
  DepthwiseKernel<<<GridBlocks(total, kThreads), kThreads, 0, AsStream(stream)>>>(
      p.x.data, Stride(p.x.batch_stride, g.C * g.H * g.W), p.weight, p.bias, p.gelu, g, total, p.y.data,
      Stride(p.y.batch_stride, cpo), p.pre);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

Status DepthwiseConvBackwardCuda(const DepthwiseConvBackwardParams& p, void* stream) {
  const cudaStream_t st = AsStream(stream);
  const DwGeom g = Geometry(p.shape, p.kh, p.kw, p.dil_h, p.dil_w, p.pad_h, p.pad_w);
  const long long B = p.shape.B, chw = g.C * g.H * g.W, po = g.Ho * g.Wo, cpo = g.C * po;
  const long long xs = Stride(p.x.batch_stride, chw);
  StreamBuffer gelu_work(st), part(st);
  const float* gp = nullptr;
  long long gs = 0;
  FRUGAL_RETURN_IF_ERROR(
      PreGradient(p.dy.data, Stride(p.dy.batch_stride, cpo), p.gelu, p.pre, cpo, B, &gelu_work, st, &gp, &gs));
  if (p.dweight || p.dbias) {
    const long long pairs = B * po, taps = g.kh * g.kw;
    const long long chunk = CeilDiv(pairs, 32LL) < 2048 ? 2048 : CeilDiv(pairs, 32LL);
    const long long chunks = CeilDiv(pairs, chunk);
    FRUGAL_RETURN_IF_ERROR(part.AllocateFloats(chunks * (g.C * taps + g.C)));
    const dim3 grid(static_cast<unsigned>(chunks), static_cast<unsigned>(g.C));
    DepthwiseParamPartialsKernel<<<grid, fm::SlotThreads(chunk), 0, st>>>(
        gp, gs, p.x.data, xs, g, B, chunk, p.dweight != nullptr, p.dbias != nullptr, part.get());
    CUDA_CHECK_LAUNCH();
    FRUGAL_RETURN_IF_ERROR(fm::SumSlots(part.get(), chunks, g.C * taps, g.C, p.dweight, p.dbias, st));
  }
  if (p.dx.data) {
    const long long total = B * chw;
    DepthwiseDxKernel<<<GridBlocks(total, kThreads), kThreads, 0, st>>>(gp, gs, p.weight, g, total, p.dx.data,
                                                                        Stride(p.dx.batch_stride, chw));
    CUDA_CHECK_LAUNCH();
  }
  return Status::Ok();
}

Status ConvCuda(const ConvParams& p, void* stream) {
  const cudaStream_t st = AsStream(stream);
  const ConvGeom g = Geometry(p.shape, p.k, p.pad);
  const long long B = p.shape.B, O = p.out_channels, hw = g.H * g.W, P = g.Ho * g.Wo, kd = g.C * g.k * g.k;
  const long long xs = Stride(p.x.batch_stride, g.C * hw), ys = Stride(p.y.batch_stride, O * P);
  if (p.k == 1 && p.pad == 0) {  // the input is its own column matrix
    FRUGAL_RETURN_IF_ERROR(GemmCuda(
        Product(B, O, P, kd, false, p.weight, kd, 0, false, p.x.data, hw, xs, p.y.data, P, ys), stream));
  } else {
    StreamBuffer col(st);
    FRUGAL_RETURN_IF_ERROR(col.AllocateFloats(kd * P));
    for (long long b = 0; b < B; ++b) {
      FRUGAL_RETURN_IF_ERROR(Im2Col(p.x.data + b * xs, g, col.get(), st));
      FRUGAL_RETURN_IF_ERROR(GemmCuda(
          Product(1, O, P, kd, false, p.weight, kd, 0, false, col.get(), P, 0, p.y.data + b * ys, P, 0), stream));
    }
  }
  if (p.bias || p.gelu || p.pre) {
    const long long total = B * O * P;
    ConvEpilogueKernel<<<GridBlocks(total, kThreads), kThreads, 0, st>>>(p.y.data, ys, p.bias, p.gelu, P, O * P,
                                                                         total, p.pre);
    CUDA_CHECK_LAUNCH();
  }
  return Status::Ok();
}

Status ConvBackwardCuda(const ConvBackwardParams& p, void* stream) {
  const cudaStream_t st = AsStream(stream);
  const ConvGeom g = Geometry(p.shape, p.k, p.pad);
  const long long B = p.shape.B, O = p.out_channels, hw = g.H * g.W, P = g.Ho * g.Wo, kd = g.C * g.k * g.k;
  const long long xs = Stride(p.x.batch_stride, g.C * hw);
  const bool direct = p.k == 1 && p.pad == 0;
  StreamBuffer gelu_work(st), bias_part(st), weight_part(st), col(st), dcol(st);
  const float* gp = nullptr;
  long long gs = 0;
  FRUGAL_RETURN_IF_ERROR(
      PreGradient(p.dy.data, Stride(p.dy.batch_stride, O * P), p.gelu, p.pre, O * P, B, &gelu_work, st, &gp, &gs));
  if (p.dbias) {
    FRUGAL_RETURN_IF_ERROR(bias_part.AllocateFloats(2 * B * O));
    FRUGAL_RETURN_IF_ERROR(fm::PlaneSums(BiasTerms{gp, gs, P}, B, O, P, bias_part.get(), st));
    FRUGAL_RETURN_IF_ERROR(fm::SumSlots(bias_part.get(), B, O, O, p.dbias, nullptr, st));
  }
  if (p.dweight) {
    // dweight = Σ_b Σ_chunks g_b[:, chunk]·col_b[:, chunk]ᵀ, one partial per (b, chunk).
    const long long chunk = WeightChunk(P), full = P / chunk, rest = P % chunk, per_batch = full + (rest > 0);
    const long long wsize = O * kd;
    FRUGAL_RETURN_IF_ERROR(weight_part.AllocateFloats(B * per_batch * wsize));
    if (!direct) FRUGAL_RETURN_IF_ERROR(col.AllocateFloats(kd * P));
    for (long long b = 0; b < B; ++b) {
      const float* src = p.x.data + b * xs;
      long long ld = hw;
      if (!direct) {
        FRUGAL_RETURN_IF_ERROR(Im2Col(src, g, col.get(), st));
        src = col.get(), ld = P;
      }
      float* slot = weight_part.get() + b * per_batch * wsize;
      const float* gb = gp + b * gs;
      if (full > 0) {
        FRUGAL_RETURN_IF_ERROR(GemmCuda(
            Product(full, O, kd, chunk, false, gb, P, chunk, true, src, ld, chunk, slot, kd, wsize), stream));
      }
      if (rest > 0) {
        const long long at = full * chunk;
        FRUGAL_RETURN_IF_ERROR(GemmCuda(
            Product(1, O, kd, rest, false, gb + at, P, 0, true, src + at, ld, 0, slot + full * wsize, kd, 0), stream));
      }
    }
    FRUGAL_RETURN_IF_ERROR(fm::SumSlots(weight_part.get(), B * per_batch, wsize, 0, p.dweight, nullptr, st));
  }
  if (p.dx.data) {
    const long long dxs = Stride(p.dx.batch_stride, g.C * hw);
    if (direct) {  // dx_b = Wᵀ·g_b for every batch at once
      FRUGAL_RETURN_IF_ERROR(
          GemmCuda(Product(B, g.C, P, O, true, p.weight, g.C, 0, false, gp, P, gs, p.dx.data, hw, dxs), stream));
    } else {
      FRUGAL_RETURN_IF_ERROR(dcol.AllocateFloats(kd * P));
      for (long long b = 0; b < B; ++b) {
        FRUGAL_RETURN_IF_ERROR(GemmCuda(
            Product(1, kd, P, O, true, p.weight, kd, 0, false, gp + b * gs, P, 0, dcol.get(), P, 0), stream));
        const long long total = g.C * hw;
        Col2ImKernel<<<GridBlocks(total, kThreads), kThreads, 0, st>>>(dcol.get(), g, total, p.dx.data + b * dxs);
        CUDA_CHECK_LAUNCH();
      }
    }
  }
  return Status::Ok();
}

}  // namespace frugal
