// Random streams front end: checks the arguments, then fills the output with
// the active ISA's kernels (over the pool for big calls) or the CUDA launcher.
//
// Determinism: every element is a function of its stream index alone, and
// every ISA level computes an element with the same code whatever the call's
// offset and length (native/src/cpu/random_kernels.h), so the chunking never
// shows in the result. Chunks still start at fixed stream indices (multiples of
// kChunk, a multiple of the 64-element vector group) so that no chunk splits a
// group and the task boundaries do not depend on the thread count.
#include <cmath>
#include <cstdint>
#include <string>

#include "core/front_end.h"
#include "cpu/kernel_table.h"
#include "cpu/random_kernels.h"
#include "frugal/isa.h"
#include "frugal/random.h"

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

// What to generate; the values match RandomKind, which exists only in CUDA builds.
enum Kind { kWords = 0, kUniform = 1, kNormal = 2, kRademacher = 3 };

Status OnDevice(const char* op, const Context& ctx, Kind kind, StreamId id, uint64_t offset, int64_t n, float scale, void* out) {
#ifdef FRUGAL_WITH_CUDA
  (void)op;
  return RandomCuda(static_cast<RandomKind>(kind), id, offset, n, scale, out, ctx.stream);
#else
  (void)ctx, (void)kind, (void)id, (void)offset, (void)n, (void)scale, (void)out;
  return NoCudaBackend(op);
#endif
}

}  // namespace

const RandomKernels& RandomKernelsFor(Isa isa) {
  static const RandomKernels kRef{RandomWordsReference, RandomUniformReference, RandomNormalReference,
                                  RandomRademacherReference};
  static const RandomKernels kAvx2{avx2::RandomWords, avx2::RandomUniform, avx2::RandomNormal,
                                   avx2::RandomRademacher};
  static const RandomKernels kAvx512{avx512::RandomWords, avx512::RandomUniform, avx512::RandomNormal,
                                     avx512::RandomRademacher};
  return KernelsOfLevel(isa, kRef, kAvx2, kAvx512);
}

Status RandomWords(const Context& ctx, StreamId id, uint64_t offset, int64_t n, uint32_t* out) {
  FRUGAL_RETURN_IF_ERROR(Check("random_words", offset, n, out));
  if (n == 0) return Status::Ok();
  if (ctx.device == Device::kCuda) return OnDevice("random_words", ctx, kWords, id, offset, n, 1.0f, out);
  const RandomWordsFn fn = RandomKernelsFor(ActiveIsa()).words;
  Chunked(offset, n, out, [&](uint64_t o, int64_t m, uint32_t* p) { fn(id, o, m, p); });
  return Status::Ok();
}

Status RandomUniform(const Context& ctx, StreamId id, uint64_t offset, int64_t n, float* out) {
  FRUGAL_RETURN_IF_ERROR(Check("random_uniform", offset, n, out));
  if (n == 0) return Status::Ok();
  if (ctx.device == Device::kCuda) return OnDevice("random_uniform", ctx, kUniform, id, offset, n, 1.0f, out);
  const RandomUniformFn fn = RandomKernelsFor(ActiveIsa()).uniform;
  Chunked(offset, n, out, [&](uint64_t o, int64_t m, float* p) { fn(id, o, m, p); });
  return Status::Ok();
}

Status RandomNormal(const Context& ctx, StreamId id, uint64_t offset, int64_t n, float scale, float* out) {
  FRUGAL_RETURN_IF_ERROR(Check("random_normal", offset, n, out));
  FRUGAL_RETURN_IF_ERROR(CheckScale("random_normal", scale));
  if (n == 0) return Status::Ok();
  if (ctx.device == Device::kCuda) return OnDevice("random_normal", ctx, kNormal, id, offset, n, scale, out);
  const RandomScaledFn fn = RandomKernelsFor(ActiveIsa()).normal;
  Chunked(offset, n, out, [&](uint64_t o, int64_t m, float* p) { fn(id, o, m, scale, p); });
  return Status::Ok();
}

Status RandomRademacher(const Context& ctx, StreamId id, uint64_t offset, int64_t n, float scale, float* out) {
  FRUGAL_RETURN_IF_ERROR(Check("random_rademacher", offset, n, out));
  FRUGAL_RETURN_IF_ERROR(CheckScale("random_rademacher", scale));
  if (n == 0) return Status::Ok();
  if (ctx.device == Device::kCuda) return OnDevice("random_rademacher", ctx, kRademacher, id, offset, n, scale, out);
  const RandomScaledFn fn = RandomKernelsFor(ActiveIsa()).rademacher;
  Chunked(offset, n, out, [&](uint64_t o, int64_t m, float* p) { fn(id, o, m, scale, p); });
  return Status::Ok();
}

}  // namespace frugal
