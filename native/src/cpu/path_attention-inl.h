// Path attention for one (path, head), written once over the vector wrapper and
// compiled per ISA by x86/path_attention_<isa>.cc.
//
// Why this shape: paths are short (tens to a few hundred tokens) and heads narrow
// (16 in LightPath), so a query row against its keys is the unit of work. K (and
// in the backward V) is copied once per pair into a transposed, zero-padded tile
// [head_dim][tokens rounded up to a vector], so a score vector is head_dim FMAs
// over lanes of keys, every load full; V is copied into rows padded to whole
// vectors so the P·V update is full vectors too. Padding lanes score −∞ (p = 0).

// Tokens rounded up to whole vectors.
inline int64_t PaddedKeys(int64_t tokens) { return (tokens + kLanes - 1) / kLanes * kLanes; }

// Keys per online-softmax block: the scores of one block stay in L1.
constexpr int64_t kPathKeyBlock = 128;

// dst[d·ld + j] = src[j·stride + d] for j < tokens, d < head_dim, and zeros in
// columns [tokens, padded) of each of the head_dim rows.
inline void TransposePadded(int64_t tokens, int64_t head_dim, int64_t stride, const float* src, int64_t ld, float* dst) {
  for (int64_t d = 0; d < head_dim; ++d) {
    float* row = dst + d * ld;
    for (int64_t j = 0; j < tokens; ++j) row[j] = src[j * stride + d];
    for (int64_t j = tokens; j < ld; ++j) row[j] = 0.0f;
  }
}

// dst row j (ld floats) = src row j (head_dim floats, stride apart), zero padded.
inline void CopyRowsPadded(int64_t tokens, int64_t head_dim, int64_t stride, const float* src, int64_t ld, float* dst) {
  for (int64_t j = 0; j < tokens; ++j) {
    std::memcpy(dst + j * ld, src + j * stride, static_cast<size_t>(head_dim) * sizeof(float));
    std::fill(dst + j * ld + head_dim, dst + (j + 1) * ld, 0.0f);
  }
}

// Query rows handled together: each K (or V) vector loaded feeds kPathRows FMAs.
constexpr int kPathRows = 4;

// The first `rows` (<= kPathRows) row pointers of a block; the unused slots repeat
// the first, so the loops below run branch-free and their results are dropped.
inline void RowPointers(const float* first, int64_t stride, int64_t rows, const float* (&out)[kPathRows]) {
  for (int r = 0; r < kPathRows; ++r) out[r] = first + (r < rows ? r : 0) * stride;
}

// s[r] = scale · q_r·k_j for the kLanes keys at column j of the transposed tile,
// and, with `b` set, t[r] = b_r·w_j over a second tile (the backward's dout·v); lanes
// at or past `tokens` are set to `pad`.
template <bool kSecond>
inline void ScoreBlock(const float* const (&a)[kPathRows], const float* const (&b)[kPathRows], int64_t head_dim,
                       const float* at, const float* bt, int64_t ld, int64_t j, int64_t tokens, F scale, F pad,
                       F (&s)[kPathRows], F (&t)[kPathRows]) {
  for (int r = 0; r < kPathRows; ++r) s[r] = t[r] = Zero();
  for (int64_t d = 0; d < head_dim; ++d) {
    const F kv = Load(at + d * ld + j);
    for (int r = 0; r < kPathRows; ++r) s[r] = MulAdd(Set1(a[r][d]), kv, s[r]);
    if (kSecond) {
      const F vv = Load(bt + d * ld + j);
      for (int r = 0; r < kPathRows; ++r) t[r] = MulAdd(Set1(b[r][d]), vv, t[r]);
    }
  }
  const bool tail = j + kLanes > tokens;
  const Mask m = TailMask(tokens - j);
  for (int r = 0; r < kPathRows; ++r) {
    s[r] = Mul(s[r], scale);
    if (tail) s[r] = Select(m, s[r], pad);
  }
}

// acc[r][0..hp) += Σ_{j<n} w[r·ldw + j] · rows[j·hp + ...] for kPathRows rows: two
// vectors of the output at a time stay in registers over the whole j loop.
inline void WeightedRowSums(int64_t n, const float* w, int64_t ldw, const float* rows, int64_t hp, float* acc) {
  for (int64_t d = 0; d < hp; d += 2 * kLanes) {
    const bool two = d + kLanes < hp;
    F a0[kPathRows], a1[kPathRows];
    for (int r = 0; r < kPathRows; ++r) {
      a0[r] = Load(acc + r * hp + d);
      a1[r] = two ? Load(acc + r * hp + d + kLanes) : Zero();
    }
    for (int64_t j = 0; j < n; ++j) {
      const F v0 = Load(rows + j * hp + d);
      const F v1 = two ? Load(rows + j * hp + d + kLanes) : Zero();
      for (int r = 0; r < kPathRows; ++r) {
        const F wr = Set1(w[r * ldw + j]);
        a0[r] = MulAdd(wr, v0, a0[r]);
        a1[r] = MulAdd(wr, v1, a1[r]);
      }
    }
    for (int r = 0; r < kPathRows; ++r) {
      Store(acc + r * hp + d, a0[r]);
      if (two) Store(acc + r * hp + d + kLanes, a1[r]);
    }
  }
}

int64_t PathHeadForwardScratch(int64_t tokens, int64_t head_dim) {
  const int64_t hp = PaddedKeys(head_dim);
  return head_dim * PaddedKeys(tokens) + tokens * hp + kPathRows * (hp + kPathKeyBlock);
}

void PathHeadForwardPass(const PathHeadForward& h, float* scratch) {
  const int64_t T = h.tokens, hd = h.head_dim, ld = PaddedKeys(T), hp = PaddedKeys(hd);
  float* kt = scratch;                  // [hd][ld]
  float* vp = kt + hd * ld;             // [T][hp]
  float* acc = vp + T * hp;             // [kPathRows][hp]
  float* p = acc + kPathRows * hp;      // [kPathRows][kPathKeyBlock]
  TransposePadded(T, hd, h.qkv_stride, h.k, ld, kt);
  CopyRowsPadded(T, hd, h.qkv_stride, h.v, hp, vp);
  const F vscale = Set1(h.scale), ninf = Set1(-INFINITY);
  for (int64_t i0 = 0; i0 < T; i0 += kPathRows) {
    const int64_t rows = std::min<int64_t>(kPathRows, T - i0);
    const float* q[kPathRows];
    RowPointers(h.q + i0 * h.qkv_stride, h.qkv_stride, rows, q);
    float m[kPathRows], l[kPathRows];
    for (int r = 0; r < kPathRows; ++r) m[r] = -INFINITY, l[r] = 0.0f;
    std::fill(acc, acc + kPathRows * hp, 0.0f);
    for (int64_t j0 = 0; j0 < T; j0 += kPathKeyBlock) {
      const int64_t n = std::min(kPathKeyBlock, T - j0);
      F bm[kPathRows];
      for (int r = 0; r < kPathRows; ++r) bm[r] = ninf;
      for (int64_t jv = 0; jv < n; jv += kLanes) {
        F s[kPathRows], unused[kPathRows];
        ScoreBlock<false>(q, q, hd, kt, nullptr, ld, j0 + jv, T, vscale, ninf, s, unused);
        for (int r = 0; r < kPathRows; ++r) {
          Store(p + r * kPathKeyBlock + jv, s[r]);
          bm[r] = Max(bm[r], s[r]);
        }
      }
      // Online softmax: rescale what the earlier blocks summed to each row's new maximum.
      for (int r = 0; r < kPathRows; ++r) {
        const float m_new = std::max(m[r], ReduceMax(bm[r]));
        const float alpha = std::exp(m[r] - m_new);
        const F vm = Set1(m_new);
        F lsum = Zero();
        for (int64_t jv = 0; jv < n; jv += kLanes) {
          const F e = Exp(Sub(Load(p + r * kPathKeyBlock + jv), vm));
          Store(p + r * kPathKeyBlock + jv, e);
          lsum = Add(lsum, e);
        }
        l[r] = l[r] * alpha + ReduceAdd(lsum);
        m[r] = m_new;
        const F va = Set1(alpha);
        for (int64_t d = 0; d < hp; d += kLanes) Store(acc + r * hp + d, Mul(Load(acc + r * hp + d), va));
      }
      WeightedRowSums(n, p, kPathKeyBlock, vp + j0 * hp, hp, acc);
    }
    for (int64_t r = 0; r < rows; ++r) {
      const float inv_l = 1.0f / l[r];
      float* out = h.out + (i0 + r) * h.out_stride;
      for (int64_t d = 0; d < hd; ++d) out[d] = acc[r * hp + d] * inv_l;
      h.lse[(i0 + r) * h.lse_stride] = m[r] + std::log(l[r]);
    }
  }
}

int64_t PathHeadBackwardScratch(int64_t tokens, int64_t head_dim) {
  const int64_t ld = PaddedKeys(tokens), hp = PaddedKeys(head_dim);
  return 4 * head_dim * ld + tokens * hp + kPathRows * (2 * hp + ld);
}

void PathHeadBackwardPass(const PathHeadBackward& h, float* scratch) {
  const int64_t T = h.tokens, hd = h.head_dim, ld = PaddedKeys(T), hp = PaddedKeys(hd);
  float* kt = scratch;                // [hd][ld]: K transposed
  float* vt = kt + hd * ld;           // [hd][ld]: V transposed
  float* dkt = vt + hd * ld;          // [hd][ld]: ∂K transposed, summed over the queries
  float* dvt = dkt + hd * ld;         // [hd][ld]
  float* kp = dvt + hd * ld;          // [T][hp]: K rows, padded
  float* dq = kp + T * hp;            // [kPathRows][hp]
  float* ds = dq + kPathRows * hp;    // [kPathRows][ld]
  float* qs = ds + kPathRows * ld;    // [kPathRows][hp]: q·scale, the factor of ∂K
  TransposePadded(T, hd, h.qkv_stride, h.k, ld, kt);
  TransposePadded(T, hd, h.qkv_stride, h.v, ld, vt);
  CopyRowsPadded(T, hd, h.qkv_stride, h.k, hp, kp);
  std::fill(dkt, dkt + 2 * hd * ld, 0.0f);
  const F vscale = Set1(h.scale), ninf = Set1(-INFINITY);
  for (int64_t i0 = 0; i0 < T; i0 += kPathRows) {
    const int64_t rows = std::min<int64_t>(kPathRows, T - i0);
    const float *q[kPathRows], *dout[kPathRows];
    RowPointers(h.q + i0 * h.qkv_stride, h.qkv_stride, rows, q);
    RowPointers(h.dout + i0 * h.out_stride, h.out_stride, rows, dout);
    F vlse[kPathRows], vD[kPathRows];
    for (int r = 0; r < kPathRows; ++r) {
      const int64_t i = i0 + (r < rows ? r : 0);
      const float* out = h.out + i * h.out_stride;
      float D = 0.0f;
      for (int64_t d = 0; d < hd; ++d) D += dout[r][d] * out[d];
      vD[r] = Set1(D);
      vlse[r] = Set1(h.lse[i * h.lse_stride]);
      for (int64_t d = 0; d < hd; ++d) qs[r * hp + d] = q[r][d] * h.scale;
    }
    for (int64_t j = 0; j < ld; j += kLanes) {
      F s[kPathRows], dp[kPathRows], pr[kPathRows], dsr[kPathRows];
      ScoreBlock<true>(q, dout, hd, kt, vt, ld, j, T, vscale, ninf, s, dp);
      for (int r = 0; r < kPathRows; ++r) {
        // p from the saved log-sum-exp; padding lanes and unused rows get p = 0, so ds = 0.
        pr[r] = r < rows ? Exp(Sub(s[r], vlse[r])) : Zero();
        dsr[r] = Mul(pr[r], Sub(dp[r], vD[r]));
        Store(ds + r * ld + j, dsr[r]);
      }
      for (int64_t d = 0; d < hd; ++d) {
        F dv = Load(dvt + d * ld + j), dk = Load(dkt + d * ld + j);
        for (int r = 0; r < kPathRows; ++r) {
          dv = MulAdd(Set1(dout[r][d]), pr[r], dv);
          dk = MulAdd(Set1(qs[r * hp + d]), dsr[r], dk);
        }
        Store(dvt + d * ld + j, dv);
        Store(dkt + d * ld + j, dk);
      }
    }
    std::fill(dq, dq + kPathRows * hp, 0.0f);
    WeightedRowSums(T, ds, ld, kp, hp, dq);
    for (int64_t r = 0; r < rows; ++r) {
      float* dqi = h.dq + (i0 + r) * h.qkv_stride;
      for (int64_t d = 0; d < hd; ++d) dqi[d] = dq[r * hp + d] * h.scale;
    }
  }
  for (int64_t j = 0; j < T; ++j) {
    float* dk = h.dk + j * h.qkv_stride;
    float* dv = h.dv + j * h.qkv_stride;
    for (int64_t d = 0; d < hd; ++d) {
      dk[d] = dkt[d * ld + j];
      dv[d] = dvt[d * ld + j];
    }
  }
}
