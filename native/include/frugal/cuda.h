// CUDA runtime services used by the addon and the tests: device discovery and
// device memory. Built without CUDA, every call returns a Device status and
// CudaDeviceCount reports 0, so nothing ever fails to load.
#pragma once
#include <cstddef>

#include "frugal/status.h"

namespace frugal {

// True when this build contains the CUDA backend.
bool CudaCompiled();
// Number of usable devices (0 when none or when built without CUDA).
int CudaDeviceCount();
// Name of a device, or "" when unavailable.
const char* CudaDeviceName(int device);

Status CudaMalloc(void** ptr, size_t bytes);
Status CudaFree(void* ptr);
Status CudaCopyToDevice(void* dst, const void* src, size_t bytes);
Status CudaCopyToHost(void* dst, const void* src, size_t bytes);
// Sets `bytes` of device memory to zero on the stream (nullptr = default stream).
Status CudaZero(void* dst, size_t bytes, void* stream);
// Waits for all work on the stream (nullptr = default stream).
Status CudaSynchronize(void* stream);

}  // namespace frugal
