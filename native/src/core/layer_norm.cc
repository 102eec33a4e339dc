// LayerNorm front end: checks the arguments, then runs the row kernels of the
// active ISA over the pool, or the CUDA launchers for device memory.
//
// Determinism: rows are independent in the forward and in dx. The backward's
// dgamma/dbeta are summed per fixed block of rows (block boundaries depend on
// the shape only), then the block partials are added in block order, so the
// result is the same for any thread count.
#include "frugal/layer_norm.h"

#include <algorithm>
#include <cmath>
#include <new>
#include <string>
#include <vector>

#include "core/front_end.h"
#include "cpu/kernel_table.h"
#include "cpu/primitives/layer_norm_rows.h"
#include "frugal/isa.h"
#ifdef FRUGAL_WITH_CUDA
#include "cuda/layer_norm.h"
#endif

namespace frugal {
namespace {

// About 128 KB of input per task: big enough to amortise the hand-out, small
// enough to balance two to a few dozen threads.
constexpr int64_t kFloatsPerTask = int64_t{1} << 15;
// The backward keeps one dgamma/dbeta partial per block of rows: at most this many.
constexpr int64_t kMaxBlocks = 64;
// Columns per task of the final, fixed-order sum over the block partials.
constexpr int64_t kColsPerSumTask = 4096;

int64_t RowsPerTask(int64_t cols) { return std::max<int64_t>(1, kFloatsPerTask / std::max<int64_t>(1, cols)); }

Status CheckShape(const char* op, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0) {
    return Status::Shape(std::string(op) + ": expected rows >= 0 and cols >= 0, got rows " +
                         std::to_string(rows) + ", cols " + std::to_string(cols));
  }
  if (rows > 0 && cols == 0) {
    return Status::Shape(std::string(op) + ": expected cols >= 1 (a row to normalise), got 0");
  }
  if (cols > 0 && rows > INT64_MAX / cols) {
    return Status::Shape(std::string(op) + ": rows × cols overflows 64 bits");
  }
  return Status::Ok();
}

}  // namespace

Status CheckLayerNormParams(const LayerNormParams& p) {
  const char* op = "layerNorm";
  FRUGAL_RETURN_IF_ERROR(CheckShape(op, p.rows, p.cols));
  if (!(std::isfinite(p.eps) && p.eps > 0)) {
    return Status::Range(std::string(op) + ": expected eps finite and > 0, got " + std::to_string(p.eps));
  }
  if (p.rows == 0) return Status::Ok();
  if (!p.x) return NullArgument(op, "x");
  if (!p.gamma) return NullArgument(op, "gamma");
  if (!p.beta) return NullArgument(op, "beta");
  if (!p.y) return NullArgument(op, "y");
  return Status::Ok();
}

Status CheckLayerNormBackwardParams(const LayerNormBackwardParams& p) {
  const char* op = "layerNormBackward";
  FRUGAL_RETURN_IF_ERROR(CheckShape(op, p.rows, p.cols));
  if ((p.dgamma == nullptr) != (p.dbeta == nullptr)) {
    return Status::Native(std::string(op) + ": give both dgamma and dbeta or neither");
  }
  if (p.rows == 0) return Status::Ok();
  if (!p.dy) return NullArgument(op, "dy");
  if (!p.x) return NullArgument(op, "x");
  if (!p.gamma) return NullArgument(op, "gamma");
  if (!p.mean) return NullArgument(op, "mean");
  if (!p.rstd) return NullArgument(op, "rstd");
  if (!p.dx) return NullArgument(op, "dx");
  return Status::Ok();
}

namespace {

Status ForwardCpu(const LayerNormParams& p) {
  const LayerNormForwardRowFn forward = LayerNormRowKernelsFor(ActiveIsa()).forward;
  const int64_t per_task = RowsPerTask(p.cols);
  ParallelFor(CeilDiv(p.rows, per_task), [&](int64_t task) {
    const int64_t end = std::min(p.rows, (task + 1) * per_task);
    for (int64_t r = task * per_task; r < end; ++r) {
      float mean, rstd;
      forward(p.cols, p.x + r * p.cols, p.gamma, p.beta, p.eps, p.y + r * p.cols, &mean, &rstd);
      if (p.mean) p.mean[r] = mean;
      if (p.rstd) p.rstd[r] = rstd;
    }
  });
  return Status::Ok();
}

// rows > 0 (the empty rule ran first).
Status BackwardCpu(const LayerNormBackwardParams& p) {
  const LayerNormBackwardRowFn backward = LayerNormRowKernelsFor(ActiveIsa()).backward;
  const int64_t rows = p.rows, cols = p.cols;
  const auto run_rows = [&](int64_t begin, int64_t end, float* dgamma, float* dbeta) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t o = r * cols;
      backward(cols, p.dy + o, p.x + o, p.gamma, p.mean[r], p.rstd[r], p.dx + o, dgamma, dbeta);
    }
  };
  if (!p.dgamma) {
    const int64_t per_task = RowsPerTask(cols);
    ParallelFor(CeilDiv(rows, per_task), [&](int64_t task) {
      run_rows(task * per_task, std::min(rows, (task + 1) * per_task), nullptr, nullptr);
    });
    return Status::Ok();
  }

  // Blocks of rows, their number a function of the shape alone.
  const int64_t blocks =
      std::min({rows, kMaxBlocks, std::max<int64_t>(1, rows * cols / kFloatsPerTask)});
  std::vector<float> partial;
  try {
    partial.assign(static_cast<size_t>(2 * blocks * cols), 0.0f);
  } catch (const std::bad_alloc&) {
    return Status::Native("layerNormBackward: out of memory for the dgamma/dbeta partial sums");
  }
  ParallelFor(blocks, [&](int64_t b) {
    float* dgamma = partial.data() + 2 * b * cols;
    run_rows(b * rows / blocks, (b + 1) * rows / blocks, dgamma, dgamma + cols);
  });
  ParallelFor(CeilDiv(cols, kColsPerSumTask), [&](int64_t task) {
    const int64_t c0 = task * kColsPerSumTask, n = std::min(cols - c0, kColsPerSumTask);
    std::fill(p.dgamma + c0, p.dgamma + c0 + n, 0.0f);
    std::fill(p.dbeta + c0, p.dbeta + c0 + n, 0.0f);
    for (int64_t b = 0; b < blocks; ++b) {
      const float* dgamma = partial.data() + 2 * b * cols + c0;
      const float* dbeta = dgamma + cols;
      for (int64_t j = 0; j < n; ++j) {
        p.dgamma[c0 + j] += dgamma[j];
        p.dbeta[c0 + j] += dbeta[j];
      }
    }
  });
  return Status::Ok();
}

}  // namespace

Status LayerNorm(const Context& ctx, const LayerNormParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckLayerNormParams(p));
  return Dispatch("layerNorm", ctx, Empty{p.rows == 0}, [&] { return ForwardCpu(p); },
                  FRUGAL_CUDA_PATH(LayerNormCuda(p, ctx.stream)));
}

Status LayerNormBackward(const Context& ctx, const LayerNormBackwardParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckLayerNormBackwardParams(p));
  // No rows: dx is empty and the parameter gradients are sums of nothing.
  const Empty empty{p.rows == 0, [&] {
    FRUGAL_RETURN_IF_ERROR(ZeroFloats(ctx, p.dgamma, p.cols));
    return ZeroFloats(ctx, p.dbeta, p.cols);
  }};
  return Dispatch("layerNormBackward", ctx, empty, [&] { return BackwardCpu(p); },
                  FRUGAL_CUDA_PATH(LayerNormBackwardCuda(p, ctx.stream)));
}

}  // namespace frugal
