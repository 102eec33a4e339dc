// CUDA launchers of the slash family: device pointers, `stream` is a
// cudaStream_t. Private to the core: the front end (native/src/core/slash.cc)
// reaches them through Dispatch, and only CUDA builds include this header.
#pragma once
#include <cstdint>

#include "frugal/slash.h"
#include "frugal/status.h"

namespace frugal {

Status SlashProjectCuda(const ProjectionParams& p, const float* z, float* shifts, void* stream);
Status SlashProjectBackwardCuda(const ProjectionParams& p, int64_t batch, const float* g, float* dz, void* stream);
// pre[r, j] = (y[r, j] − beta[j]) / gamma[j] / rstd[r] + mean[r] (every gamma nonzero).
Status SlashUnnormalizeCuda(int64_t rows, int64_t hidden, const float* y, const float* gamma, const float* beta,
                            const float* mean, const float* rstd, float* pre, void* stream);
// out[j] = x[j] + y[j] for j < n (out may alias x).
Status SlashAddCuda(int64_t n, const float* x, const float* y, float* out, void* stream);
// The prompt ops above with `offsets` in device memory.
Status SlashPromptInsertCuda(const int32_t* offsets, int64_t batch, int64_t hidden, const float* x,
                             const float* prompt, float* out, void* stream);
Status SlashPromptExtractCuda(const int32_t* offsets, int64_t batch, int64_t hidden, const float* dout, float* dx,
                              float* dprompt, void* stream);
Status SlashPromptAddCuda(const int32_t* offsets, int64_t batch, int64_t hidden, float* x, const float* prompt,
                          void* stream);
Status SlashPromptSumCuda(const int32_t* offsets, int64_t batch, int64_t hidden, const float* x, float* dprompt,
                          void* stream);

}  // namespace frugal
