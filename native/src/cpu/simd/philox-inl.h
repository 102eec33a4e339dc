// Philox4x32-10 on kLanes counter blocks at once (one block per lane), written
// once over the vector wrapper: the engine of the random-stream kernels
// (random-inl.h) and of every kernel that draws a stream inside its own loop
// (GradDrop's masks). Included inside an ISA namespace, like the -inl.h files
// that use it.
//
// Lane l of a group holds block base + lane_block[l] (CounterLanes), a
// permutation under which the two unpack stages of Interleave put consecutive
// blocks into consecutive vectors: the 4×kLanes transpose needs no cross-lane
// shuffle.

namespace random_detail {
constexpr int kGroup = 4 * kLanes;  // stream elements per group: kLanes blocks of 4 words

struct Words4 {
  I w0, w1, w2, w3;
};

// Philox rounds on G independent groups of kLanes blocks (x[g]: group g). Two
// groups in flight hide the multiply latency of the round's dependency chain.
template <int G>
inline void Philox(StreamId id, const uint64_t block[G], Words4 x[G]) {
  for (int g = 0; g < G; ++g) {
    I lo, hi;
    CounterLanes(block[g], &lo, &hi);
    x[g] = {lo, hi, SetI(id.sub), SetI(id.tag)};
  }
  const I m0 = SetI(kPhiloxMul0), m1 = SetI(kPhiloxMul1);
  uint32_t k0 = static_cast<uint32_t>(id.seed), k1 = static_cast<uint32_t>(id.seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const I key0 = SetI(k0), key1 = SetI(k1);
    for (int g = 0; g < G; ++g) {
      I h0, l0, h1, l1;
      MulHiLo(x[g].w0, m0, &h0, &l0);
      MulHiLo(x[g].w2, m1, &h1, &l1);
      x[g].w0 = Xor3(h1, x[g].w1, key0);
      x[g].w2 = Xor3(h0, x[g].w3, key1);
      x[g].w1 = l1;
      x[g].w3 = l0;
    }
    k0 += kPhiloxWeyl0;
    k1 += kPhiloxWeyl1;
  }
}

// Element j of block b sits in lane l(b) of v_j; writes the group's elements
// in stream order (see the lane permutation above).
inline void Interleave(const Words4& v, I out[4]) {
  const I t0 = UnpackLo32(v.w0, v.w1), t1 = UnpackHi32(v.w0, v.w1);
  const I t2 = UnpackLo32(v.w2, v.w3), t3 = UnpackHi32(v.w2, v.w3);
  out[0] = UnpackLo64(t0, t2);
  out[1] = UnpackHi64(t0, t2);
  out[2] = UnpackLo64(t1, t3);
  out[3] = UnpackHi64(t1, t3);
}

inline F ToUnit(I w) { return Mul(ToFloat(ShiftRight<8>(w)), Set1(0x1p-24f)); }  // (w >> 8)·2^-24, exact

// Fills out[0..n) with the elements of stream `id` that start at word `first`
// (< 4) of counter block `block`: whole groups go straight to `out`, two at a
// time; a group cut by either end goes through a local buffer. Every element
// comes from the same vector code whatever the start and n are, so any slice
// equals the same elements of a longer call. Taking a block rather than an
// element offset reaches every block of the 64-bit counter (GradDrop's masks sit
// at block step·2³² + ⌊u/4⌋, past a 64-bit element offset).
// make(words) -> Words4 of 32-bit results, element j of each block in .wj.
template <typename T, typename Make>
void FillFromBlock(StreamId id, uint64_t block, int first, int64_t n, T* out, Make make) {
  static_assert(sizeof(T) == 4, "32-bit elements");
  int64_t pos = -first;  // out index of the group's first element
  for (; pos < n; pos += kGroup, block += kGroup / 4) {
    if (pos >= 0 && pos + 2 * kGroup <= n) {
      const uint64_t blocks[2] = {block, block + kGroup / 4};
      Words4 x[2];
      Philox<2>(id, blocks, x);
      for (int g = 0; g < 2; ++g) {
        I v[4];
        Interleave(make(x[g]), v);
        for (int j = 0; j < 4; ++j) StoreI(out + pos + g * kGroup + kLanes * j, v[j]);
      }
      pos += kGroup;
      block += kGroup / 4;
      continue;
    }
    Words4 x;
    Philox<1>(id, &block, &x);
    I v[4];
    Interleave(make(x), v);
    if (pos >= 0 && pos + kGroup <= n) {
      for (int j = 0; j < 4; ++j) StoreI(out + pos + kLanes * j, v[j]);
    } else {
      alignas(64) T tmp[kGroup];
      for (int j = 0; j < 4; ++j) StoreI(tmp + kLanes * j, v[j]);
      const int64_t from = pos < 0 ? -pos : 0, to = n - pos < kGroup ? n - pos : kGroup;
      std::memcpy(out + pos + from, tmp + from, static_cast<size_t>(to - from) * sizeof(T));
    }
  }
}


// Fills out[0..n) with stream elements [offset, offset + n).
template <typename T, typename Make>
void Fill(StreamId id, uint64_t offset, int64_t n, T* out, Make make) {
  FillFromBlock(id, offset / 4, static_cast<int>(offset % 4), n, out, make);
}
}  // namespace random_detail
