// The MLP Fusion gate (see mlp_fusion_kernels.h), written once over the vector
// wrapper and compiled per ISA by x86/mlp_fusion_<isa>.cc.

namespace mlp_fusion_detail {

// h and dpre of one vector of units.
inline void Gate(F pre, F dh, F n, Activation act, F* h, F* dpre) {
  if (act == Activation::kRelu) {
    const Mask on = Greater(pre, Zero());
    *h = Mul(KeepLanes(on, pre), n);
    *dpre = KeepLanes(on, Mul(dh, n));
    return;
  }
  *h = Mul(Gelu(pre), n);
  *dpre = Mul(Mul(dh, n), GeluGrad(pre));
}

}  // namespace mlp_fusion_detail

void GateBackwardRow(int64_t K, const float* pre, const float* dh, const float* counts, Activation act, float* h,
                     float* dpre) {
  const F one = Set1(1.0f);
  F vh, vd;
  int64_t k = 0;
  for (; k + kLanes <= K; k += kLanes) {
    mlp_fusion_detail::Gate(Load(pre + k), Load(dh + k), counts ? Load(counts + k) : one, act, &vh, &vd);
    Store(h + k, vh);
    Store(dpre + k, vd);
  }
  if (k < K) {
    const Mask m = TailMask(K - k);
    mlp_fusion_detail::Gate(LoadTail(pre + k, m), LoadTail(dh + k, m), counts ? LoadTail(counts + k, m) : one, act, &vh,
                            &vd);
    StoreTail(h + k, m, vh);
    StoreTail(dpre + k, m, vd);
  }
}
