// CUDA launchers of the dp family: device pointers, `stream` is a
// cudaStream_t. Private to the core: the front end (native/src/core/dp.cc)
// reaches them through Dispatch, and only CUDA builds include this header.
#pragma once
#include <cstdint>

#include "frugal/dp.h"
#include "frugal/status.h"

namespace frugal {

// out[i] = Σ_j x[i·n + j]·y[i·n + j] for i < rows.
Status DpRowDotsCuda(const float* x, const float* y, int64_t rows, int64_t n, float* out, void* stream);
// dst[(i·T + t)·d + j] = factors[i]·src[(i·T + t)·d + j].
Status DpScaleSamplesCuda(const float* src, const float* factors, int64_t B, int64_t T, int64_t d, float* dst,
                          void* stream);
Status DpClipFactorsCuda(const float* norms, int64_t B, float C, ClipRule rule, float* factors, void* stream);
// factors[i] = rule(√sq[i]) (squared norms in, factors out; may alias).
Status DpClipFactorsFromSquaresCuda(const float* sq, int64_t B, float C, ClipRule rule, float* factors,
                                    void* stream);
// t[e] += std·noise[e] (secure: std·(noise[4e] + … + noise[4e+3])/2).
Status DpAddScaledCuda(float* t, const float* noise, int64_t n, float std, bool secure, void* stream);

}  // namespace frugal
