// Front end of the slash family: checks, then the CPU orchestration (W_l tiles
// generated with the random kernels of the active ISA and consumed at once by the
// slash loops; the output block as one GEMM with a bias/residual epilogue plus
// one LayerNorm pass), or the CUDA launchers for device memory.
//
// Determinism: every output element is owned by one task and summed in a fixed
// order (i, then l, then j), and column sums over rows go through fixed row
// blocks added in block order, so no result depends on the thread count.
#include "frugal/slash.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/front_end.h"
#include "core/packed.h"
#include "cpu/kernel_table.h"
#include "cpu/primitives/vector.h"
#include "cpu/primitives/layer_norm_rows.h"
#include "cpu/primitives/streams.h"
#include "cpu/slash_kernels.h"
#include "frugal/gemm.h"
#include "frugal/isa.h"
#include "frugal/layer_norm.h"
#include "frugal/random.h"
#ifdef FRUGAL_WITH_CUDA
#include "cuda/primitives.h"
#include "cuda/slash.h"
#include "frugal/cuda.h"
#endif

namespace frugal {

const SlashKernels& SlashKernelsFor(Isa isa) {
  static const SlashKernels kRef{ref::SlashAccumulateRows, ref::SlashDotRows, ref::SlashDotRowsBySample,
                                 ref::SlashUnnormalizeRow};
  static const SlashKernels kAvx2{avx2::SlashAccumulateRows, avx2::SlashDotRows, avx2::SlashDotRowsBySample,
                                  avx2::SlashUnnormalizeRow};
  static const SlashKernels kAvx512{avx512::SlashAccumulateRows, avx512::SlashDotRows,
                                    avx512::SlashDotRowsBySample, avx512::SlashUnnormalizeRow};
  return KernelsOfLevel(isa, kRef, kAvx2, kAvx512);
}

namespace {

// Projection forward: columns of one layer per task (the W_l row segments of a
// task, kSlashMaxRows at a time, stay in L1 with the accumulator).
constexpr int64_t kProjectColumns = 512;
// Projection backward: dz entries (rows of W_l) per task, at most; fewer for
// small dim so both threads get work. Results do not depend on it.
constexpr int64_t kBackwardRowsMax = 132;
// Per-sample backward: columns per block of the transposition of g.
constexpr int64_t kTransposeColumns = 64;
// Output-block backward: rows per block of the fixed-order column sums.
constexpr int64_t kRowBlock = 32;
// Output-block forward: rows per LayerNorm task.
constexpr int64_t kNormRows = 16;

// Workspace slots (core/front_end.h): the caller's buffers, and the tasks'.
constexpr int kSlotCall = 0, kSlotTask = 1;

float ProjectionScale(const ProjectionParams& p) {
  return static_cast<float>(1.0 / std::sqrt(static_cast<double>(p.dim)));
}

RandomScaledFn ProjectionGenerator(const ProjectionParams& p) {
  const RandomKernels& rk = RandomKernelsFor(ActiveIsa());
  return p.dist == ProjectionDist::kNormal ? rk.normal : rk.rademacher;
}

StreamId ProjectionStream(const ProjectionParams& p, int64_t layer) {
  return StreamId{p.seed, static_cast<uint32_t>(layer), kTagProjection};
}

// Runs fn(task) over the pool; returns the first failing task's Status.
template <typename Fn>
Status ParallelForStatus(int64_t tasks, Fn fn) {
  std::vector<Status> status(static_cast<size_t>(tasks));
  ParallelFor(tasks, [&](int64_t t) { status[t] = fn(t); });
  for (const Status& s : status) FRUGAL_RETURN_IF_ERROR(s);
  return Status::Ok();
}

Status ProjectCpu(const ProjectionParams& p, const float* z, float* shifts) {
  const SlashKernels& k = SlashKernelsFor(ActiveIsa());
  const RandomScaledFn generate = ProjectionGenerator(p);
  const int64_t H = p.hidden, blocks = CeilDiv(H, kProjectColumns);
  const float scale = ProjectionScale(p);
  return ParallelForStatus(p.layers * blocks, [&](int64_t task) {
    const int64_t l = task / blocks, j0 = (task % blocks) * kProjectColumns;
    const int64_t len = std::min(kProjectColumns, H - j0);
    float* acc = nullptr;
    FRUGAL_RETURN_IF_ERROR(Workspace("slash.project", kSlotTask, (kSlashMaxRows + 1) * kProjectColumns, &acc));
    float* tile = acc + kProjectColumns;
    std::fill(acc, acc + len, 0.0f);
    const StreamId id = ProjectionStream(p, l);
    for (int64_t i0 = 0; i0 < p.dim; i0 += kSlashMaxRows) {
      const int64_t rows = std::min(kSlashMaxRows, p.dim - i0);
      for (int64_t r = 0; r < rows; ++r) {
        generate(id, static_cast<uint64_t>((i0 + r) * H + j0), len, 1.0f, tile + r * kProjectColumns);
      }
      k.accumulate_rows(z + i0, rows, tile, kProjectColumns, len, acc);
    }
    float* out = shifts + l * H + j0;
    for (int64_t j = 0; j < len; ++j) out[j] = acc[j] * scale;
    return Status::Ok();
  });
}

Status ProjectBackwardCpu(const ProjectionParams& p, int64_t batch, const float* g, float* dz) {
  const SlashKernels& k = SlashKernelsFor(ActiveIsa());
  const RandomScaledFn generate = ProjectionGenerator(p);
  const int64_t H = p.hidden, d = p.dim, L = p.layers;
  // Many samples: g transposed once to gt [L, H, B] so the kernel runs samples
  // along the vector lanes (no horizontal sums, each W value loaded once).
  const bool by_sample = batch >= kSlashLaneSamples;
  float* gt = nullptr;
  if (by_sample) {
    FRUGAL_RETURN_IF_ERROR(Workspace("slash.projectBackward", kSlotCall, L * H * batch, &gt));
    ParallelFor(L, [&](int64_t l) {
      // Blocks of kTransposeColumns columns keep the block of gt being written in L1.
      for (int64_t j0 = 0; j0 < H; j0 += kTransposeColumns) {
        const int64_t j1 = std::min(H, j0 + kTransposeColumns);
        for (int64_t b = 0; b < batch; ++b) {
          const float* src = g + (b * L + l) * H;
          float* dst = gt + l * H * batch + b;
          for (int64_t j = j0; j < j1; ++j) dst[j * batch] = src[j];
        }
      }
    });
  }
  // Rows per task: a multiple of kSlashMaxRows, about d/16 (at least 16 tasks
  // when d allows), at most kBackwardRowsMax (bounds re-reads of g from cache).
  const int64_t per_task = std::min(kBackwardRowsMax, CeilDiv(CeilDiv(d, 8), kSlashMaxRows) * kSlashMaxRows);
  const float scale = ProjectionScale(p);
  // Tile rows padded by one cache line: rows 4 KB apart would share L1 sets.
  const int64_t ldw = CeilDiv(H, 16) * 16 + 16;
  return ParallelForStatus(CeilDiv(d, per_task), [&](int64_t task) {
    const int64_t i0 = task * per_task, rows = std::min(per_task, d - i0);
    float* acc = nullptr;
    FRUGAL_RETURN_IF_ERROR(Workspace("slash.projectBackward", kSlotTask, batch * per_task + kSlashMaxRows * ldw, &acc));
    float* tile = acc + batch * per_task;
    std::fill(acc, acc + batch * per_task, 0.0f);
    for (int64_t l = 0; l < L; ++l) {
      const StreamId id = ProjectionStream(p, l);
      for (int64_t r0 = 0; r0 < rows; r0 += kSlashMaxRows) {
        const int64_t rr = std::min(kSlashMaxRows, rows - r0);
        for (int64_t r = 0; r < rr; ++r) generate(id, static_cast<uint64_t>((i0 + r0 + r) * H), H, 1.0f, tile + r * ldw);
        if (by_sample) {
          k.dot_rows_by_sample(gt + l * H * batch, batch, tile, ldw, rr, H, acc + r0, per_task);
        } else {
          k.dot_rows(g + l * H, L * H, batch, tile, ldw, rr, H, acc + r0, per_task);
        }
      }
    }
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t r = 0; r < rows; ++r) dz[b * d + i0 + r] = acc[b * per_task + r] * scale;
    }
    return Status::Ok();
  });
}

// pre = a·Woᵀ + bias + h into `out` (bias = c + shift, folded by the caller).
Status PreActivation(const Context& ctx, const OutputBlockParams& p, const float* bias, float* out) {
  GemmParams g;
  g.M = p.rows;
  g.N = p.hidden;
  g.K = p.in;
  g.transB = true;
  g.A = p.a;
  g.lda = p.in;
  g.B = p.Wo;
  g.ldb = p.in;
  g.C = out;
  g.ldc = p.hidden;
  g.bias = bias;
  g.residual = p.h;
  g.ldr = p.hidden;
  return Gemm(ctx, g);
}

// da = ∂pre·Wo and dWo = ∂preᵀ·a, each when asked.
Status InputGradients(const Context& ctx, const OutputBlockParams& p, const OutputBlockGrads& grads) {
  if (grads.da) {
    GemmParams g;
    g.M = p.rows;
    g.N = p.in;
    g.K = p.hidden;
    g.A = grads.dh;
    g.lda = p.hidden;
    g.B = p.Wo;
    g.ldb = p.in;
    g.C = grads.da;
    g.ldc = p.in;
    FRUGAL_RETURN_IF_ERROR(Gemm(ctx, g));
  }
  if (grads.dWo) {
    FRUGAL_RETURN_IF_ERROR(Gemm(ctx, WeightGradientGemm(p.rows, p.in, p.hidden, p.a, grads.dh, grads.dWo)));
  }
  return Status::Ok();
}

bool AllNonzero(const float* v, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    if (v[j] == 0.0f) return false;
  }
  return true;
}

Status OutputBlockCpu(const Context& ctx, const OutputBlockParams& p, float* y, float* mean, float* rstd) {
  const int64_t H = p.hidden;
  float* bias = nullptr;
  FRUGAL_RETURN_IF_ERROR(Workspace("slash.outputBlock", kSlotCall, H, &bias));
  for (int64_t j = 0; j < H; ++j) bias[j] = p.c[j] + (p.shift ? p.shift[j] : 0.0f);
  FRUGAL_RETURN_IF_ERROR(PreActivation(ctx, p, bias, y));
  const LayerNormRowKernels& ln = LayerNormRowKernelsFor(ActiveIsa());
  ParallelFor(CeilDiv(p.rows, kNormRows), [&](int64_t task) {
    const int64_t r1 = std::min(p.rows, (task + 1) * kNormRows);
    for (int64_t r = task * kNormRows; r < r1; ++r) {
      float m, s;
      ln.forward(H, y + r * H, p.gamma, p.beta, p.eps, y + r * H, &m, &s);
      if (mean) mean[r] = m;
      if (rstd) rstd[r] = s;
    }
  });
  return Status::Ok();
}

Status OutputBlockBackwardCpu(const Context& ctx, const OutputBlockParams& p, const float* dy, const float* y,
                              const float* mean, const float* rstd, const OutputBlockGrads& grads) {
  const Isa isa = ActiveIsa();
  const SlashKernels& k = SlashKernelsFor(isa);
  const LayerNormRowKernels& ln = LayerNormRowKernelsFor(isa);
  const PrimitiveKernels& prim = PrimitiveKernelsFor(isa);  // axpy: the column sums of ∂pre
  const int64_t N = p.rows, H = p.hidden, blocks = CeilDiv(N, kRowBlock);
  const bool from_y = y != nullptr && AllNonzero(p.gamma, H);
  // Call workspace: one column vector (1/gamma when x̂ comes from y, else the
  // folded bias c + shift), then per row block the partial sums of dgamma, dbeta, ∂pre.
  float* ws = nullptr;
  FRUGAL_RETURN_IF_ERROR(Workspace("slash.outputBlockBackward", kSlotCall, H + blocks * 3 * H, &ws));
  float* column = ws;
  float* partials = ws + H;
  if (from_y) {
    for (int64_t j = 0; j < H; ++j) column[j] = 1.0f / p.gamma[j];
  } else {
    // No y (or a zero gamma): recompute pre into dh, consumed row by row below.
    for (int64_t j = 0; j < H; ++j) column[j] = p.c[j] + (p.shift ? p.shift[j] : 0.0f);
    FRUGAL_RETURN_IF_ERROR(PreActivation(ctx, p, column, grads.dh));
  }
  FRUGAL_RETURN_IF_ERROR(ParallelForStatus(blocks, [&](int64_t blk) {
    float* pre = nullptr;
    FRUGAL_RETURN_IF_ERROR(Workspace("slash.outputBlockBackward", kSlotTask, H, &pre));
    float* dgamma = partials + blk * 3 * H;
    float* dbeta = dgamma + H;
    float* dcol = dbeta + H;
    std::fill(dgamma, dgamma + 3 * H, 0.0f);
    const int64_t r1 = std::min(N, (blk + 1) * kRowBlock);
    for (int64_t r = blk * kRowBlock; r < r1; ++r) {
      float* dh = grads.dh + r * H;
      if (from_y) {
        k.unnormalize_row(H, y + r * H, p.beta, column, mean[r], 1.0f / rstd[r], pre);
      } else {
        std::memcpy(pre, dh, static_cast<size_t>(H) * sizeof(float));
      }
      ln.backward(H, dy + r * H, pre, p.gamma, mean[r], rstd[r], dh, dgamma, dbeta);
      prim.axpy(dcol, dh, H, 1.0f);
    }
    return Status::Ok();
  }));
  // Block partials added in block order, columns split over the pool.
  ParallelFor(CeilDiv(H, kProjectColumns), [&](int64_t task) {
    const int64_t j0 = task * kProjectColumns, j1 = std::min(H, j0 + kProjectColumns);
    for (int64_t j = j0; j < j1; ++j) {
      float sg = 0, sb = 0, sc = 0;
      for (int64_t blk = 0; blk < blocks; ++blk) {
        const float* part = partials + blk * 3 * H;
        sg += part[j];
        sb += part[H + j];
        sc += part[2 * H + j];
      }
      if (grads.dgamma) grads.dgamma[j] = sg;
      if (grads.dbeta) grads.dbeta[j] = sb;
      if (grads.dc) grads.dc[j] = sc;
      if (grads.dshift) grads.dshift[j] = sc;
    }
  });
  if (grads.dshiftPerSample) {
    const int64_t T = grads.tokensPerSample;
    ParallelFor(N / T, [&](int64_t s) {
      float* out = grads.dshiftPerSample + s * H;
      std::fill(out, out + H, 0.0f);
      for (int64_t t = 0; t < T; ++t) prim.axpy(out, grads.dh + (s * T + t) * H, H, 1.0f);
    });
  }
  return InputGradients(ctx, p, grads);
}

#ifdef FRUGAL_WITH_CUDA
Status OutputBlockCuda(const Context& ctx, const OutputBlockParams& p, float* y, float* mean, float* rstd) {
  DeviceBuffer bias;
  FRUGAL_RETURN_IF_ERROR(bias.AllocateFloats(p.hidden));
  if (p.shift) {
    FRUGAL_RETURN_IF_ERROR(SlashAddCuda(p.hidden, p.c, p.shift, bias.get(), ctx.stream));
  }
  FRUGAL_RETURN_IF_ERROR(PreActivation(ctx, p, p.shift ? bias.get() : p.c, y));
  LayerNormParams ln;
  ln.rows = p.rows;
  ln.cols = p.hidden;
  ln.x = y;
  ln.gamma = p.gamma;
  ln.beta = p.beta;
  ln.eps = p.eps;
  ln.y = y;
  ln.mean = mean;
  ln.rstd = rstd;
  FRUGAL_RETURN_IF_ERROR(LayerNorm(ctx, ln));
  return CudaSynchronize(ctx.stream);
}

Status OutputBlockBackwardCuda(const Context& ctx, const OutputBlockParams& p, const float* dy, const float* y,
                               const float* mean, const float* rstd, const OutputBlockGrads& grads) {
  const int64_t N = p.rows, H = p.hidden;
  std::vector<float> gamma(static_cast<size_t>(H));
  FRUGAL_RETURN_IF_ERROR(CudaCopyToHost(gamma.data(), p.gamma, static_cast<size_t>(H) * sizeof(float)));
  DeviceBuffer pre, sums, bias;
  FRUGAL_RETURN_IF_ERROR(pre.AllocateFloats(N * H));
  if (y != nullptr && AllNonzero(gamma.data(), H)) {
    FRUGAL_RETURN_IF_ERROR(SlashUnnormalizeCuda(N, H, y, p.gamma, p.beta, mean, rstd, pre.get(), ctx.stream));
  } else {
    FRUGAL_RETURN_IF_ERROR(bias.AllocateFloats(H));
    if (p.shift) FRUGAL_RETURN_IF_ERROR(SlashAddCuda(H, p.c, p.shift, bias.get(), ctx.stream));
    FRUGAL_RETURN_IF_ERROR(PreActivation(ctx, p, p.shift ? bias.get() : p.c, pre.get()));
  }
  // The LayerNorm backward takes dgamma and dbeta together: scratch for a missing one.
  FRUGAL_RETURN_IF_ERROR(sums.AllocateFloats(2 * H));
  LayerNormBackwardParams lb;
  lb.rows = N;
  lb.cols = H;
  lb.dy = dy;
  lb.x = pre.get();
  lb.gamma = p.gamma;
  lb.mean = mean;
  lb.rstd = rstd;
  lb.dx = grads.dh;
  lb.dgamma = grads.dgamma ? grads.dgamma : sums.get();
  lb.dbeta = grads.dbeta ? grads.dbeta : sums.get() + H;
  FRUGAL_RETURN_IF_ERROR(LayerNormBackward(ctx, lb));
  if (grads.dc) FRUGAL_RETURN_IF_ERROR(SumTokensCuda(grads.dh, 1, N, H, grads.dc, ctx.stream));
  if (grads.dshift) FRUGAL_RETURN_IF_ERROR(SumTokensCuda(grads.dh, 1, N, H, grads.dshift, ctx.stream));
  if (grads.dshiftPerSample) {
    const int64_t T = grads.tokensPerSample;
    FRUGAL_RETURN_IF_ERROR(SumTokensCuda(grads.dh, N / T, T, H, grads.dshiftPerSample, ctx.stream));
  }
  FRUGAL_RETURN_IF_ERROR(InputGradients(ctx, p, grads));
  return CudaSynchronize(ctx.stream);
}
#endif

}  // namespace

Status CheckProjectionParams(const ProjectionParams& p) {
  if (p.layers < 0 || p.hidden < 0 || p.dim < 1) {
    return Status::Shape("slash: expected layers >= 0, dim >= 1, hidden >= 0, got " + std::to_string(p.layers) +
                         ", " + std::to_string(p.dim) + ", " + std::to_string(p.hidden));
  }
  if (p.layers > (int64_t{1} << 32)) return Status::Range("slash: layers must be <= 2^32 (one sub-stream each)");
  if (p.hidden > 0 && p.dim > (int64_t{1} << 62) / p.hidden) return Status::Range("slash: dim × hidden is too large");
  if (p.dist != ProjectionDist::kNormal && p.dist != ProjectionDist::kRademacher) {
    return Status::Range("slash: dist must be normal or rademacher");
  }
  return Status::Ok();
}

Status CheckOutputBlockParams(const OutputBlockParams& p) {
  const char* op = "slash.outputBlock";
  if (p.rows < 0 || p.in < 0 || p.hidden < 1) {
    return Status::Shape(std::string(op) + ": expected rows >= 0, in >= 0, hidden >= 1, got " +
                         std::to_string(p.rows) + ", " + std::to_string(p.in) + ", " + std::to_string(p.hidden));
  }
  if (!(p.eps > 0) || !std::isfinite(p.eps)) return Status::Range(std::string(op) + ": eps must be finite and > 0");
  if (!p.c) return NullArgument(op, "c");
  if (!p.gamma) return NullArgument(op, "gamma");
  if (!p.beta) return NullArgument(op, "beta");
  if (p.rows > 0 && !p.h) return NullArgument(op, "h");
  if (p.rows * p.in > 0 && !p.a) return NullArgument(op, "a");
  if (p.hidden * p.in > 0 && !p.Wo) return NullArgument(op, "Wo");
  return Status::Ok();
}

Status SlashProject(const Context& ctx, const ProjectionParams& p, const float* z, float* shifts) {
  const char* op = "slash.project";
  FRUGAL_RETURN_IF_ERROR(CheckProjectionParams(p));
  const bool empty = p.layers * p.hidden == 0;
  if (!empty && !z) return NullArgument(op, "z");
  if (!empty && !shifts) return NullArgument(op, "shifts");
  return Dispatch(op, ctx, Empty{empty}, [&] { return ProjectCpu(p, z, shifts); }, FRUGAL_CUDA_PATH([&] {
    FRUGAL_RETURN_IF_ERROR(SlashProjectCuda(p, z, shifts, ctx.stream));
    return CudaSynchronize(ctx.stream);
  }()));
}

Status SlashProjectBackward(const Context& ctx, const ProjectionParams& p, int64_t batch, const float* g,
                            float* dz) {
  const char* op = "slash.projectBackward";
  FRUGAL_RETURN_IF_ERROR(CheckProjectionParams(p));
  if (batch < 0) return Status::Shape(std::string(op) + ": batch must be >= 0, got " + std::to_string(batch));
  if (batch > 0 && !dz) return NullArgument(op, "dz");
  if (batch > 0 && p.layers * p.hidden > 0 && !g) return NullArgument(op, "g");
  // No layers or columns: dz = 0, the gradient of a projection of nothing.
  const Empty empty{batch == 0 || p.layers * p.hidden == 0, [&] { return ZeroFloats(ctx, dz, batch * p.dim); }};
  return Dispatch(op, ctx, empty, [&] { return ProjectBackwardCpu(p, batch, g, dz); }, FRUGAL_CUDA_PATH([&] {
    FRUGAL_RETURN_IF_ERROR(SlashProjectBackwardCuda(p, batch, g, dz, ctx.stream));
    return CudaSynchronize(ctx.stream);
  }()));
}

Status SlashOutputBlock(const Context& ctx, const OutputBlockParams& p, float* y, float* mean, float* rstd) {
  const char* op = "slash.outputBlock";
  FRUGAL_RETURN_IF_ERROR(CheckOutputBlockParams(p));
  if (p.rows > 0 && !y) return NullArgument(op, "y");
  return Dispatch(op, ctx, Empty{p.rows == 0}, [&] { return OutputBlockCpu(ctx, p, y, mean, rstd); },
                  FRUGAL_CUDA_PATH(OutputBlockCuda(ctx, p, y, mean, rstd)));
}

Status SlashOutputBlockBackward(const Context& ctx, const OutputBlockParams& p, const float* dy, const float* y,
                                const float* mean, const float* rstd, const OutputBlockGrads& g) {
  const char* op = "slash.outputBlockBackward";
  FRUGAL_RETURN_IF_ERROR(CheckOutputBlockParams(p));
  if (g.dshiftPerSample && (g.tokensPerSample <= 0 || p.rows % g.tokensPerSample != 0)) {
    return Status::Shape(std::string(op) + ": tokensPerSample must be >= 1 and divide rows (" +
                         std::to_string(p.rows) + "), got " + std::to_string(g.tokensPerSample));
  }
  if (p.rows > 0) {
    if (!dy) return NullArgument(op, "dy");
    if (!mean) return NullArgument(op, "mean");
    if (!rstd) return NullArgument(op, "rstd");
    if (!g.dh) return NullArgument(op, "dh");
  }
  // No tokens: every sum is zero (dh, da and dshiftPerSample are empty).
  const Empty empty{p.rows == 0, [&] {
    for (float* v : {g.dc, g.dshift, g.dgamma, g.dbeta}) FRUGAL_RETURN_IF_ERROR(ZeroFloats(ctx, v, p.hidden));
    return ZeroFloats(ctx, g.dWo, p.hidden * p.in);
  }};
  return Dispatch(op, ctx, empty, [&] { return OutputBlockBackwardCpu(ctx, p, dy, y, mean, rstd, g); },
                  FRUGAL_CUDA_PATH(OutputBlockBackwardCuda(ctx, p, dy, y, mean, rstd, g)));
}

Status SlashFoldShift(const Context& ctx, int64_t n, const float* c, const float* shift, float* cOut) {
  const char* op = "slash.foldShift";
  if (n < 0) return Status::Shape(std::string(op) + ": n must be >= 0, got " + std::to_string(n));
  if (n > 0 && (!c || !shift || !cOut)) return NullArgument(op, !c ? "c" : !shift ? "shift" : "cOut");
  return Dispatch(op, ctx, Empty{n == 0}, [&] {
    for (int64_t j = 0; j < n; ++j) cOut[j] = c[j] + shift[j];
    return Status::Ok();
  }, FRUGAL_CUDA_PATH([&] {
    FRUGAL_RETURN_IF_ERROR(SlashAddCuda(n, c, shift, cOut, ctx.stream));
    return CudaSynchronize(ctx.stream);
  }()));
}

// Σ_b x[offsets[b]] (rows of `hidden` floats) into sum, in sample order: the
// prompt rows' gradient of insert (x = dout, row offsets[b] + b) and of add.
namespace {
void SumPromptRows(const int32_t* offsets, int64_t batch, int64_t hidden, int64_t shift_per_sample, const float* x,
                   float* sum) {
  std::fill(sum, sum + hidden, 0.0f);
  for (int64_t b = 0; b < batch; ++b) {
    const float* src = x + (offsets[b] + shift_per_sample * b) * hidden;
    for (int64_t j = 0; j < hidden; ++j) sum[j] += src[j];
  }
}
}  // namespace

Status SlashPromptInsert(const Context& ctx, const int32_t* offsets, int64_t batch, int64_t hidden, const float* x,
                         const float* prompt, float* out) {
  const char* op = "slash.promptInsert";
  PackedOffsets packed(offsets, batch);
  FRUGAL_RETURN_IF_ERROR(packed.Check(op, false));
  if (hidden < 0) return Status::Shape(std::string(op) + ": expected hidden >= 0, got " + std::to_string(hidden));
  const bool empty = batch == 0 || hidden == 0;
  if (!empty && ((packed.total() > 0 && !x) || !prompt || !out)) return NullArgument(op, !prompt ? "prompt" : !out ? "out" : "x");
  return Dispatch(op, ctx, Empty{empty}, [&] {
    const size_t row = static_cast<size_t>(hidden) * sizeof(float);
    ParallelFor(batch, [&](int64_t b) {
      float* dst = out + (offsets[b] + b) * hidden;
      std::memcpy(dst, prompt, row);
      const int64_t n = offsets[b + 1] - offsets[b];
      if (n > 0) std::memcpy(dst + hidden, x + static_cast<int64_t>(offsets[b]) * hidden, row * static_cast<size_t>(n));
    });
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(WithDeviceOffsets(ctx, packed, [&](const int32_t* d) {
    return SlashPromptInsertCuda(d, batch, hidden, x, prompt, out, ctx.stream);
  })));
}

Status SlashPromptExtract(const Context& ctx, const int32_t* offsets, int64_t batch, int64_t hidden,
                          const float* dout, float* dx, float* dprompt) {
  const char* op = "slash.promptInsertBackward";
  PackedOffsets packed(offsets, batch);
  FRUGAL_RETURN_IF_ERROR(packed.Check(op, false));
  if (hidden < 0) return Status::Shape(std::string(op) + ": expected hidden >= 0, got " + std::to_string(hidden));
  const bool empty = batch == 0 || hidden == 0;
  if (!empty && (!dout || (packed.total() > 0 && !dx))) return NullArgument(op, !dout ? "dout" : "dx");
  // No samples: the prompt's gradient is a sum of nothing.
  return Dispatch(op, ctx, Empty{empty, [&] { return ZeroFloats(ctx, dprompt, hidden); }}, [&] {
    const size_t row = static_cast<size_t>(hidden) * sizeof(float);
    ParallelFor(batch, [&](int64_t b) {
      const int64_t n = offsets[b + 1] - offsets[b];
      if (n > 0) std::memcpy(dx + static_cast<int64_t>(offsets[b]) * hidden, dout + (offsets[b] + b + 1) * hidden, row * static_cast<size_t>(n));
    });
    if (dprompt) SumPromptRows(offsets, batch, hidden, 1, dout, dprompt);
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(WithDeviceOffsets(ctx, packed, [&](const int32_t* d) {
    return SlashPromptExtractCuda(d, batch, hidden, dout, dx, dprompt, ctx.stream);
  })));
}

Status SlashPromptAdd(const Context& ctx, const int32_t* offsets, int64_t batch, int64_t hidden, float* x,
                      const float* prompt) {
  const char* op = "slash.promptAdd";
  PackedOffsets packed(offsets, batch);
  FRUGAL_RETURN_IF_ERROR(packed.Check(op, true));
  if (hidden < 0) return Status::Shape(std::string(op) + ": expected hidden >= 0, got " + std::to_string(hidden));
  const bool empty = batch == 0 || hidden == 0;
  if (!empty && (!x || !prompt)) return NullArgument(op, !x ? "x" : "prompt");
  return Dispatch(op, ctx, Empty{empty}, [&] {
    for (int64_t b = 0; b < batch; ++b) {
      float* dst = x + static_cast<int64_t>(offsets[b]) * hidden;
      for (int64_t j = 0; j < hidden; ++j) dst[j] += prompt[j];
    }
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(WithDeviceOffsets(ctx, packed, [&](const int32_t* d) {
    return SlashPromptAddCuda(d, batch, hidden, x, prompt, ctx.stream);
  })));
}

Status SlashPromptSum(const Context& ctx, const int32_t* offsets, int64_t batch, int64_t hidden, const float* x,
                      float* dprompt) {
  const char* op = "slash.promptAddBackward";
  PackedOffsets packed(offsets, batch);
  FRUGAL_RETURN_IF_ERROR(packed.Check(op, true));
  if (hidden < 0) return Status::Shape(std::string(op) + ": expected hidden >= 0, got " + std::to_string(hidden));
  if (hidden > 0 && (!dprompt || (batch > 0 && !x))) return NullArgument(op, !dprompt ? "dprompt" : "x");
  const Empty empty{batch == 0 || hidden == 0, [&] { return ZeroFloats(ctx, dprompt, hidden); }};
  return Dispatch(op, ctx, empty, [&] {
    SumPromptRows(offsets, batch, hidden, 0, x, dprompt);
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(WithDeviceOffsets(ctx, packed, [&](const int32_t* d) {
    return SlashPromptSumCuda(d, batch, hidden, x, dprompt, ctx.stream);
  })));
}

}  // namespace frugal
