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
