// GradDrop front end: checks the mask, draws the multipliers of the units a
// call needs (never a dense mask unless asked for), and runs the masked weight
// gradient so that dropped work is skipped:
//   tensor     dropped: no GEMM (beta·old); kept: one GEMM scaled by 1/(1−p);
//   row/column the kept columns of G (rows of the gradient) or of A are
//              gathered, one compact GEMM runs, and its rows or columns are
//              scattered back: the GEMM shrinks by the drop rate;
//   block      the GEMM's output mask skips every register tile of a dropped
//              block (whole tiles when the block is a multiple of the tile);
//   element    the GEMM's output mask multiplies each tile in its epilogue.
#include "frugal/graddrop.h"

#include <string>

#include "common/grad_mask.h"
#include "core/front_end.h"
#include "cpu/graddrop_kernels.h"
#include "cpu/kernel_table.h"
#include "cpu/primitives/vector.h"
#include "frugal/gemm.h"
#include "frugal/isa.h"
#ifdef FRUGAL_WITH_CUDA
#include "cuda/graddrop.h"
#endif

namespace frugal {

const GradDropKernels& GradDropKernelsFor(Isa isa) {
  static const GradDropKernels kRef{ref::UnitMultipliers, ref::MultiplyKept};
  static const GradDropKernels kAvx2{avx2::UnitMultipliers, avx2::MultiplyKept};
  static const GradDropKernels kAvx512{avx512::UnitMultipliers, avx512::MultiplyKept};
  return KernelsOfLevel(isa, kRef, kAvx2, kAvx512);
}

namespace {

constexpr uint64_t kMaxUnits = uint64_t{1} << 34;  // unit u < 2³⁴: ⌊u/4⌋ fills one counter word
constexpr int64_t kChunk = 1024;                    // floats of multipliers a task draws at once
constexpr int64_t kElementsPerTask = 1 << 16;       // fixed task size of mask and apply
constexpr int kSlotUnits = 0, kSlotGather = 1, kSlotCompact = 2, kSlotSums = 3;

std::string Str(int64_t v) { return std::to_string(v); }

MaskDraw DrawOf(const GradMask& m) {
  MaskDraw d;
  d.id = StreamId{m.seed, m.layer, kTagGradientMask};
  d.step = m.step;
  d.threshold = static_cast<float>(GradMaskThreshold(m));  // an integer ≤ 2²⁴: exact in float
  d.scale = GradMaskKeptScale(m);
  return d;
}

// The multipliers of a call's units: drawn on demand for element granularity,
// else drawn once into a table (rows, columns, blocks or the one tensor unit).
class MaskPlan {
 public:
  Status Init(const char* op, const GradMask& m) {
    m_ = m;
    draw_ = DrawOf(m);
    kernels_ = &GradDropKernelsFor(ActiveIsa());
    block_cols_ = m.granularity == MaskGranularity::kBlock ? CeilDiv(m.cols, m.blockCols) : 0;
    if (m.granularity == MaskGranularity::kElement) return Status::Ok();
    const int64_t units = static_cast<int64_t>(GradMaskUnits(m));
    float* table = nullptr;
    FRUGAL_RETURN_IF_ERROR(Workspace(op, kSlotUnits, units, &table));
    ParallelFor(CeilDiv(units, kElementsPerTask), [&](int64_t task) {
      const int64_t u0 = task * kElementsPerTask;
      kernels_->unitMultipliers(draw_, static_cast<uint64_t>(u0), std::min(kElementsPerTask, units - u0), table + u0);
    });
    units_ = table;
    return Status::Ok();
  }

  const GradDropKernels& kernels() const { return *kernels_; }
  bool AllDropped() const { return draw_.threshold >= 0x1p24f; }
  bool NoneDropped() const { return draw_.threshold == 0.0f; }
  float KeptScale() const { return draw_.scale; }
  // The multiplier of row i (row and tensor granularity).
  float RowMultiplier(int64_t i) const { return units_[m_.granularity == MaskGranularity::kRow ? i : 0]; }
  const float* units() const { return units_; }

  // out[k] = the multiplier of element (i, j0 + k), k < n.
  void Row(int64_t i, int64_t j0, int64_t n, float* out) const {
    switch (m_.granularity) {
      case MaskGranularity::kElement:
        kernels_->unitMultipliers(draw_, static_cast<uint64_t>(i * m_.cols + j0), n, out);
        return;
      case MaskGranularity::kColumn: std::copy(units_ + j0, units_ + j0 + n, out); return;
      case MaskGranularity::kBlock: {
        // One fill per block the segment crosses: a division per element cost 8× a copy.
        const float* blocks = units_ + (i / m_.blockRows) * block_cols_;
        for (int64_t j = j0, end = j0 + n; j < end;) {
          const int64_t bj = j / m_.blockCols, stop = std::min(end, (bj + 1) * m_.blockCols);
          std::fill(out + (j - j0), out + (stop - j0), blocks[bj]);
          j = stop;
        }
        return;
      }
      case MaskGranularity::kRow:
      case MaskGranularity::kTensor: std::fill(out, out + n, RowMultiplier(i)); return;
    }
  }

  // True when every element of rows [r0, r1) × columns [c0, c1) is dropped.
  bool Dropped(int64_t r0, int64_t r1, int64_t c0, int64_t c1) const {
    if (AllDropped()) return true;
    switch (m_.granularity) {
      case MaskGranularity::kElement: return false;  // 0 < p < 1: a tile hardly ever drops whole
      case MaskGranularity::kBlock:
        for (int64_t bi = r0 / m_.blockRows; bi <= (r1 - 1) / m_.blockRows; ++bi) {
          for (int64_t bj = c0 / m_.blockCols; bj <= (c1 - 1) / m_.blockCols; ++bj) {
            if (units_[bi * block_cols_ + bj] != 0.0f) return false;
          }
        }
        return true;
      case MaskGranularity::kRow:
        for (int64_t i = r0; i < r1; ++i) {
          if (units_[i] != 0.0f) return false;
        }
        return true;
      case MaskGranularity::kColumn:
        for (int64_t j = c0; j < c1; ++j) {
          if (units_[j] != 0.0f) return false;
        }
        return true;
      case MaskGranularity::kTensor: return units_[0] == 0.0f;
    }
    return false;
  }

  // The plan as the GEMM's output mask.
  GemmOutputMask AsOutputMask() const {
    GemmOutputMask g;
    g.self = this;
    g.multipliers = [](const void* self, int64_t row, int64_t col0, int n, float* out) {
      static_cast<const MaskPlan*>(self)->Row(row, col0, n, out);
    };
    g.allDropped = [](const void* self, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
      return static_cast<const MaskPlan*>(self)->Dropped(r0, r1, c0, c1);
    };
    return g;
  }

 private:
  GradMask m_;
  MaskDraw draw_;
  const GradDropKernels* kernels_ = nullptr;
  const float* units_ = nullptr;
  int64_t block_cols_ = 0;
};

// Calls fn(i, j0, n, flat) for the row segments of elements [e0, e1) of a
// [rows, cols] tensor, in chunks of at most kChunk.
template <class Fn>
void ForEachSegment(int64_t cols, int64_t e0, int64_t e1, Fn fn) {
  for (int64_t e = e0; e < e1;) {
    const int64_t i = e / cols, j = e % cols;
    const int64_t n = std::min({cols - j, e1 - e, kChunk});
    fn(i, j, n, e);
    e += n;
  }
}

// x[0..n) = beta·x (0 when beta = 0, without reading x): a dropped unit of an
// accumulated gradient.
void ScaleOld(float* x, int64_t n, float beta) {
  if (beta == 0.0f) {
    std::fill(x, x + n, 0.0f);
  } else if (beta != 1.0f) {
    for (int64_t k = 0; k < n; ++k) x[k] *= beta;
  }
}

// t[0..n) = beta·t + x.
void AddScaledOld(float* t, const float* x, int64_t n, float beta) {
  if (beta == 0.0f) {
    std::copy(x, x + n, t);
  } else {
    for (int64_t k = 0; k < n; ++k) t[k] = beta * t[k] + x[k];
  }
}

Status CheckLinearGrad(const MaskedLinearGradParams& p) {
  const char* op = "graddrop.linearGrad";
  FRUGAL_RETURN_IF_ERROR(ValidateGradMask(op, p.mask));
  if (p.tokens < 0 || p.din < 0 || p.dout < 0) {
    return Status::Shape(std::string(op) + ": sizes must be >= 0, got tokens " + Str(p.tokens) + ", din " +
                         Str(p.din) + ", dout " + Str(p.dout));
  }
  if (p.mask.rows != p.dout || p.mask.cols != p.din) {
    return Status::Shape(std::string(op) + ": the mask's shape [" + Str(p.mask.rows) + ", " + Str(p.mask.cols) +
                         "] is not the weight's [" + Str(p.dout) + ", " + Str(p.din) + "]");
  }
  if (p.dout > 0 && p.din > 0 && !p.weight) return NullArgument(op, "weight");
  if (p.tokens * p.din > 0 && !p.A) return NullArgument(op, "A");
  if (p.tokens * p.dout > 0 && !p.G) return NullArgument(op, "G");
  return Status::Ok();
}

// The unmasked GEMM weight = alpha·Gᵀ·A (+ beta·weight), with an optional output mask.
Status WeightProduct(const Context& ctx, const MaskedLinearGradParams& p, float alpha, const GemmOutputMask* mask) {
  GemmParams g = WeightGradientGemm(p.tokens, p.din, p.dout, p.A, p.G, p.weight);
  g.alpha = alpha;
  g.beta = p.beta;
  g.outputMask = mask;
  return Gemm(ctx, g);
}

// The indices of the kept units among the first n of the plan's table.
int64_t KeptUnits(const MaskPlan& plan, int64_t n, std::vector<int64_t>* kept) {
  kept->clear();
  for (int64_t u = 0; u < n; ++u) {
    if (plan.units()[u] != 0.0f) kept->push_back(u);
  }
  return static_cast<int64_t>(kept->size());
}

// out [rows, kept.size()] = the kept columns of x [rows, cols], in order.
void GatherColumns(const float* x, int64_t rows, int64_t cols, const std::vector<int64_t>& kept, float* out) {
  const int64_t nk = static_cast<int64_t>(kept.size());
  ParallelFor(CeilDiv(rows, 64), [&](int64_t task) {
    for (int64_t t = task * 64; t < std::min(rows, task * 64 + 64); ++t) {
      for (int64_t c = 0; c < nk; ++c) out[t * nk + c] = x[t * cols + kept[static_cast<size_t>(c)]];
    }
  });
}

// Row (column) granularity: the kept rows (columns) of the gradient come from the
// kept columns of G (A), gathered into [tokens, kept] so that one compact GEMM
// computes them, into `compact` ([kept, din] for rows, [dout, kept] for columns).
Status CompactProduct(const Context& ctx, const MaskedLinearGradParams& p, const MaskPlan& plan, bool rows,
                      std::vector<int64_t>* kept, float** compact) {
  const char* op = "graddrop.linearGrad";
  const int64_t nk = KeptUnits(plan, rows ? p.dout : p.din, kept);
  float* gathered = nullptr;
  FRUGAL_RETURN_IF_ERROR(Workspace(op, kSlotGather, p.tokens * nk, &gathered));
  FRUGAL_RETURN_IF_ERROR(Workspace(op, kSlotCompact, nk * (rows ? p.din : p.dout), compact));
  MaskedLinearGradParams compact_p = p;
  if (rows) {
    GatherColumns(p.G, p.tokens, p.dout, *kept, gathered);
    compact_p.dout = nk;
    compact_p.G = gathered;
  } else {
    GatherColumns(p.A, p.tokens, p.din, *kept, gathered);
    compact_p.din = nk;
    compact_p.A = gathered;
  }
  compact_p.weight = *compact;
  compact_p.beta = 0.0f;
  return WeightProduct(ctx, compact_p, plan.KeptScale(), nullptr);
}

Status KeptRowsProduct(const Context& ctx, const MaskedLinearGradParams& p, const MaskPlan& plan) {
  std::vector<int64_t> kept;
  float* compact = nullptr;
  FRUGAL_RETURN_IF_ERROR(CompactProduct(ctx, p, plan, true, &kept, &compact));
  ParallelFor(CeilDiv(p.dout, 16), [&](int64_t task) {
    for (int64_t i = task * 16; i < std::min(p.dout, task * 16 + 16); ++i) {
      float* row = p.weight + i * p.din;
      const auto at = std::lower_bound(kept.begin(), kept.end(), i);
      if (at != kept.end() && *at == i) {
        AddScaledOld(row, compact + (at - kept.begin()) * p.din, p.din, p.beta);
      } else {
        ScaleOld(row, p.din, p.beta);
      }
    }
  });
  return Status::Ok();
}

Status KeptColumnsProduct(const Context& ctx, const MaskedLinearGradParams& p, const MaskPlan& plan) {
  std::vector<int64_t> kept;
  float* compact = nullptr;
  FRUGAL_RETURN_IF_ERROR(CompactProduct(ctx, p, plan, false, &kept, &compact));
  const int64_t nk = static_cast<int64_t>(kept.size());
  ParallelFor(CeilDiv(p.dout, 16), [&](int64_t task) {
    for (int64_t i = task * 16; i < std::min(p.dout, task * 16 + 16); ++i) {
      float* row = p.weight + i * p.din;
      const float* from = compact + i * nk;
      size_t next = 0;  // the next kept column
      for (int64_t j = 0; j < p.din; ++j) {
        const bool keep = next < kept.size() && kept[next] == j;
        const float old = p.beta != 0.0f ? p.beta * row[j] : 0.0f;
        row[j] = keep ? old + from[next++] : old;
      }
    }
  });
  return Status::Ok();
}

// bias = beta·bias + m ⊙ Σ_t G[t, :], m the row multipliers for row and tensor
// granularity and 1 for the others.
Status BiasGrad(const MaskedLinearGradParams& p, const MaskPlan& plan) {
  float* sums = nullptr;
  FRUGAL_RETURN_IF_ERROR(Workspace("graddrop.linearGrad", kSlotSums, p.dout, &sums));
  WeightedColumnSums(p.G, p.tokens, p.dout, nullptr, 1, sums);
  const bool follows_rows =
      p.mask.granularity == MaskGranularity::kRow || p.mask.granularity == MaskGranularity::kTensor;
  for (int64_t i = 0; i < p.dout; ++i) {
    const float m = follows_rows ? plan.RowMultiplier(i) : 1.0f;
    const float old = p.beta != 0.0f ? p.beta * p.bias[i] : 0.0f;
    p.bias[i] = m > 0.0f ? old + m * sums[i] : old;
  }
  return Status::Ok();
}

Status LinearGradCpu(const Context& ctx, const MaskedLinearGradParams& p) {
  MaskPlan plan;
  // The unit table (row, column, block, tensor) needs no element of A or G, and
  // a fully dropped tensor needs nothing else.
  FRUGAL_RETURN_IF_ERROR(plan.Init("graddrop.linearGrad", p.mask));
  if (p.bias) FRUGAL_RETURN_IF_ERROR(BiasGrad(p, plan));
  if (p.din == 0) return Status::Ok();
  if (plan.Dropped(0, p.dout, 0, p.din)) {
    ParallelFor(CeilDiv(p.dout, 16), [&](int64_t task) {
      const int64_t i0 = task * 16, i1 = std::min(p.dout, i0 + 16);
      ScaleOld(p.weight + i0 * p.din, (i1 - i0) * p.din, p.beta);
    });
    return Status::Ok();
  }
  if (plan.NoneDropped()) return WeightProduct(ctx, p, plan.KeptScale(), nullptr);
  switch (p.mask.granularity) {
    case MaskGranularity::kTensor: return WeightProduct(ctx, p, plan.KeptScale(), nullptr);
    case MaskGranularity::kRow: return KeptRowsProduct(ctx, p, plan);
    case MaskGranularity::kColumn: return KeptColumnsProduct(ctx, p, plan);
    case MaskGranularity::kElement:
    case MaskGranularity::kBlock: break;
  }
  const GemmOutputMask mask = plan.AsOutputMask();
  return WeightProduct(ctx, p, 1.0f, &mask);
}

}  // namespace

Status ValidateGradMask(const char* op, const GradMask& m) {
  const std::string o(op);
  if (m.rows < 0 || m.cols < 0) return Status::Shape(o + ": shape must be >= 0, got [" + Str(m.rows) + ", " + Str(m.cols) + "]");
  if (static_cast<int>(m.granularity) < 0 || static_cast<int>(m.granularity) > 4) {
    return Status::Range(o + ": unknown granularity");
  }
  if (m.granularity == MaskGranularity::kBlock && (m.blockRows < 1 || m.blockCols < 1)) {
    return Status::Range(o + ": block must be two integers >= 1, got [" + Str(m.blockRows) + ", " + Str(m.blockCols) + "]");
  }
  if (!(m.p >= 0.0 && m.p <= 1.0)) return Status::Range(o + ": p must be in [0, 1], got " + std::to_string(m.p));
  // Elements are indexed in 64 bits (and element granularity counts them as units).
  if (m.cols > 0 && m.rows > (int64_t{1} << 62) / m.cols) {
    return Status::Range(o + ": shape [" + Str(m.rows) + ", " + Str(m.cols) + "] has too many elements");
  }
  if (GradMaskUnits(m) > kMaxUnits) {
    return Status::Range(o + ": a mask has at most 2^34 units, got " + std::to_string(GradMaskUnits(m)));
  }
  return Status::Ok();
}

Status GradDropMask(const Context& ctx, const GradMask& m, float* out) {
  FRUGAL_RETURN_IF_ERROR(ValidateGradMask("graddrop.mask", m));
  const int64_t n = m.rows * m.cols;
  if (n > 0 && !out) return NullArgument("graddrop.mask", "out");
  return Dispatch("graddrop.mask", ctx, Empty{n == 0}, [&] {
    MaskPlan plan;
    FRUGAL_RETURN_IF_ERROR(plan.Init("graddrop.mask", m));
    ParallelFor(CeilDiv(n, kElementsPerTask), [&](int64_t task) {
      const int64_t e0 = task * kElementsPerTask;
      ForEachSegment(m.cols, e0, std::min(n, e0 + kElementsPerTask),
                     [&](int64_t i, int64_t j, int64_t len, int64_t e) { plan.Row(i, j, len, out + e); });
    });
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(GradDropMaskCuda(m, out, ctx.stream)));
}

Status GradDropApply(const Context& ctx, const GradMask& m, float* grad) {
  FRUGAL_RETURN_IF_ERROR(ValidateGradMask("graddrop.apply", m));
  const int64_t n = m.rows * m.cols;
  if (n > 0 && !grad) return NullArgument("graddrop.apply", "grad");
  return Dispatch("graddrop.apply", ctx, Empty{n == 0}, [&] {
    MaskPlan plan;
    FRUGAL_RETURN_IF_ERROR(plan.Init("graddrop.apply", m));
    ParallelFor(CeilDiv(n, kElementsPerTask), [&](int64_t task) {
      const int64_t e0 = task * kElementsPerTask;
      alignas(64) float mult[kChunk];
      ForEachSegment(m.cols, e0, std::min(n, e0 + kElementsPerTask), [&](int64_t i, int64_t j, int64_t len, int64_t e) {
        plan.Row(i, j, len, mult);
        plan.kernels().multiplyKept(grad + e, mult, len);
      });
    });
    return Status::Ok();
  }, FRUGAL_CUDA_PATH(GradDropApplyCuda(m, grad, ctx.stream)));
}

Status GradDropLinearGrad(const Context& ctx, const MaskedLinearGradParams& p) {
  FRUGAL_RETURN_IF_ERROR(CheckLinearGrad(p));
  return Dispatch("graddrop.linearGrad", ctx, Empty{p.dout == 0}, [&] { return LinearGradCpu(ctx, p); },
                  FRUGAL_CUDA_PATH(GradDropLinearGradCuda(p, ctx.stream)));
}

void GradDropPreferredBlock(int64_t* br, int64_t* bc) {
  int mr = 16, nr = 16;  // the reference level has no register tile: any block skips as well
  GemmRegisterTile(&mr, &nr);
  *br = mr;
  *bc = nr;
}

}  // namespace frugal
