// The CUDA services of frugal/cuda.h for a build without the CUDA backend:
// they report no device and refuse politely. native/src/cuda/runtime.cu
// defines them when CUDA is compiled.
#ifndef FRUGAL_WITH_CUDA
#include "frugal/cuda.h"

namespace frugal {
namespace {
Status NoCuda() {
  return Status::Device("this build of Frugal has no CUDA backend (rebuild with nvcc, FRUGAL_CUDA=1)");
}
}  // namespace

bool CudaCompiled() { return false; }
int CudaDeviceCount() { return 0; }
const char* CudaDeviceName(int) { return ""; }
Status CudaMalloc(void**, size_t) { return NoCuda(); }
Status CudaFree(void*) { return NoCuda(); }
Status CudaCopyToDevice(void*, const void*, size_t) { return NoCuda(); }
Status CudaCopyToHost(void*, const void*, size_t) { return NoCuda(); }
Status CudaZero(void*, size_t, void*) { return NoCuda(); }
Status CudaSynchronize(void*) { return NoCuda(); }

}  // namespace frugal
#endif
