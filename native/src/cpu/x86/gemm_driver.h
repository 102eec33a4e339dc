// The ISA-independent part of the packed GEMM (GotoBLAS/BLIS scheme), shared by
// gemm_avx2.cc and gemm_avx512.cc, which supply the micro-kernel traits:
//
//   struct Traits {
//     static constexpr int MR, NR, KC, MC;   // register tile and cache blocks
//     static void Micro(int64_t kc, const float* a, const float* b, const Tile& t);
//   };
//
// B is packed once per call into NR-wide panels (zero-padded), per KC block;
// every task (a block of MC rows × NC columns of C, for one batch) packs its
// own A block into MR-tall panels and runs the micro-kernel over it. Each C
// element is summed over K in one fixed order (KC blocks ascending, k ascending
// inside) whatever the task split, so results never depend on the thread count.
// Partial sums of earlier KC blocks are kept in C itself; the epilogue runs on
// the last KC block, while the tile is in registers.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "frugal/context.h"
#include "frugal/gemm.h"

namespace frugal {
namespace gemm_detail {

// A 64-byte aligned float buffer that grows and never shrinks: one per thread,
// so steady-state calls allocate nothing.
class Scratch {
 public:
  ~Scratch() { std::free(data_); }
  float* Get(size_t floats) {
    if (floats > capacity_) {
      std::free(data_);
      capacity_ = (floats + 15) & ~size_t{15};
      data_ = static_cast<float*>(std::aligned_alloc(64, capacity_ * sizeof(float)));
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  size_t capacity_ = 0;
};

// What the micro-kernel does with its MR×NR tile of C.
struct Tile {
  float* C;             // top-left of the tile
  int64_t ldc;
  int rows, cols;       // valid part of the tile (≤ MR, ≤ NR)
  bool accumulate;      // add the partial sum already in C (earlier KC blocks)
  bool final;           // last KC block: apply the epilogue
  // Epilogue (final only): act(alpha·acc + bias)·colScale + residual + beta·old
  float alpha, beta;
  const float* bias;      // at the tile's first column, or null
  const float* colScale;  // at the tile's first column, or null
  const float* residual;  // at the tile's top-left, or null
  int64_t ldr;
  const float* old;       // C before the call, at the tile's top-left (beta != 0)
  int64_t ldo;
  bool gelu;
};

// Packs op(B)[k0:k0+kc, n0:n0+NR] into b[kc][NR], zero-padding columns ≥ N.
template <int NR>
void PackB(const GemmParams& p, const float* B, int64_t k0, int64_t kc, int64_t n0, float* b) {
  const int64_t n = std::min<int64_t>(NR, p.N - n0);
  if (!p.transB) {
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = B + (k0 + k) * p.ldb + n0;
      float* dst = b + k * NR;
      int64_t j = 0;
      for (; j < n; ++j) dst[j] = src[j];
      for (; j < NR; ++j) dst[j] = 0.0f;
    }
  } else {
    for (int64_t j = 0; j < NR; ++j) {
      if (j < n) {
        const float* src = B + (n0 + j) * p.ldb + k0;
        for (int64_t k = 0; k < kc; ++k) b[k * NR + j] = src[k];
      } else {
        for (int64_t k = 0; k < kc; ++k) b[k * NR + j] = 0.0f;
      }
    }
  }
}

// Packs op(A)[m0:m0+MR, k0:k0+kc] into a[kc][MR], zero-padding rows ≥ M.
template <int MR>
void PackA(const GemmParams& p, const float* A, int64_t m0, int64_t k0, int64_t kc, float* a) {
  const int64_t m = std::min<int64_t>(MR, p.M - m0);
  if (p.transA) {
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = A + (k0 + k) * p.lda + m0;
      float* dst = a + k * MR;
      int64_t i = 0;
      for (; i < m; ++i) dst[i] = src[i];
      for (; i < MR; ++i) dst[i] = 0.0f;
    }
  } else {
    for (int64_t i = 0; i < MR; ++i) {
      if (i < m) {
        const float* src = A + (m0 + i) * p.lda + k0;
        for (int64_t k = 0; k < kc; ++k) a[k * MR + i] = src[k];
      } else {
        for (int64_t k = 0; k < kc; ++k) a[k * MR + i] = 0.0f;
      }
    }
  }
}

inline int64_t CeilDivI(int64_t a, int64_t b) { return (a + b - 1) / b; }

template <class T>
void Run(const GemmParams& p) {
  constexpr int MR = T::MR, NR = T::NR;
  constexpr int64_t KC = T::KC, MC = T::MC;
  static_assert(MC % MR == 0, "MC must be a multiple of MR");
  const int64_t panels = CeilDivI(p.N, NR);
  const int64_t npad = panels * NR;
  const int64_t kblocks = std::max<int64_t>(1, CeilDivI(p.K, KC));
  const bool shared_b = p.strideB == 0 || p.batch == 1;
  const int64_t b_batches = shared_b ? 1 : p.batch;
  const int64_t b_size = p.K * npad;  // packed floats of one batch's B
  const double flops = 2.0 * p.batch * p.M * p.N * std::max<int64_t>(1, p.K);
  // Below ~4 MFLOP a thread wake-up costs more than it saves.
  const bool parallel = flops >= 4e6 && NumThreads() > 1;

  static thread_local Scratch b_scratch;
  float* bpack = b_scratch.Get(static_cast<size_t>(std::max<int64_t>(1, b_batches * b_size)));

  // Pack B: one task per (batch, panel); within a panel, KC blocks one after another.
  auto pack_panel = [&](int64_t task) {
    const int64_t b = task / panels, np = task % panels;
    const float* B = p.B + b * p.strideB;
    for (int64_t kb = 0; kb < kblocks; ++kb) {
      const int64_t k0 = kb * KC, kc = std::min<int64_t>(KC, p.K - k0);
      float* dst = bpack + b * b_size + k0 * npad + np * kc * NR;
      PackB<NR>(p, B, k0, kc, np * NR, dst);
    }
  };
  if (p.K > 0) {
    if (parallel) {
      ParallelFor(b_batches * panels, pack_panel);
    } else {
      for (int64_t t = 0; t < b_batches * panels; ++t) pack_panel(t);
    }
  }

  // Split C into tasks: MC-row blocks, and column blocks when rows alone give
  // too few tasks to keep every thread busy.
  const int64_t mblocks = CeilDivI(p.M, MC);
  int64_t nsplit = 1;
  if (parallel) {
    const int64_t want = 4 * NumThreads();
    nsplit = std::min<int64_t>(panels, std::max<int64_t>(1, CeilDivI(want, p.batch * mblocks)));
  }
  const int64_t panels_per_block = CeilDivI(panels, nsplit);
  const int64_t nblocks = CeilDivI(panels, panels_per_block);
  const bool keep_old = p.beta != 0.0f && kblocks > 1;

  auto task_fn = [&](int64_t task) {
    const int64_t b = task / (mblocks * nblocks);
    const int64_t rest = task % (mblocks * nblocks);
    const int64_t mb = rest / nblocks, nb = rest % nblocks;
    const int64_t m0 = mb * MC, m1 = std::min(p.M, m0 + MC);
    const int64_t p0 = nb * panels_per_block, p1 = std::min(panels, p0 + panels_per_block);
    const int64_t n0 = p0 * NR, n1 = std::min(p.N, p1 * NR);
    const float* A = p.A + b * p.strideA;
    float* C = p.C + b * p.strideC;
    const float* R = p.residual ? p.residual + b * p.strideR : nullptr;
    const float* bbase = bpack + (shared_b ? 0 : b * b_size);

    static thread_local Scratch a_scratch, old_scratch;
    float* apack = a_scratch.Get(static_cast<size_t>(MC * KC));
    // With beta and several KC blocks, C holds partial sums before the epilogue:
    // keep the old values of this task's block aside.
    const float* old = C;
    int64_t ldo = p.ldc;
    if (keep_old) {
      float* o = old_scratch.Get(static_cast<size_t>((m1 - m0) * (n1 - n0)));
      for (int64_t i = m0; i < m1; ++i) std::memcpy(o + (i - m0) * (n1 - n0), C + i * p.ldc + n0, (n1 - n0) * sizeof(float));
      old = o - m0 * (n1 - n0) - n0;
      ldo = n1 - n0;
    }

    for (int64_t kb = 0; kb < kblocks; ++kb) {
      const int64_t k0 = kb * KC, kc = std::min<int64_t>(KC, p.K - k0);
      for (int64_t i = m0; i < m1; i += MR) PackA<MR>(p, A, i, k0, kc, apack + (i - m0) * kc);
      for (int64_t np = p0; np < p1; ++np) {
        const float* bp = bbase + k0 * npad + np * kc * NR;
        const int64_t j = np * NR;
        for (int64_t i = m0; i < m1; i += MR) {
          Tile t;
          t.C = C + i * p.ldc + j;
          t.ldc = p.ldc;
          t.rows = static_cast<int>(std::min<int64_t>(MR, m1 - i));
          t.cols = static_cast<int>(std::min<int64_t>(NR, p.N - j));
          t.accumulate = kb > 0;
          t.final = kb == kblocks - 1;
          t.alpha = p.alpha;
          t.beta = p.beta;
          t.bias = p.bias ? p.bias + j : nullptr;
          t.colScale = p.colScale ? p.colScale + j : nullptr;
          t.residual = R ? R + i * p.ldr + j : nullptr;
          t.ldr = p.ldr;
          t.old = p.beta != 0.0f ? old + i * ldo + j : nullptr;
          t.ldo = ldo;
          t.gelu = p.activation == Activation::kGelu;
          T::Micro(kc, apack + (i - m0) * kc, bp, t);
        }
      }
    }
  };
  const int64_t tasks = p.batch * mblocks * nblocks;
  if (parallel) {
    ParallelFor(tasks, task_fn);
  } else {
    for (int64_t t = 0; t < tasks; ++t) task_fn(t);
  }
}

}  // namespace gemm_detail
}  // namespace frugal
