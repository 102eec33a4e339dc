// The ISA-independent part of the packed GEMM (GotoBLAS/BLIS scheme), included
// inside namespace avx2 or avx512 by gemm-inl.h, whose micro-kernel Traits it runs:
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
// the last KC block, while the tile is in registers. Tiles that an output mask
// drops whole skip every KC block's product.

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
  float* pre;             // the pre-activation output at the tile's top-left, or null
  int64_t ldp;
  const float* old;       // C before the call, at the tile's top-left (beta != 0)
  int64_t ldo;
  bool gelu, relu;
  const GemmOutputMask* mask;  // multipliers of alpha·acc, or null
  int64_t row, col;            // the tile's top-left in C (for the mask)
};

// Transposes 8 source rows × 8 consecutive values (rows ≥ `rows` read as zero)
// into 8 runs of 8 floats, dst + t·stride for t < 8. Packing is a transpose for
// A stored untransposed and for B stored transposed; scalar it cost 15% of a
// 128³ product.
inline void Transpose8x8(const float* const src[8], int rows, float* dst, int64_t stride) {
  __m256 r[8];
  for (int i = 0; i < 8; ++i) r[i] = i < rows ? _mm256_loadu_ps(src[i]) : _mm256_setzero_ps();
  __m256 t[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  __m256 u[8];
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  // In order of t: PackTransposed relies on each store landing after the one before.
  for (int i = 0; i < 4; ++i) _mm256_storeu_ps(dst + i * stride, _mm256_permute2f128_ps(u[i], u[i + 4], 0x20));
  for (int i = 0; i < 4; ++i) _mm256_storeu_ps(dst + (i + 4) * stride, _mm256_permute2f128_ps(u[i], u[i + 4], 0x31));
}

// Packs `count` rows of a row-major matrix, src + r·ld (r < rows; the rest are
// zero), over k < kc into dst[k·W + r]: the k-major layout of a packed panel of
// width W. Rows go in groups of 8, the last group first: when W is not a
// multiple of 8 its 8-wide stores spill 8 − (W mod 8) floats into the next k's
// first rows (or past the panel: callers leave 8 floats of slack), which the
// stores of the earlier groups then overwrite.
template <int W>
void PackTransposed(const float* src, int64_t ld, int rows, int64_t kc, float* dst) {
  constexpr int kGroups = (W + 7) / 8;
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    for (int g = kGroups - 1; g >= 0; --g) {
      const int live = std::max(0, std::min(8, std::min(rows, W) - g * 8));
      const float* row[8] = {};
      for (int i = 0; i < live; ++i) row[i] = src + (g * 8 + i) * ld + k;
      Transpose8x8(row, live, dst + k * W + g * 8, W);
    }
  }
  for (; k < kc; ++k) {
    for (int r = 0; r < W; ++r) dst[k * W + r] = r < rows ? src[r * ld + k] : 0.0f;
  }
}

// Packs op(B)[k0:k0+kc, n0:n0+NR] into b[kc][NR], zero-padding columns ≥ N.
template <int NR>
void PackB(const GemmParams& p, const float* B, int64_t k0, int64_t kc, int64_t n0, float* b) {
  const int64_t n = std::min<int64_t>(NR, p.N - n0);
  if (p.transB) {
    PackTransposed<NR>(B + n0 * p.ldb + k0, p.ldb, static_cast<int>(n), kc, b);
    return;
  }
  for (int64_t k = 0; k < kc; ++k) {
    const float* src = B + (k0 + k) * p.ldb + n0;
    float* dst = b + k * NR;
    if (n == NR) {
      std::memcpy(dst, src, NR * sizeof(float));
    } else {
      std::memcpy(dst, src, n * sizeof(float));
      std::memset(dst + n, 0, (NR - n) * sizeof(float));
    }
  }
}

// Packs op(A)[m0:m0+MR, k0:k0+kc] into a[kc][MR], zero-padding rows ≥ M.
// Untransposed, it writes up to 8 floats past the panel (see PackTransposed).
// (Packing a whole MC block row by row instead, reading each row of a transposed
// A once, measured 4% slower: 24 write streams.)
template <int MR>
void PackA(const GemmParams& p, const float* A, int64_t m0, int64_t k0, int64_t kc, float* a) {
  const int64_t m = std::min<int64_t>(MR, p.M - m0);
  if (!p.transA) {
    PackTransposed<MR>(A + m0 * p.lda + k0, p.lda, static_cast<int>(m), kc, a);
    return;
  }
  for (int64_t k = 0; k < kc; ++k) {
    const float* src = A + (k0 + k) * p.lda + m0;
    float* dst = a + k * MR;
    if (m == MR) {
      std::memcpy(dst, src, MR * sizeof(float));  // a constant size: inlined, not a libc call per k
    } else {
      std::memcpy(dst, src, m * sizeof(float));
      std::memset(dst + m, 0, (MR - m) * sizeof(float));
    }
  }
}

template <class T>
void Run(const GemmParams& p) {
  constexpr int MR = T::MR, NR = T::NR;
  constexpr int64_t KC = T::KC, MC = T::MC;
  static_assert(MC % MR == 0, "MC must be a multiple of MR");
  const int64_t panels = CeilDiv(p.N, NR);
  const int64_t npad = panels * NR;
  const int64_t kblocks = std::max<int64_t>(1, CeilDiv(p.K, KC));
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

  // Split C into tasks: row ranges of whole MR strips (at most MC rows each, as
  // even as possible, a multiple of the thread count where rows allow), and
  // column blocks only when rows alone give too few tasks to keep every thread
  // busy. Even row ranges matter: MC-row blocks leave a short last block that
  // idles a thread (11% of 1024³ on two threads). Splitting columns makes every
  // task pack the same A rows again, so rows go first.
  const int64_t strips = CeilDiv(p.M, MR);
  int64_t mtasks = CeilDiv(strips, MC / MR);
  int64_t nsplit = 1;
  if (parallel) {
    const int64_t threads = NumThreads(), want = 2 * threads;
    constexpr int64_t kMinStrips = 2;  // below this the B panels are reused too little
    const int64_t max_mtasks = std::max<int64_t>(1, strips / kMinStrips);
    if (p.batch * mtasks < want) mtasks = std::min(max_mtasks, CeilDiv(want, p.batch));
    if (p.batch == 1 && mtasks % threads != 0) mtasks = std::min(max_mtasks, CeilDiv(mtasks, threads) * threads);
    if (p.batch * mtasks < threads) nsplit = std::min<int64_t>(panels, CeilDiv(want, p.batch * mtasks));
  }
  const int64_t panels_per_block = CeilDiv(panels, nsplit);
  const int64_t nblocks = CeilDiv(panels, panels_per_block);
  const bool keep_old = p.beta != 0.0f && kblocks > 1;

  auto task_fn = [&](int64_t task) {
    const int64_t b = task / (mtasks * nblocks);
    const int64_t rest = task % (mtasks * nblocks);
    const int64_t mt = rest / nblocks, nb = rest % nblocks;
    const int64_t m0 = std::min(p.M, strips * mt / mtasks * MR);
    const int64_t m1 = std::min(p.M, strips * (mt + 1) / mtasks * MR);
    const int64_t p0 = nb * panels_per_block, p1 = std::min(panels, p0 + panels_per_block);
    const int64_t n0 = p0 * NR, n1 = std::min(p.N, p1 * NR);
    const float* A = p.A + b * p.strideA;
    float* C = p.C + b * p.strideC;
    const float* R = p.residual ? p.residual + b * p.strideR : nullptr;
    float* P = p.preActivation ? p.preActivation + b * p.strideP : nullptr;
    const float* bbase = bpack + (shared_b ? 0 : b * b_size);

    static thread_local Scratch a_scratch, old_scratch;
    float* apack = a_scratch.Get(static_cast<size_t>(MC * KC + 8));  // + PackA's slack
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

    // Which of the task's tiles an output mask drops whole, asked once per call
    // (not once per KC block), and the strips with no live tile, whose A rows are
    // never packed. A dropped tile's final block writes the epilogue of a zero
    // product (beta·old, or 0); its other blocks are skipped.
    const int64_t task_strips = CeilDiv(m1 - m0, MR), task_panels = p1 - p0;
    static thread_local std::vector<uint8_t> dead_tiles, dead_strips;
    if (p.outputMask) {
      dead_tiles.assign(static_cast<size_t>(task_strips * task_panels), 0);
      dead_strips.assign(static_cast<size_t>(task_strips), 1);
      for (int64_t s = 0; s < task_strips; ++s) {
        const int64_t i = m0 + s * MR;
        for (int64_t np = p0; np < p1; ++np) {
          const bool d = p.outputMask->allDropped(p.outputMask->self, i, std::min(m1, i + MR), np * NR,
                                                  std::min(p.N, (np + 1) * NR));
          dead_tiles[static_cast<size_t>(s * task_panels + np - p0)] = d;
          if (!d) dead_strips[static_cast<size_t>(s)] = 0;
        }
      }
    }
    for (int64_t kb = 0; kb < kblocks; ++kb) {
      const int64_t k0 = kb * KC, kc = std::min<int64_t>(KC, p.K - k0);
      for (int64_t i = m0; i < m1; i += MR) {
        if (!p.outputMask || !dead_strips[static_cast<size_t>((i - m0) / MR)]) PackA<MR>(p, A, i, k0, kc, apack + (i - m0) * kc);
      }
      for (int64_t np = p0; np < p1; ++np) {
        const float* bp = bbase + k0 * npad + np * kc * NR;
        const int64_t j = np * NR;
        for (int64_t i = m0; i < m1; i += MR) {
          const bool dropped = p.outputMask && dead_tiles[static_cast<size_t>((i - m0) / MR * task_panels + np - p0)];
          if (dropped && kb != kblocks - 1) continue;
          Tile t;
          t.C = C + i * p.ldc + j;
          t.ldc = p.ldc;
          t.rows = static_cast<int>(std::min<int64_t>(MR, m1 - i));
          t.cols = static_cast<int>(std::min<int64_t>(NR, p.N - j));
          t.accumulate = kb > 0 && !dropped;
          t.final = kb == kblocks - 1;
          t.alpha = p.alpha;
          t.beta = p.beta;
          t.bias = p.bias ? p.bias + j : nullptr;
          t.colScale = p.colScale ? p.colScale + j : nullptr;
          t.residual = R ? R + i * p.ldr + j : nullptr;
          t.ldr = p.ldr;
          t.pre = P ? P + i * p.ldp + j : nullptr;
          t.ldp = p.ldp;
          t.old = p.beta != 0.0f ? old + i * ldo + j : nullptr;
          t.ldo = ldo;
          t.gelu = p.activation == Activation::kGelu;
          t.relu = p.activation == Activation::kRelu;
          t.mask = p.outputMask;
          t.row = i;
          t.col = j;
          T::Micro(dropped ? 0 : kc, apack + (i - m0) * kc, bp, t);
        }
      }
    }
  };
  const int64_t tasks = p.batch * mtasks * nblocks;
  if (parallel) {
    ParallelFor(tasks, task_fn);
  } else {
    for (int64_t t = 0; t < tasks; ++t) task_fn(t);
  }
}

}  // namespace gemm_detail
