// Sparse path attention (LightPath): random edge removal over packed paths, the
// gather / restore between all tokens and the kept ones, and multi-head attention
// per path over its kept tokens only.
//
// Layout. B paths are packed one after another: path b owns rows
// [offsets[b], offsets[b+1]) of a [total, ...] tensor. Two packings meet here:
// `lengths_offsets` packs every token of every path (prefix sums of the lengths),
// `offsets` packs the kept ones; `keep[offsets[b] + j]` is the position, within
// path b, of its j-th kept token. All int32 arrays are host memory; the float
// tensors live on ctx's device.
//
// Keep (DESIGN.md): path b of length L keeps k = max(1, ⌊L·(1 − ratio)⌋) positions
// (0 when L = 0), ⌊·⌋ of the product in double: the k smallest of elements 0…L−1
// of the uniform stream (seed, sub = b, tag 4), in ascending order of that value
// (ties: the lower position first).
//
// Attention: per path and head, out_i = Σ_j p_ij v_j with p_ij = softmax_j(q_i·k_j·scale)
// over the path's tokens, and lse_i = log Σ_j exp(q_i·k_j·scale). Online softmax over
// blocks of keys: no T×T matrix. The backward recomputes p from lse (FlashAttention's):
//   D_i = dout_i·out_i,  ds_ij = p_ij (dout_i·v_j − D_i),
//   dq_i = scale Σ_j ds_ij k_j,  dk_j = scale Σ_i ds_ij q_i,  dv_j = Σ_i p_ij dout_i.
// Every (path, head) is one task that owns its rows of every output, so the result
// is the same at any thread count. NaN and Inf propagate; nothing traps.
#pragma once
#include <cstdint>

#include "frugal/context.h"
#include "frugal/status.h"

namespace frugal {

// How many positions a path of `length` keeps at `ratio` (the rule above).
int64_t PathKeptCount(int64_t length, double ratio);

struct PathKeepParams {
  int64_t paths = 0;
  const int32_t* lengths = nullptr;  // [paths], each >= 0
  double ratio = 0;                  // in [0, 1)
  uint64_t seed = 0;
  int32_t* offsets = nullptr;  // [paths + 1] out: prefix sums of the kept counts
  int32_t* keep = nullptr;     // [offsets[paths]] out; nullptr: only the offsets
};

// x [lengths_offsets[B], dim] → kept [offsets[B], dim]: kept row offsets[b] + j is
// x row lengths_offsets[b] + keep[offsets[b] + j]. Also the backward of restore for
// the kept rows.
struct PathGatherParams {
  int64_t paths = 0, dim = 0;
  const int32_t* lengths_offsets = nullptr;  // [paths + 1]
  const int32_t* offsets = nullptr;          // [paths + 1]
  const int32_t* keep = nullptr;             // [offsets[paths]], keep positions < the path's length
  const float* x = nullptr;                  // [lengths_offsets[paths], dim]
  float* kept = nullptr;                     // [offsets[paths], dim]; must not overlap x
};

// The inverse placement: full [lengths_offsets[B], dim] gets each kept row back at
// its position and `fill` [dim] everywhere else (nullptr fill: zeros, which makes it
// the backward of gather). Restore's backward is a gather (∂kept) and a
// PathRemovedSum (∂fill).
struct PathRestoreParams {
  int64_t paths = 0, dim = 0;
  const int32_t* lengths_offsets = nullptr;  // [paths + 1]
  const int32_t* offsets = nullptr;          // [paths + 1]
  const int32_t* keep = nullptr;             // [offsets[paths]]
  const float* kept = nullptr;               // [offsets[paths], dim]
  const float* fill = nullptr;               // [dim] or nullptr (zeros)
  float* full = nullptr;                     // [lengths_offsets[paths], dim]; must not overlap the inputs
};

// ∂fill = Σ over removed positions of ∂full (rows of ∂full in ascending order).
struct PathRemovedSumParams {
  int64_t paths = 0, dim = 0;
  const int32_t* lengths_offsets = nullptr;  // [paths + 1]
  const int32_t* offsets = nullptr;          // [paths + 1]
  const int32_t* keep = nullptr;             // [offsets[paths]]
  const float* dfull = nullptr;              // [lengths_offsets[paths], dim]
  float* dfill = nullptr;                    // [dim] out
};

struct PathAttentionParams {
  int64_t paths = 0, heads = 0, head_dim = 0;
  const int32_t* offsets = nullptr;  // [paths + 1]: 0, non-decreasing; total = offsets[paths]
  float scale = 0;                   // finite
  // Elements between consecutive rows of q, k and v (0: heads·head_dim). 3·heads·head_dim
  // reads them straight out of a fused qkv projection [total, 3, heads, head_dim].
  int64_t qkv_stride = 0;
  const float* q = nullptr;          // [total, heads, head_dim] rows qkv_stride apart
  const float* k = nullptr;
  const float* v = nullptr;
  float* out = nullptr;  // [total, heads, head_dim]; must not overlap the inputs
  float* lse = nullptr;  // [total, heads]
};

struct PathAttentionBackwardParams {
  int64_t paths = 0, heads = 0, head_dim = 0;
  const int32_t* offsets = nullptr;
  float scale = 0;
  int64_t qkv_stride = 0;       // rows of q, k, v and of dq, dk, dv (0: heads·head_dim)
  const float* q = nullptr;     // [total, heads, head_dim]
  const float* k = nullptr;
  const float* v = nullptr;
  const float* out = nullptr;   // the forward's
  const float* lse = nullptr;   // [total, heads], the forward's
  const float* dout = nullptr;  // [total, heads, head_dim]
  float* dq = nullptr;          // [total, heads, head_dim] each, rows qkv_stride apart; apart from the inputs
  float* dk = nullptr;
  float* dv = nullptr;
};

// Largest head_dim the kernels take.
constexpr int64_t kPathAttentionMaxHeadDim = 256;

Status PathKeep(const PathKeepParams& p);  // host only
Status PathGather(const Context& ctx, const PathGatherParams& p);
Status PathRestore(const Context& ctx, const PathRestoreParams& p);
Status PathRemovedSum(const Context& ctx, const PathRemovedSumParams& p);
Status PathAttention(const Context& ctx, const PathAttentionParams& p);
Status PathAttentionBackward(const Context& ctx, const PathAttentionBackwardParams& p);

// Scalar references in double (rounded once), for the tests.
Status PathAttentionReference(const PathAttentionParams& p);
Status PathAttentionBackwardReference(const PathAttentionBackwardParams& p);

}  // namespace frugal
