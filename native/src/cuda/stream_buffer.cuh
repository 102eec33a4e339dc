// StreamBuffer: stream-ordered device workspace (pooled by the driver, no
// device-wide sync), freed in stream order when it goes out of scope. Shared by
// the CUDA files that need scratch inside one launch sequence.
#pragma once
#include <cuda_runtime.h>

#include "check.cuh"

namespace frugal {

class StreamBuffer {
 public:
  explicit StreamBuffer(cudaStream_t s) : stream_(s) {}
  StreamBuffer(const StreamBuffer&) = delete;
  StreamBuffer& operator=(const StreamBuffer&) = delete;
  ~StreamBuffer() {
    if (ptr_) (void)cudaFreeAsync(ptr_, stream_);
  }
  // At least 4 bytes, so an empty request still gives a valid pointer.
  Status Allocate(long long bytes) {
    CUDA_CHECK(cudaMallocAsync(&ptr_, static_cast<size_t>(bytes > 4 ? bytes : 4), stream_));
    return Status::Ok();
  }
  Status AllocateFloats(long long n) { return Allocate(n * static_cast<long long>(sizeof(float))); }
  float* get() const { return static_cast<float*>(ptr_); }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  cudaStream_t stream_;
  void* ptr_ = nullptr;
};

}  // namespace frugal
