// The k-means inner loops (see kmeans_kernels.h), written once over the vector
// wrapper and compiled per ISA by x86/kmeans_<isa>.cc. Tails run in masked
// vectors where masks are cheap (kCheapMasks), else scalar.

int32_t NearestCentroid(const float* g, int64_t K, float xnorm) {
  // Per lane: the smallest distance and its index (a strict < keeps the first);
  // then across lanes, the smallest, ties to the lowest index. Indices travel as
  // floats, exact below 2^24 centroids.
  const F vx = Set1(xnorm), inf = Set1(INFINITY);
  F best = inf, where = Zero();
  alignas(64) float iota[kLanes];
  for (int l = 0; l < kLanes; ++l) iota[l] = static_cast<float>(l);
  F j = Load(iota);
  const F step = Set1(static_cast<float>(kLanes));
  int64_t k = 0;
  for (; k + kLanes <= K; k += kLanes, j = Add(j, step)) {
    const F d = Max(Zero(), Add(vx, Load(g + k)));
    const Mask less = Less(d, best);
    best = Select(less, d, best);
    where = Select(less, j, where);
  }
  if (k < K) {
    const F d = Max(Zero(), Add(vx, LoadTailOr(g + k, TailMask(K - k), inf)));
    const Mask less = Less(d, best);
    best = Select(less, d, best);
    where = Select(less, j, where);
  }
  alignas(64) float b[kLanes], w[kLanes];
  Store(b, best);
  Store(w, where);
  int l0 = 0;
  for (int l = 1; l < kLanes; ++l) {
    if (b[l] < b[l0] || (b[l] == b[l0] && w[l] < w[l0])) l0 = l;
  }
  return static_cast<int32_t>(w[l0]);
}

double SquaredDistance(const float* x, const float* y, int64_t n) {
  D lo = ZeroD(), hi = ZeroD();
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    const F d = Sub(Load(x + k), Load(y + k));
    const F s = Mul(d, d);
    lo = AddD(lo, ToDoubleLo(s));
    hi = AddD(hi, ToDoubleHi(s));
  }
  if (kCheapMasks) {
    if (k < n) {
      const Mask m = TailMask(n - k);
      const F d = Sub(LoadTail(x + k, m), LoadTail(y + k, m));
      const F s = Mul(d, d);
      lo = AddD(lo, ToDoubleLo(s));
      hi = AddD(hi, ToDoubleHi(s));
    }
    return ReduceAddD(AddD(lo, hi));
  }
  double sum = ReduceAddD(AddD(lo, hi));
  for (; k < n; ++k) {
    const float d = x[k] - y[k];
    sum += static_cast<double>(d * d);
  }
  return sum;
}

void AccumulateRow(const float* x, int64_t n, double* acc) {
  constexpr int64_t H = kLanes / 2;  // doubles per D
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    const F v = Load(x + k);
    StoreD(acc + k, AddD(LoadD(acc + k), ToDoubleLo(v)));
    StoreD(acc + k + H, AddD(LoadD(acc + k + H), ToDoubleHi(v)));
  }
  // Each element is its own sum: the scalar tail gives what a vector lane would.
  for (; k < n; ++k) acc[k] += static_cast<double>(x[k]);
}
