// Context: where and with how many threads a kernel runs.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>

#include "frugal/status.h"

namespace frugal {

enum class Device { kCpu = 0, kCuda = 1 };

struct Context {
  Device device = Device::kCpu;
  void* stream = nullptr;  // cudaStream_t when device == kCuda; nullptr = default stream
};

// The persistent CPU thread pool. Results never depend on the thread count:
// work is split into tasks whose boundaries do not depend on it, and every
// reduction runs in a fixed order.
Status SetNumThreads(int n);
int NumThreads();

// Runs fn(task) for task in [0, tasks) on the pool (the caller takes part).
// Calls made from inside a pool task run inline, so kernels may nest. Under a
// CancelScope whose flag is set, the tasks not yet started are skipped.
void ParallelFor(int64_t tasks, const std::function<void(int64_t task)>& fn);

// Cancellation of a long CPU call (an async call given an AbortSignal): while a
// scope lives on a thread, the ParallelFor calls made from it stop handing out
// tasks once *flag is set. The call then returns early with its outputs partly
// written; its caller, which owns the flag, reports it as aborted. A CUDA kernel
// already launched runs to its end.
class CancelScope {
 public:
  explicit CancelScope(const std::atomic<bool>* flag);
  ~CancelScope();
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;

 private:
  const std::atomic<bool>* previous_;
};

}  // namespace frugal
