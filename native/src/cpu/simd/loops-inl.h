// Loop shapes shared by the single-source kernels, over the vector wrapper
// (included inside namespace avx2 or avx512 by vec_<isa>.h).

// Full vectors load and store plainly; a partial one goes through its mask
// (masked-off lanes load zeros and are not stored).
inline F LoadAny(const float* p, Mask m, bool full) { return full ? Load(p) : LoadTail(p, m); }
inline void StoreAny(float* p, Mask m, bool full, F v) {
  if (full) {
    Store(p, v);
  } else {
    StoreTail(p, m, v);
  }
}

// Calls out(i, mask, full) over [0, n): full vectors (mask = all lanes), then a masked tail.
template <typename Out>
inline void ForVectors(int64_t n, const Out& out) {
  const Mask all = AllLanes();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) out(i, all, true);
  if (i < n) out(i, TailMask(n - i), false);
}

// Folds x[0..n) into one vector with `op` (a lambda over Max, Add, …) through
// four accumulators, which hide the op's latency; masked-off tail lanes read
// `identity`, so they change nothing.
template <typename Op>
inline F FoldVectors(const float* x, int64_t n, F identity, const Op& op) {
  constexpr int64_t L = kLanes;
  F a0 = identity, a1 = identity, a2 = identity, a3 = identity;
  int64_t i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    a0 = op(a0, Load(x + i));
    a1 = op(a1, Load(x + i + L));
    a2 = op(a2, Load(x + i + 2 * L));
    a3 = op(a3, Load(x + i + 3 * L));
  }
  for (; i < n; i += L) a0 = op(a0, LoadTailOr(x + i, TailMask(n - i), identity));
  return op(op(a0, a1), op(a2, a3));
}
