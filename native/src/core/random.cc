// Random streams front end: checks the arguments, then fills the output with
// the active ISA's kernels (over the pool for big calls) or the CUDA launcher.
//
// Determinism: every element is a function of its stream index alone, and
// every ISA level computes an element with the same code whatever the call's
// offset and length (native/src/cpu/primitives/streams.h), so the chunking never
// shows in the result. Chunks still start at fixed stream indices (multiples of
// kChunk, a multiple of the 64-element vector group) so that no chunk splits a
// group and the task boundaries do not depend on the thread count.
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>

#include "core/front_end.h"
#include "cpu/kernel_table.h"
#include "cpu/primitives/streams.h"
#include "frugal/isa.h"
#include "frugal/random.h"
#ifdef FRUGAL_WITH_CUDA
#include "cuda/random.h"
#endif

namespace frugal {
namespace {

// 64 Ki elements (256 KB of output) per task: fits L2, amortises the hand-out,
// and leaves 256 tasks for the 16 M-element benchmark.
constexpr uint64_t kChunk = uint64_t{1} << 16;

Status Check(const char* op, uint64_t offset, int64_t n, const void* out) {
  if (n < 0) return Status::Shape(std::string(op) + ": expected n >= 0, got " + std::to_string(n));
  if (n > 0 && !out) return NullArgument(op, "out");
  if (n > 0 && offset > UINT64_MAX - static_cast<uint64_t>(n - 1)) {
    return Status::Range(std::string(op) + ": elements [offset, offset + n) must stay below 2^64, got offset " +
                         std::to_string(offset) + " and n " + std::to_string(n));
  }
  return Status::Ok();
}

Status CheckScale(const char* op, float scale) {
  if (!std::isfinite(scale)) return Status::Range(std::string(op) + ": expected a finite scale, got " + std::to_string(scale));
  return Status::Ok();
}

// Runs fill(task_offset, task_n, task_out) over chunks of the stream.
template <typename T, typename Fill>
void Chunked(uint64_t offset, int64_t n, T* out, Fill fill) {
  // Inclusive ends: a window may end exactly at 2^64, where offset + n wraps.
  const uint64_t back = offset + static_cast<uint64_t>(n - 1);
  const uint64_t first = offset / kChunk, last = back / kChunk;
  if (first == last) {  // small calls: no pool, no std::function
    fill(offset, n, out);
    return;
  }
  ParallelFor(static_cast<int64_t>(last - first + 1), [&](int64_t task) {
    const uint64_t c = first + static_cast<uint64_t>(task);
    const uint64_t begin = task == 0 ? offset : c * kChunk;
    const uint64_t end = c == last ? back : (c + 1) * kChunk - 1;
    fill(begin, static_cast<int64_t>(end - begin + 1), out + (begin - offset));
  });
}

}  // namespace

Status RandomWords(const Context& ctx, StreamId id, uint64_t offset, int64_t n, uint32_t* out) {
  FRUGAL_RETURN_IF_ERROR(Check("random.words", offset, n, out));
  return Dispatch("random.words", ctx, Empty{n == 0}, [&] {
    const auto fn = RandomKernelsFor(ActiveIsa()).words;
    Chunked(offset, n, out, [&](uint64_t o, int64_t m, uint32_t* p) { fn(id, o, m, p); });
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(RandomCuda(RandomKind::kWords, id, offset, n, 1.0f, out, ctx.stream)));
}

Status RandomUniform(const Context& ctx, StreamId id, uint64_t offset, int64_t n, float* out) {
  FRUGAL_RETURN_IF_ERROR(Check("random.uniform", offset, n, out));
  return Dispatch("random.uniform", ctx, Empty{n == 0}, [&] {
    const auto fn = RandomKernelsFor(ActiveIsa()).uniform;
    Chunked(offset, n, out, [&](uint64_t o, int64_t m, float* p) { fn(id, o, m, p); });
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(RandomCuda(RandomKind::kUniform, id, offset, n, 1.0f, out, ctx.stream)));
}

namespace {

// Normals or Rademacher signs times `scale`: `kernel` picks the level's fill.
template <class CudaPath>
Status ScaledFill(const char* op, const Context& ctx, RandomScaledFn RandomKernels::*kernel, StreamId id,
                  uint64_t offset, int64_t n, float scale, float* out, CudaPath&& cuda) {
  FRUGAL_RETURN_IF_ERROR(Check(op, offset, n, out));
  FRUGAL_RETURN_IF_ERROR(CheckScale(op, scale));
  return Dispatch(op, ctx, Empty{n == 0}, [&] {
    const RandomScaledFn fn = RandomKernelsFor(ActiveIsa()).*kernel;
    Chunked(offset, n, out, [&](uint64_t o, int64_t m, float* p) { fn(id, o, m, scale, p); });
    return Status::Ok();
  }, std::forward<CudaPath>(cuda));
}

}  // namespace

Status RandomNormal(const Context& ctx, StreamId id, uint64_t offset, int64_t n, float scale, float* out) {
  return ScaledFill("random.normal", ctx, &RandomKernels::normal, id, offset, n, scale, out,
                    FRUGAL_CUDA_PATH(RandomCuda(RandomKind::kNormal, id, offset, n, scale, out, ctx.stream)));
}

Status RandomRademacher(const Context& ctx, StreamId id, uint64_t offset, int64_t n, float scale, float* out) {
  return ScaledFill("random.rademacher", ctx, &RandomKernels::rademacher, id, offset, n, scale, out,
                    FRUGAL_CUDA_PATH(RandomCuda(RandomKind::kRademacher, id, offset, n, scale, out, ctx.stream)));
}

}  // namespace frugal
