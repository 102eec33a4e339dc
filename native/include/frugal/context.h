// Context: where and with how many threads a kernel runs.
#pragma once
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
// Calls made from inside a pool task run inline, so kernels may nest.
void ParallelFor(int64_t tasks, const std::function<void(int64_t task)>& fn);

}  // namespace frugal
