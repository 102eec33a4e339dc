// GELU, sigmoid and softmax front end: checks the arguments, then runs the kernels of
// the active ISA over the pool in fixed chunks (GELU, sigmoid) or row blocks (softmax),
// or the CUDA launchers for device memory. Elementwise and per-row work has no
// cross-task reduction, so results never depend on the thread count.
#include "frugal/activation.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "core/front_end.h"
#include "cpu/kernel_table.h"
#include "cpu/activation_kernels.h"
#include "frugal/isa.h"
#ifdef FRUGAL_WITH_CUDA
#include "cuda/activation.h"
#endif

namespace frugal {
namespace {

// About 128 KB of input per task: big enough to amortise the hand-out, small
// enough to balance; tiny calls make a single task and run inline.
constexpr int64_t kFloatsPerTask = int64_t{1} << 15;

Status CheckCount(const char* op, int64_t n) {
  if (n < 0) return Status::Shape(std::string(op) + ": expected n >= 0, got " + std::to_string(n));
  return Status::Ok();
}

// Runs fn(begin, end) over [0, n) in fixed chunks of kFloatsPerTask.
template <typename Fn>
void ForChunks(int64_t n, const Fn& fn) {
  ParallelFor(CeilDiv(n, kFloatsPerTask), [&](int64_t task) {
    const int64_t begin = task * kFloatsPerTask;
    fn(begin, std::min(n, begin + kFloatsPerTask));
  });
}

}  // namespace

const ActivationKernels& ActivationKernelsFor(Isa isa) {
  static const ActivationKernels kRef{ref::GeluSpan, ref::GeluBackwardSpan, ref::SigmoidSpan,
                                      ref::SigmoidBackwardSpan, ref::SoftmaxRow};
  static const ActivationKernels kAvx2{avx2::GeluSpan, avx2::GeluBackwardSpan, avx2::SigmoidSpan,
                                       avx2::SigmoidBackwardSpan, avx2::SoftmaxRow};
  static const ActivationKernels kAvx512{avx512::GeluSpan, avx512::GeluBackwardSpan, avx512::SigmoidSpan,
                                         avx512::SigmoidBackwardSpan, avx512::SoftmaxRow};
  return KernelsOfLevel(isa, kRef, kAvx2, kAvx512);
}

Status CheckGeluArgs(int64_t n, const float* x, const float* y) {
  FRUGAL_RETURN_IF_ERROR(CheckCount("gelu", n));
  if (n > 0 && !x) return NullArgument("gelu", "x");
  if (n > 0 && !y) return NullArgument("gelu", "y");
  return Status::Ok();
}

Status CheckGeluBackwardArgs(int64_t n, const float* x, const float* dy, const float* dx) {
  FRUGAL_RETURN_IF_ERROR(CheckCount("geluBackward", n));
  if (n > 0 && !x) return NullArgument("geluBackward", "x");
  if (n > 0 && !dy) return NullArgument("geluBackward", "dy");
  if (n > 0 && !dx) return NullArgument("geluBackward", "dx");
  return Status::Ok();
}

Status CheckSigmoidArgs(int64_t n, const float* x, const float* y) {
  FRUGAL_RETURN_IF_ERROR(CheckCount("sigmoid", n));
  if (n > 0 && !x) return NullArgument("sigmoid", "x");
  if (n > 0 && !y) return NullArgument("sigmoid", "y");
  return Status::Ok();
}

Status CheckSigmoidBackwardArgs(int64_t n, const float* y, const float* dy, const float* dx) {
  FRUGAL_RETURN_IF_ERROR(CheckCount("sigmoidBackward", n));
  if (n > 0 && !y) return NullArgument("sigmoidBackward", "y");
  if (n > 0 && !dy) return NullArgument("sigmoidBackward", "dy");
  if (n > 0 && !dx) return NullArgument("sigmoidBackward", "dx");
  return Status::Ok();
}

Status CheckSoftmaxArgs(int64_t rows, int64_t cols, const float* x, const float* y) {
  if (rows < 0 || cols < 0) {
    return Status::Shape("softmax: expected rows >= 0 and cols >= 0, got rows " + std::to_string(rows) +
                         ", cols " + std::to_string(cols));
  }
  if (cols > 0 && rows > INT64_MAX / cols) return Status::Shape("softmax: rows × cols overflows 64 bits");
  if (rows > 0 && cols > 0 && !x) return NullArgument("softmax", "x");
  if (rows > 0 && cols > 0 && !y) return NullArgument("softmax", "y");
  return Status::Ok();
}

Status Gelu(const Context& ctx, int64_t n, const float* x, float* y) {
  FRUGAL_RETURN_IF_ERROR(CheckGeluArgs(n, x, y));
  return Dispatch("gelu", ctx, Empty{n == 0}, [&] {
    const auto gelu = ActivationKernelsFor(ActiveIsa()).gelu;
    ForChunks(n, [&](int64_t begin, int64_t end) { gelu(end - begin, x + begin, y + begin); });
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(GeluCuda(n, x, y, ctx.stream)));
}

Status GeluBackward(const Context& ctx, int64_t n, const float* x, const float* dy, float* dx) {
  FRUGAL_RETURN_IF_ERROR(CheckGeluBackwardArgs(n, x, dy, dx));
  return Dispatch("geluBackward", ctx, Empty{n == 0}, [&] {
    const auto backward = ActivationKernelsFor(ActiveIsa()).gelu_backward;
    ForChunks(n, [&](int64_t begin, int64_t end) { backward(end - begin, x + begin, dy + begin, dx + begin); });
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(GeluBackwardCuda(n, x, dy, dx, ctx.stream)));
}

Status Sigmoid(const Context& ctx, int64_t n, const float* x, float* y) {
  FRUGAL_RETURN_IF_ERROR(CheckSigmoidArgs(n, x, y));
  return Dispatch("sigmoid", ctx, Empty{n == 0}, [&] {
    const auto sigmoid = ActivationKernelsFor(ActiveIsa()).sigmoid;
    ForChunks(n, [&](int64_t begin, int64_t end) { sigmoid(end - begin, x + begin, y + begin); });
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(SigmoidCuda(n, x, y, ctx.stream)));
}

Status SigmoidBackward(const Context& ctx, int64_t n, const float* y, const float* dy, float* dx) {
  FRUGAL_RETURN_IF_ERROR(CheckSigmoidBackwardArgs(n, y, dy, dx));
  return Dispatch("sigmoidBackward", ctx, Empty{n == 0}, [&] {
    const auto backward = ActivationKernelsFor(ActiveIsa()).sigmoid_backward;
    ForChunks(n, [&](int64_t begin, int64_t end) { backward(end - begin, y + begin, dy + begin, dx + begin); });
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(SigmoidBackwardCuda(n, y, dy, dx, ctx.stream)));
}

Status Softmax(const Context& ctx, int64_t rows, int64_t cols, const float* x, float* y) {
  FRUGAL_RETURN_IF_ERROR(CheckSoftmaxArgs(rows, cols, x, y));
  return Dispatch("softmax", ctx, Empty{rows == 0 || cols == 0}, [&] {
    const auto row = ActivationKernelsFor(ActiveIsa()).softmax_row;
    const int64_t per_task = std::max<int64_t>(1, kFloatsPerTask / cols);
    ParallelFor(CeilDiv(rows, per_task), [&](int64_t task) {
      const int64_t end = std::min(rows, (task + 1) * per_task);
      for (int64_t r = task * per_task; r < end; ++r) row(cols, x + r * cols, y + r * cols);
    });
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(SoftmaxCuda(rows, cols, x, y, ctx.stream)));
}

}  // namespace frugal
