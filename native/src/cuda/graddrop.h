// CUDA launchers of the GradDrop family (frugal/graddrop.h): device pointers,
// `stream` is a cudaStream_t. Private to the core: the front end
// (native/src/core/graddrop.cc) reaches them through Dispatch after
// ValidateGradMask and its size checks, with empty problems already handled;
// only CUDA builds include this header.
#pragma once

#include "frugal/graddrop.h"
#include "frugal/status.h"

namespace frugal {

// out[i·cols + j] = the multiplier of element (i, j) of mask m.
Status GradDropMaskCuda(const GradMask& m, float* out, void* stream);
// grad = multiplier·grad where kept, exactly 0 where dropped, in place.
Status GradDropApplyCuda(const GradMask& m, float* grad, void* stream);
// The masked weight (and bias) gradient of a linear layer; dropped work is skipped.
Status GradDropLinearGradCuda(const MaskedLinearGradParams& p, void* stream);

}  // namespace frugal
