// Path attention inner loops, one set per ISA level (internal to the core): one
// (path, head) pair at a time. The front end (native/src/core/path_attention.cc)
// hands the pairs to the pool; each pair owns its rows of every output, so no
// sum crosses a task and the result does not depend on the thread count.
#pragma once
#include <cstdint>

#include "frugal/isa.h"

namespace frugal {

// One head of one path: `tokens` rows starting at the path's first row, already
// offset to the head (q + first·qkv_stride + head·head_dim, and so on).
struct PathHeadForward {
  int64_t tokens, head_dim;
  int64_t qkv_stride;  // between rows of q, k, v
  int64_t out_stride;  // between rows of out (heads·head_dim)
  int64_t lse_stride;  // between rows of lse (heads)
  float scale;
  const float *q, *k, *v;
  float *out, *lse;
};

struct PathHeadBackward {
  int64_t tokens, head_dim, qkv_stride, out_stride, lse_stride;  // strides of dq/dk/dv = qkv_stride
  float scale;
  const float *q, *k, *v, *out, *lse, *dout;  // out and dout rows out_stride apart
  float *dq, *dk, *dv;
};

struct PathAttentionKernels {
  void (*forward)(const PathHeadForward& h, float* scratch);
  void (*backward)(const PathHeadBackward& h, float* scratch);
  // Floats of scratch each needs for a pair of this size.
  int64_t (*forward_scratch)(int64_t tokens, int64_t head_dim);
  int64_t (*backward_scratch)(int64_t tokens, int64_t head_dim);
};

// The kernels of an ISA level (the caller makes sure the CPU has it). The scalar
// level computes in double: it is also the reference (PathAttentionReference).
const PathAttentionKernels& PathAttentionKernelsFor(Isa isa);

// Each level's namespace declares the same kernels.
#define FRUGAL_PATH_ATTENTION_KERNELS                                        \
  void PathHeadForwardPass(const PathHeadForward& h, float* scratch);        \
  void PathHeadBackwardPass(const PathHeadBackward& h, float* scratch);      \
  int64_t PathHeadForwardScratch(int64_t tokens, int64_t head_dim);          \
  int64_t PathHeadBackwardScratch(int64_t tokens, int64_t head_dim);

namespace ref {
FRUGAL_PATH_ATTENTION_KERNELS
}  // namespace ref
namespace avx2 {
FRUGAL_PATH_ATTENTION_KERNELS
}  // namespace avx2
namespace avx512 {
FRUGAL_PATH_ATTENTION_KERNELS
}  // namespace avx512
#undef FRUGAL_PATH_ATTENTION_KERNELS

}  // namespace frugal
