// Exact (erf) GELU and its derivative on the device, shared by the activation
// kernels and the GEMM epilogue. Full-precision erff/expf, never the fast
// intrinsics, so CUDA stays within a few ulp of the CPU reference.
#pragma once

namespace frugal {

__device__ __forceinline__ float GeluExact(float x) {
  return 0.5f * x * (1.0f + erff(x * 0.70710678118654752440f));
}

// d/dx gelu(x) = Φ(x) + x·φ(x)
__device__ __forceinline__ float GeluExactGrad(float x) {
  const float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752440f));
  const float pdf = 0.39894228040143267794f * expf(-0.5f * x * x);
  return fmaf(x, pdf, cdf);
}

}  // namespace frugal
