// CUDA runtime services (frugal/cuda.h) for a build with the CUDA backend.
#include "check.cuh"
#include "frugal/cuda.h"

namespace frugal {

bool CudaCompiled() { return true; }

int CudaDeviceCount() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return n;
}

const char* CudaDeviceName(int device) {
  static thread_local cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) return "";
  return prop.name;
}

Status CudaMalloc(void** ptr, size_t bytes) {
  CUDA_CHECK(cudaMalloc(ptr, bytes == 0 ? 1 : bytes));
  return Status::Ok();
}
Status CudaFree(void* ptr) {
  CUDA_CHECK(cudaFree(ptr));
  return Status::Ok();
}
Status CudaCopyToDevice(void* dst, const void* src, size_t bytes) {
  CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
  return Status::Ok();
}
Status CudaCopyToHost(void* dst, const void* src, size_t bytes) {
  CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
  return Status::Ok();
}
Status CudaZero(void* dst, size_t bytes, void* stream) {
  CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, static_cast<cudaStream_t>(stream)));
  return Status::Ok();
}
Status CudaSynchronize(void* stream) {
  CUDA_CHECK(cudaStreamSynchronize(AsStream(stream)));
  return Status::Ok();
}

}  // namespace frugal
