// The vector loops of the slash family, one set per ISA level (internal to the
// core). slash.cc generates W_l tiles with RandomKernelsFor(isa) and feeds them
// to these; the loops take no decisions about tiling or threads.
#pragma once
#include <cstdint>

#include "frugal/isa.h"

namespace frugal {

struct SlashKernels {
  // acc[j] += Σ_{r<R} z[r]·rows[r·ld + j] for j < n (the projection's forward:
  // R generated rows of W_l weighted by their z entries). R <= kSlashMaxRows.
  void (*accumulate_rows)(const float* z, int64_t R, const float* rows, int64_t ld, int64_t n, float* acc);
  // out[b·ldo + r] += Σ_{j<n} g[b·ldg + j]·w[r·ldw + j] for b < B, r < R (the
  // backward: every sample's g against R generated rows). R <= kSlashMaxRows.
  void (*dot_rows)(const float* g, int64_t ldg, int64_t B, const float* w, int64_t ldw, int64_t R, int64_t n,
                   float* out, int64_t ldo);
  // The same sums with g given transposed, gt[j·B + b] (gt [n, B]): samples run
  // along the vector lanes, so there are no horizontal sums and each W value is
  // loaded once for all samples. The per-sample backward (B ≥ kSlashLaneSamples)
  // uses it.
  void (*dot_rows_by_sample)(const float* gt, int64_t B, const float* w, int64_t ldw, int64_t R, int64_t n,
                             float* out, int64_t ldo);
  // pre[j] = (y[j] − beta[j])·inv_gamma[j]·inv_rstd + mean: the LayerNorm input
  // recovered from its output, so the backward needs no saved pre-activation.
  void (*unnormalize_row)(int64_t n, const float* y, const float* beta, const float* inv_gamma, float mean,
                          float inv_rstd, float* pre);
};

// Rows of W_l one kernel call takes at most (the register blocking of dot_rows_by_sample).
constexpr int64_t kSlashMaxRows = 12;
// From this many samples on, the backward transposes g and uses dot_rows_by_sample.
constexpr int64_t kSlashLaneSamples = 8;

const SlashKernels& SlashKernelsFor(Isa isa);

#define FRUGAL_SLASH_KERNELS                                                                                \
  void SlashAccumulateRows(const float* z, int64_t R, const float* rows, int64_t ld, int64_t n, float* acc); \
  void SlashDotRows(const float* g, int64_t ldg, int64_t B, const float* w, int64_t ldw, int64_t R, int64_t n, \
                    float* out, int64_t ldo);                                                                 \
  void SlashDotRowsBySample(const float* gt, int64_t B, const float* w, int64_t ldw, int64_t R, int64_t n,     \
                            float* out, int64_t ldo);                                                         \
  void SlashUnnormalizeRow(int64_t n, const float* y, const float* beta, const float* inv_gamma, float mean,  \
                           float inv_rstd, float* pre);

namespace ref {
FRUGAL_SLASH_KERNELS
}
namespace avx2 {
FRUGAL_SLASH_KERNELS
}
namespace avx512 {
FRUGAL_SLASH_KERNELS
}
#undef FRUGAL_SLASH_KERNELS

}  // namespace frugal
