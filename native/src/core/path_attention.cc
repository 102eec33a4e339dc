// Path attention front end: checks the packed layout (offsets, keep), then runs
// the kernels of the active ISA over the pool or the CUDA launchers, with the
// int32 arrays copied to the device once per call.
//
// Determinism: keep, gather and restore write each output row from one source;
// the removed-row sum adds rows in ascending order per column; attention runs one
// task per (path, head) that owns its rows of every output. Nothing depends on
// the thread count.
#include "frugal/path_attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/front_end.h"
#include "core/packed.h"
#include "cpu/kernel_table.h"
#include "cpu/path_attention_kernels.h"
#include "cpu/primitives/streams.h"
#include "frugal/isa.h"
#include "frugal/random.h"
#ifdef FRUGAL_WITH_CUDA
#include "cuda/path_attention.h"
#endif

namespace frugal {

const PathAttentionKernels& PathAttentionKernelsFor(Isa isa) {
  static const PathAttentionKernels kRef{ref::PathHeadForwardPass, ref::PathHeadBackwardPass,
                                         ref::PathHeadForwardScratch, ref::PathHeadBackwardScratch};
  static const PathAttentionKernels kAvx2{avx2::PathHeadForwardPass, avx2::PathHeadBackwardPass,
                                          avx2::PathHeadForwardScratch, avx2::PathHeadBackwardScratch};
  static const PathAttentionKernels kAvx512{avx512::PathHeadForwardPass, avx512::PathHeadBackwardPass,
                                            avx512::PathHeadForwardScratch, avx512::PathHeadBackwardScratch};
  return KernelsOfLevel(isa, kRef, kAvx2, kAvx512);
}

int64_t PathKeptCount(int64_t length, double ratio) {
  if (length <= 0) return 0;
  // ⌊L·(1 − r)⌋ in double, as LightPath's int(L * (1 - r)): 50 at 0.8 keeps 9.
  const double k = std::floor(static_cast<double>(length) * (1.0 - ratio));
  return std::max<int64_t>(1, static_cast<int64_t>(k));
}

namespace {

std::string Str(int64_t v) { return std::to_string(v); }

// Paths per pool task of the row copies (gather, restore, keep).
constexpr int64_t kPathsPerTask = 16;

// Runs fn(b) for every path over the pool, kPathsPerTask at a time.
template <class Fn>
void ForPaths(int64_t paths, const Fn& fn) {
  ParallelFor(CeilDiv(paths, kPathsPerTask), [&](int64_t t) {
    for (int64_t b = t * kPathsPerTask; b < std::min(paths, (t + 1) * kPathsPerTask); ++b) fn(b);
  });
}

// The packed layout shared by gather, restore and the removed sum: both offset
// arrays well formed, each path keeping at most its length, every keep position
// inside its path and no position twice.
Status CheckKeepLayout(const char* op, int64_t paths, int64_t dim, PackedOffsets& all, PackedOffsets& kept,
                       const int32_t* keep) {
  if (dim < 0) return Status::Shape(std::string(op) + ": expected dim >= 0, got " + Str(dim));
  FRUGAL_RETURN_IF_ERROR(all.Check(op, false));
  FRUGAL_RETURN_IF_ERROR(kept.Check(op, false));
  if (kept.total() > 0 && !keep) return NullArgument(op, "keep");
  std::vector<uint8_t> seen;
  for (int64_t b = 0; b < paths; ++b) {
    const int64_t length = all.host()[b + 1] - all.host()[b];
    const int32_t* k = keep + kept.host()[b];
    const int64_t n = kept.host()[b + 1] - kept.host()[b];
    if (n > length) {
      return Status::Shape(std::string(op) + ": path " + Str(b) + " keeps " + Str(n) + " tokens of " + Str(length));
    }
    seen.assign(static_cast<size_t>(length), 0);
    for (int64_t j = 0; j < n; ++j) {
      if (k[j] < 0 || k[j] >= length || seen[k[j]]) {
        return Status::Range(std::string(op) + ": keep[" + Str(kept.host()[b] + j) + "] = " + Str(k[j]) +
                             (k[j] >= 0 && k[j] < length ? " appears twice in path " : " is outside path ") + Str(b) +
                             " of length " + Str(length));
      }
      seen[k[j]] = 1;
    }
  }
  return Status::Ok();
}

#ifdef FRUGAL_WITH_CUDA
// The device copies of the layout arrays, then `launch(indices)`, then a wait.
template <class Launch>
Status WithDeviceLayout(const Context& ctx, PackedOffsets& kept, PackedOffsets* all, const int32_t* keep, Launch&& launch) {
  PathIndexDevice d;
  d.total_kept = kept.total();
  FRUGAL_RETURN_IF_ERROR(kept.OnDevice(&d.offsets));
  DeviceInts keep_device(keep, d.total_kept);
  if (all) {
    d.total_tokens = all->total();
    FRUGAL_RETURN_IF_ERROR(all->OnDevice(&d.lengths_offsets));
    FRUGAL_RETURN_IF_ERROR(keep_device.Get(&d.keep));
  }
  FRUGAL_RETURN_IF_ERROR(launch(d));
  return CudaSynchronize(ctx.stream);
}
#endif

}  // namespace

Status PathKeep(const PathKeepParams& p) {
  const char* op = "pathAttention.keep";
  if (p.paths < 0) return Status::Shape(std::string(op) + ": expected paths >= 0, got " + Str(p.paths));
  if (!(p.ratio >= 0 && p.ratio < 1)) {
    return Status::Range(std::string(op) + ": expected ratio in [0, 1), got " + std::to_string(p.ratio));
  }
  if (!p.offsets) return NullArgument(op, "offsets");
  if (p.paths > 0 && !p.lengths) return NullArgument(op, "lengths");
  int64_t total = 0;
  p.offsets[0] = 0;
  for (int64_t b = 0; b < p.paths; ++b) {
    if (p.lengths[b] < 0) return Status::Shape(std::string(op) + ": lengths[" + Str(b) + "] = " + Str(p.lengths[b]) + " < 0");
    total += PathKeptCount(p.lengths[b], p.ratio);
    if (total > INT32_MAX) return Status::Shape(std::string(op) + ": more than 2^31 - 1 kept tokens");
    p.offsets[b + 1] = static_cast<int32_t>(total);
  }
  if (!p.keep || total == 0) return Status::Ok();
  const RandomUniformFn uniform = RandomKernelsFor(ActiveIsa()).uniform;
  std::atomic<bool> out_of_memory{false};
  ForPaths(p.paths, [&](int64_t b) {
    const int64_t length = p.lengths[b];
    if (length == 0) return;
    float* u;
    std::vector<int32_t> order;
    if (!Workspace(op, 0, length, &u).ok()) return out_of_memory.store(true);
    try {
      order.resize(static_cast<size_t>(length));
    } catch (const std::bad_alloc&) {
      return out_of_memory.store(true);
    }
    uniform(StreamId{p.seed, static_cast<uint32_t>(b), kTagPathKeep}, 0, length, u);
    for (int64_t i = 0; i < length; ++i) order[i] = static_cast<int32_t>(i);
    // The k smallest values, ties to the lower position: a total order, so the
    // partial sort gives the same positions in the same order as a stable argsort.
    const int64_t k = p.offsets[b + 1] - p.offsets[b];
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [u](int32_t a, int32_t c) { return u[a] < u[c] || (u[a] == u[c] && a < c); });
    std::copy(order.begin(), order.begin() + k, p.keep + p.offsets[b]);
  });
  return out_of_memory ? Status::Native(std::string(op) + ": out of memory") : Status::Ok();
}

Status PathGather(const Context& ctx, const PathGatherParams& p) {
  const char* op = "pathAttention.gather";
  PackedOffsets all(p.lengths_offsets, p.paths), kept(p.offsets, p.paths);
  FRUGAL_RETURN_IF_ERROR(CheckKeepLayout(op, p.paths, p.dim, all, kept, p.keep));
  const bool empty = kept.total() == 0 || p.dim == 0;
  if (!empty && (!p.x || !p.kept)) return NullArgument(op, !p.x ? "x" : "kept");
  return Dispatch(op, ctx, Empty{empty}, [&] {
    const size_t row = static_cast<size_t>(p.dim) * sizeof(float);
    ForPaths(p.paths, [&](int64_t b) {
      const float* x = p.x + static_cast<int64_t>(p.lengths_offsets[b]) * p.dim;
      for (int32_t j = p.offsets[b]; j < p.offsets[b + 1]; ++j) std::memcpy(p.kept + j * p.dim, x + p.keep[j] * p.dim, row);
    });
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(WithDeviceLayout(ctx, kept, &all, p.keep, [&](const PathIndexDevice& d) {
    return PathGatherCuda(p, d, ctx.stream);
  })));
}

Status PathRestore(const Context& ctx, const PathRestoreParams& p) {
  const char* op = "pathAttention.restore";
  PackedOffsets all(p.lengths_offsets, p.paths), kept(p.offsets, p.paths);
  FRUGAL_RETURN_IF_ERROR(CheckKeepLayout(op, p.paths, p.dim, all, kept, p.keep));
  const bool empty = all.total() == 0 || p.dim == 0;
  if (!empty && (!p.full || (kept.total() > 0 && !p.kept))) return NullArgument(op, !p.full ? "full" : "kept");
  return Dispatch(op, ctx, Empty{empty}, [&] {
    const size_t row = static_cast<size_t>(p.dim) * sizeof(float);
    ForPaths(p.paths, [&](int64_t b) {
      float* full = p.full + static_cast<int64_t>(p.lengths_offsets[b]) * p.dim;
      const int64_t length = p.lengths_offsets[b + 1] - p.lengths_offsets[b];
      for (int64_t t = 0; t < length; ++t) {
        if (p.fill) {
          std::memcpy(full + t * p.dim, p.fill, row);
        } else {
          std::fill(full + t * p.dim, full + (t + 1) * p.dim, 0.0f);
        }
      }
      for (int32_t j = p.offsets[b]; j < p.offsets[b + 1]; ++j) std::memcpy(full + p.keep[j] * p.dim, p.kept + j * p.dim, row);
    });
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(WithDeviceLayout(ctx, kept, &all, p.keep, [&](const PathIndexDevice& d) {
    return PathRestoreCuda(p, d, ctx.stream);
  })));
}

Status PathRemovedSum(const Context& ctx, const PathRemovedSumParams& p) {
  const char* op = "pathAttention.restoreBackward";
  PackedOffsets all(p.lengths_offsets, p.paths), kept(p.offsets, p.paths);
  FRUGAL_RETURN_IF_ERROR(CheckKeepLayout(op, p.paths, p.dim, all, kept, p.keep));
  if (p.dim > 0 && !p.dfill) return NullArgument(op, "dfill");
  if (p.dim > 0 && all.total() > 0 && !p.dfull) return NullArgument(op, "dfull");
  // No removed rows at all still zeroes dfill.
  const Empty empty{all.total() == 0 || p.dim == 0, [&] { return ZeroFloats(ctx, p.dfill, p.dim); }};
  return Dispatch(op, ctx, empty, [&] {
    std::vector<uint8_t> is_kept;
    try {
      is_kept.assign(static_cast<size_t>(all.total()), 0);
    } catch (const std::bad_alloc&) {
      return Status::Native(std::string(op) + ": out of memory");
    }
    for (int64_t b = 0; b < p.paths; ++b) {
      for (int32_t j = p.offsets[b]; j < p.offsets[b + 1]; ++j) is_kept[p.lengths_offsets[b] + p.keep[j]] = 1;
    }
    std::fill(p.dfill, p.dfill + p.dim, 0.0f);
    // Rows in ascending order for every column (the CUDA launcher sums the same way).
    for (int64_t r = 0; r < all.total(); ++r) {
      if (is_kept[r]) continue;
      const float* row = p.dfull + r * p.dim;
      for (int64_t c = 0; c < p.dim; ++c) p.dfill[c] += row[c];
    }
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(WithDeviceLayout(ctx, kept, &all, p.keep, [&](const PathIndexDevice& d) {
    return PathRemovedSumCuda(p, d, ctx.stream);
  })));
}

namespace {

// Shapes, scale and pointers of both attention directions.
Status CheckAttention(const char* op, int64_t heads, int64_t head_dim, int64_t qkv_stride, float scale,
                      PackedOffsets& packed) {
  if (heads < 1 || head_dim < 1 || head_dim > kPathAttentionMaxHeadDim) {
    return Status::Shape(std::string(op) + ": expected heads >= 1 and head_dim in [1, " + Str(kPathAttentionMaxHeadDim) +
                         "], got heads " + Str(heads) + ", head_dim " + Str(head_dim));
  }
  if (qkv_stride != 0 && qkv_stride < heads * head_dim) {
    return Status::Shape(std::string(op) + ": expected qkv_stride 0 or >= heads·head_dim = " + Str(heads * head_dim) +
                         ", got " + Str(qkv_stride));
  }
  if (!std::isfinite(scale)) return Status::Range(std::string(op) + ": expected a finite scale, got " + std::to_string(scale));
  return packed.Check(op, false);
}

// Runs pair(b, h, scratch) for every (path, head) over the pool, with a
// per-thread workspace of scratch_floats(tokens) floats.
template <class Scratch, class Pair>
Status ForPathHeads(const char* op, const int32_t* offsets, int64_t paths, int64_t heads, const Scratch& scratch_floats,
                    const Pair& pair) {
  std::atomic<bool> out_of_memory{false};
  ParallelFor(paths * heads, [&](int64_t task) {
    const int64_t b = task / heads, h = task % heads;
    const int64_t tokens = offsets[b + 1] - offsets[b];
    if (tokens == 0) return;
    float* scratch;
    if (!Workspace(op, 0, scratch_floats(tokens), &scratch).ok()) return out_of_memory.store(true);
    pair(b, h, tokens, scratch);
  });
  return out_of_memory ? Status::Native(std::string(op) + ": out of memory for the attention workspace") : Status::Ok();
}

Status AttentionCpu(const PathAttentionKernels& k, const PathAttentionParams& p) {
  const int64_t width = p.heads * p.head_dim, stride = p.qkv_stride ? p.qkv_stride : width;
  return ForPathHeads("pathAttention.attention", p.offsets, p.paths, p.heads,
                      [&](int64_t tokens) { return k.forward_scratch(tokens, p.head_dim); },
                      [&](int64_t b, int64_t h, int64_t tokens, float* scratch) {
    const int64_t first = p.offsets[b], in = first * stride + h * p.head_dim, o = first * width + h * p.head_dim;
    const PathHeadForward f{tokens, p.head_dim, stride, width, p.heads, p.scale,
                            p.q + in, p.k + in, p.v + in, p.out + o, p.lse + first * p.heads + h};
    k.forward(f, scratch);
  });
}

Status AttentionBackwardCpu(const PathAttentionKernels& k, const PathAttentionBackwardParams& p) {
  const int64_t width = p.heads * p.head_dim, stride = p.qkv_stride ? p.qkv_stride : width;
  return ForPathHeads("pathAttention.attentionBackward", p.offsets, p.paths, p.heads,
                      [&](int64_t tokens) { return k.backward_scratch(tokens, p.head_dim); },
                      [&](int64_t b, int64_t h, int64_t tokens, float* scratch) {
    const int64_t first = p.offsets[b], in = first * stride + h * p.head_dim, o = first * width + h * p.head_dim;
    const PathHeadBackward g{tokens, p.head_dim, stride, width, p.heads, p.scale,
                             p.q + in, p.k + in, p.v + in, p.out + o, p.lse + first * p.heads + h, p.dout + o,
                             p.dq + in, p.dk + in, p.dv + in};
    k.backward(g, scratch);
  });
}

Status CheckForward(const PathAttentionParams& p, PackedOffsets& packed, bool* empty) {
  const char* op = "pathAttention.attention";
  FRUGAL_RETURN_IF_ERROR(CheckAttention(op, p.heads, p.head_dim, p.qkv_stride, p.scale, packed));
  *empty = packed.total() == 0;
  if (*empty) return Status::Ok();
  if (!p.q || !p.k || !p.v) return NullArgument(op, !p.q ? "q" : !p.k ? "k" : "v");
  if (!p.out || !p.lse) return NullArgument(op, !p.out ? "out" : "lse");
  return Status::Ok();
}

Status CheckBackward(const PathAttentionBackwardParams& p, PackedOffsets& packed, bool* empty) {
  const char* op = "pathAttention.attentionBackward";
  FRUGAL_RETURN_IF_ERROR(CheckAttention(op, p.heads, p.head_dim, p.qkv_stride, p.scale, packed));
  *empty = packed.total() == 0;
  if (*empty) return Status::Ok();
  if (!p.q || !p.k || !p.v) return NullArgument(op, !p.q ? "q" : !p.k ? "k" : "v");
  if (!p.out || !p.lse || !p.dout) return NullArgument(op, !p.out ? "out" : !p.lse ? "lse" : "dout");
  if (!p.dq || !p.dk || !p.dv) return NullArgument(op, !p.dq ? "dq" : !p.dk ? "dk" : "dv");
  return Status::Ok();
}

}  // namespace

Status PathAttention(const Context& ctx, const PathAttentionParams& p) {
  PackedOffsets packed(p.offsets, p.paths);
  bool empty = false;
  FRUGAL_RETURN_IF_ERROR(CheckForward(p, packed, &empty));
  return Dispatch("pathAttention.attention", ctx, Empty{empty},
                  [&] { return AttentionCpu(PathAttentionKernelsFor(ActiveIsa()), p); },
                  FRUGAL_CUDA_PATH(WithDeviceLayout(ctx, packed, nullptr, nullptr, [&](const PathIndexDevice& d) {
                    return PathAttentionCuda(p, d, ctx.stream);
                  })));
}

Status PathAttentionBackward(const Context& ctx, const PathAttentionBackwardParams& p) {
  PackedOffsets packed(p.offsets, p.paths);
  bool empty = false;
  FRUGAL_RETURN_IF_ERROR(CheckBackward(p, packed, &empty));
  return Dispatch("pathAttention.attentionBackward", ctx, Empty{empty},
                  [&] { return AttentionBackwardCpu(PathAttentionKernelsFor(ActiveIsa()), p); },
                  FRUGAL_CUDA_PATH(WithDeviceLayout(ctx, packed, nullptr, nullptr, [&](const PathIndexDevice& d) {
                    return PathAttentionBackwardCuda(p, d, ctx.stream);
                  })));
}

Status PathAttentionReference(const PathAttentionParams& p) {
  PackedOffsets packed(p.offsets, p.paths);
  bool empty = false;
  FRUGAL_RETURN_IF_ERROR(CheckForward(p, packed, &empty));
  return empty ? Status::Ok() : AttentionCpu(PathAttentionKernelsFor(Isa::kRef), p);
}

Status PathAttentionBackwardReference(const PathAttentionBackwardParams& p) {
  PackedOffsets packed(p.offsets, p.paths);
  bool empty = false;
  FRUGAL_RETURN_IF_ERROR(CheckBackward(p, packed, &empty));
  return empty ? Status::Ok() : AttentionBackwardCpu(PathAttentionKernelsFor(Isa::kRef), p);
}

}  // namespace frugal
