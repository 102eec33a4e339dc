// Bilinear resize (align_corners) over the vector wrapper, compiled per ISA by
// x86/feature_map_<isa>.cc.
//
// The column taps are arbitrary indices (a gather per vector of outputs) while
// the row taps blend whole rows (plain vectors), so both directions do the
// column step once per input row rather than once per output row (half the
// gathers at ×2 upsampling): the forward samples each input row it needs along
// the columns, keeping the last two, and blends pairs of those rows per output
// row; the backward first sums, per input row, the dy rows that tap it, then
// scatters that sum along the columns. Both visit rows and columns in a fixed
// order, so the bits do not depend on the thread count.

// Input row x sampled at the column taps into h, whole vectors (the taps are
// padded past out_w with column 0).
inline void SampleColumns(const ResizeAxis& cols, int64_t out_w, const float* x, float* h) {
  const F one = Set1(1.0f);
  for (int64_t j = 0; j < out_w; j += kLanes) {
    const I c0 = LoadI(cols.index + j);
    const I c1 = AddI(c0, LoadI(cols.step + j));
    const F lx = Load(cols.lambda + j);
    Store(h + j, MulAdd(lx, Gather(x, c1), Mul(Sub(one, lx), Gather(x, c0))));
  }
}

void ResizeKernel(const ResizePlane& r, const float* x, float* y, float* scratch) {
  // Two sampled rows, by the parity of their input row: an output row's taps
  // t and t + 1 never evict each other.
  float* sampled[2] = {scratch, scratch + ResizeRowFloats(r.out_w)};
  int64_t held[2] = {-1, -1};
  const auto row = [&](int64_t t) {
    float* h = sampled[t & 1];
    if (held[t & 1] != t) {
      SampleColumns(r.cols, r.out_w, x + t * r.in_w, h);
      held[t & 1] = t;
    }
    return h;
  };
  for (int64_t i = 0; i < r.out_h; ++i) {
    const int64_t t = r.rows.index[i];
    const float* a = row(t);
    const float* b = row(t + r.rows.step[i]);
    const F wa = Set1(1.0f - r.rows.lambda[i]), wb = Set1(r.rows.lambda[i]);
    float* yr = y + i * r.out_w;
    ForVectors(r.out_w, [&](int64_t s, Mask m, bool full) {
      StoreAny(yr + s, m, full, MulAdd(wb, Load(b + s), Mul(wa, Load(a + s))));
    });
  }
}

void ResizeBackwardKernel(const ResizePlane& r, const float* dy, float* dx, float* scratch) {
  float* sum = scratch;  // the dy rows tapping one input row, weighted
  int64_t first = 0;     // the first output row whose taps reach the current input row
  for (int64_t t = 0; t < r.in_h; ++t) {
    // The rows tapping t are contiguous: both taps are non-decreasing in i.
    while (first < r.out_h && r.rows.index[first] + r.rows.step[first] < t) ++first;
    bool any = false;
    for (int64_t i = first; i < r.out_h && r.rows.index[i] <= t; ++i) {
      const float ly = r.rows.lambda[i];
      const float w = (r.rows.index[i] == t ? 1.0f - ly : 0.0f) + (r.rows.index[i] + r.rows.step[i] == t ? ly : 0.0f);
      const F wv = Set1(w);
      const float* d = dy + i * r.out_w;
      ForVectors(r.out_w, [&](int64_t s, Mask m, bool full) {
        const F v = LoadAny(d + s, m, full);
        Store(sum + s, any ? MulAdd(wv, v, Load(sum + s)) : Mul(wv, v));
      });
      any = true;
    }
    float* dxr = dx + t * r.in_w;
    std::fill(dxr, dxr + r.in_w, 0.0f);
    if (!any) continue;
    for (int64_t j = 0; j < r.out_w; ++j) {
      const int32_t c = r.cols.index[j];
      const float lx = r.cols.lambda[j];
      dxr[c] += (1.0f - lx) * sum[j];
      dxr[c + r.cols.step[j]] += lx * sum[j];
    }
  }
}
