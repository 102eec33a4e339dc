// DeviceBuffer: device memory for the CUDA-vs-CPU tests (cuda_test_*.cc), filled
// from and read back into host vectors through frugal/cuda.h, freed at scope exit.
// Failures are recorded as test failures, never thrown.
#pragma once
#include <cstdio>
#include <vector>

#include "check.h"
#include "frugal/context.h"
#include "frugal/cuda.h"

namespace frugal {
namespace test {

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n) : n_(n) {
    const Status s = CudaMalloc(reinterpret_cast<void**>(&ptr_), n_ * sizeof(T));
    FRUGAL_CHECK(s.ok()) << "CudaMalloc: " << s.message();
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { Upload(host); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { (void)CudaFree(ptr_); }

  void Upload(const std::vector<T>& host) {
    if (n_ == 0 || !ptr_) return;
    const Status s = CudaCopyToDevice(ptr_, host.data(), n_ * sizeof(T));
    FRUGAL_CHECK(s.ok()) << "CudaCopyToDevice: " << s.message();
  }
  // Waits for the default stream (the copy does), then returns the contents.
  std::vector<T> Download() const {
    std::vector<T> host(n_);
    if (n_ == 0 || !ptr_) return host;
    const Status s = CudaCopyToHost(host.data(), ptr_, n_ * sizeof(T));
    FRUGAL_CHECK(s.ok()) << "CudaCopyToHost: " << s.message();
    return host;
  }
  T* get() const { return ptr_; }

 private:
  T* ptr_ = nullptr;
  size_t n_;
};

inline Context CudaContext() {
  Context c;
  c.device = Device::kCuda;
  return c;
}

// main() of every CUDA test: exit 77 (ctest "skipped") without a device.
inline int RunAllOnCuda() {
  if (CudaDeviceCount() == 0) {
    std::printf("no CUDA device: skipped\n");
    return 77;
  }
  std::printf("device: %s\n", CudaDeviceName(0));
  return RunAll();
}

}  // namespace test
}  // namespace frugal
