// Small helpers shared by the op front ends in native/src/core (argument
// messages, task counts). Internal to the core.
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "common/ceil_div.h"
#include "frugal/context.h"
#include "frugal/status.h"
#ifdef FRUGAL_WITH_CUDA
#include "frugal/cuda.h"
#endif

namespace frugal {

// "<op>: <name> is null" (a programming error of the C++ caller).
inline Status NullArgument(const char* op, const char* name) {
  return Status::Native(std::string(op) + ": " + name + " is null");
}

// Refusal of device memory by a build without the CUDA backend: the one wording.
inline Status NoCudaBackend(const char* op) {
  return Status::Device(std::string(op) + ": this build of Frugal has no CUDA backend");
}

// ---- one dispatch -------------------------------------------------------------
// Every op entry point ends in
//   return Dispatch(op, ctx, Empty{is_empty, writer}, [&] { cpu path },
//                   FRUGAL_CUDA_PATH(Launcher(..., ctx.stream)));
// which (1) refuses device memory with E_DEVICE in a build without CUDA, (2)
// applies the empty-size rule, the same on every device: an empty problem is a
// valid call whose result is written by `writer` (dp's zeros; nothing for most
// ops), and (3) runs the CPU path or the CUDA launcher. The CPU path is a lambda,
// inlined: dispatch costs nothing on the hot path.

// The empty-size rule of one call: `is` when the problem is empty, and what the
// empty result is (nullptr: nothing to write).
struct Empty {
  bool is = false;
  std::function<Status()> result = nullptr;
};

// The CUDA path of an op, compiled only with the backend (launchers are declared
// in native/src/cuda/<family>.h, which only CUDA builds include).
struct NoCudaPath {};
#ifdef FRUGAL_WITH_CUDA
#define FRUGAL_CUDA_PATH(...) [&]() -> ::frugal::Status { return __VA_ARGS__; }
#else
#define FRUGAL_CUDA_PATH(...) ::frugal::NoCudaPath{}
#endif

// n zero floats at x in ctx's memory (nothing when n == 0 or x is null), done
// when it returns: what most empty results write. Called after Dispatch's
// device check, so device memory here means the backend is compiled.
inline Status ZeroFloats(const Context& ctx, float* x, int64_t n) {
  if (n == 0 || !x) return Status::Ok();
#ifdef FRUGAL_WITH_CUDA
  if (ctx.device == Device::kCuda) {
    FRUGAL_RETURN_IF_ERROR(CudaZero(x, static_cast<size_t>(n) * sizeof(float), ctx.stream));
    return CudaSynchronize(ctx.stream);
  }
#endif
  std::fill(x, x + n, 0.0f);
  return Status::Ok();
}

// n copies of `value` at x in ctx's memory, done when it returns (see ZeroFloats).
inline Status FillFloats(const Context& ctx, float* x, int64_t n, float value) {
  if (n == 0 || !x) return Status::Ok();
  if (value == 0.0f) return ZeroFloats(ctx, x, n);
#ifdef FRUGAL_WITH_CUDA
  if (ctx.device == Device::kCuda) {
    std::vector<float> host;
    try {
      host.assign(static_cast<size_t>(n), value);
    } catch (const std::bad_alloc&) {
      return Status::Native("out of host memory for " + std::to_string(n) + " floats to copy to the device");
    }
    return CudaCopyToDevice(x, host.data(), host.size() * sizeof(float));
  }
#endif
  std::fill(x, x + n, value);
  return Status::Ok();
}

template <class Cpu, class Cuda>
Status Dispatch(const char* op, const Context& ctx, const Empty& empty, Cpu&& cpu, Cuda&& cuda) {
  constexpr bool kHasCuda = !std::is_same<std::decay_t<Cuda>, NoCudaPath>::value;
  if (!kHasCuda && ctx.device == Device::kCuda) return NoCudaBackend(op);
  if (empty.is) return empty.result ? empty.result() : Status::Ok();
  if constexpr (kHasCuda) {
    if (ctx.device == Device::kCuda) return cuda();
  } else {
    (void)cuda;
  }
  return cpu();
}

// Per-thread, grow-only float workspace: *out points at >= n floats that stay
// valid until the next call with the same slot on this thread. Repeated calls of
// one shape neither allocate nor fault in fresh pages. A front end uses distinct
// slots for buffers alive at once, and slots its pool tasks do not use (the
// calling thread runs tasks too).
constexpr int kWorkspaceSlots = 4;
inline Status Workspace(const char* op, int slot, int64_t n, float** out) {
  thread_local std::vector<float> buffers[kWorkspaceSlots];
  std::vector<float>& buffer = buffers[slot];
  try {
    if (static_cast<int64_t>(buffer.size()) < n) buffer.resize(static_cast<size_t>(n));
  } catch (const std::bad_alloc&) {
    return Status::Native(std::string(op) + ": out of memory for a workspace of " + std::to_string(n) + " floats");
  }
  *out = buffer.data();
  return Status::Ok();
}

#ifdef FRUGAL_WITH_CUDA
// Device workspace, freed when it goes out of scope.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (ptr_) (void)CudaFree(ptr_);
  }
  Status Allocate(int64_t bytes) {
    return CudaMalloc(&ptr_, static_cast<size_t>(std::max<int64_t>(bytes, 4)));
  }
  Status AllocateFloats(int64_t n) { return Allocate(n * static_cast<int64_t>(sizeof(float))); }
  float* get() const { return static_cast<float*>(ptr_); }
  void* raw() const { return ptr_; }

 private:
  void* ptr_ = nullptr;
};
#endif

}  // namespace frugal
