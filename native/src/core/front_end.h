// Small helpers shared by the op front ends in native/src/core (argument
// messages, task counts). Internal to the core.
#pragma once
#include <algorithm>
#include <cstdint>
#include <new>
#include <string>
#include <vector>

#include "frugal/status.h"
#ifdef FRUGAL_WITH_CUDA
#include "frugal/cuda.h"
#endif

namespace frugal {

// ⌈a / b⌉ for a >= 0, b > 0: the number of fixed-size tasks covering a items.
inline int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// "<op>: <name> is null" (a programming error of the C++ caller).
inline Status NullArgument(const char* op, const char* name) {
  return Status::Native(std::string(op) + ": " + name + " is null");
}

// Refusal of device memory by a build without the CUDA backend.
inline Status NoCudaBackend(const char* op) {
  return Status::Device(std::string(op) + ": this build of Frugal has no CUDA backend");
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
