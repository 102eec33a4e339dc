// EGE-UNet's Hadamard-product attention modules (Ruan et al., MICCAI 2023), each
// one native call over the feature-map ops (frugal/feature_map.h) that keeps its
// intermediates in one `saved` buffer and its scratch to itself: the fused form of
// what PyTorch runs as a few dozen small ops.
//
// GHPA(C → O), c = C/4, x [B, C, H, W]:
//   n = LN₁(x); four channel groups of n (torch.chunk order):
//     u₁ = n₁ ⊙ Mxy,  Mxy = pw(GELU(dw3×3(resize(params_xy → H×W))))         [c, H, W]
//     u₂ = n₂ ⊙ Mzx,  Mzx = pw1d(GELU(dw1d(resize(params_zx → c×H))))         [c, H] (over W)
//     u₃ = n₃ ⊙ Mzy,  Mzy = pw1d(GELU(dw1d(resize(params_zy → c×W))))         [c, W] (over H)
//     u₄ = dw3×3(GELU(pw(n₄)))
//   y = pw(GELU(dw3×3(LN₂(u))))                                               [B, O, H, W]
// The maps depend on the parameters and (H, W) only: GhpaMaps computes them once
// for inference, and a forward given maps skips them.
//
// GAB(Ch, Cl), g = Cl/4: xh [B, Ch, h, w], xl [B, Cl, H, W], mask [B, 1, H, W]:
//   r = resize(pw(xh) → H×W); z_k = [r_k, xl_k, mask] (g + g + 1 channels, k = 0…3);
//   o_k = dw3×3 dilation d_k (1, 2, 5, 7; padding d_k)(LN_k(z_k));
//   y = pw(LN_t([o₀ … o₃]))                                                   [B, Cl, H, W]
//
// Every LayerNorm here is over channels with ε 1e-6; GELU is the exact erf form.
// Parameters and gradients are named and shaped as PyTorch's state_dict (the
// X-macros below: the one list, which the addon hands to TypeScript as layouts). Gradients are overwritten, never accumulated.
// The results are the same at any thread count (each op's rule).
#pragma once
#include <cstdint>
#include <vector>

#include "frugal/context.h"
#include "frugal/status.h"

namespace frugal {

// X(field, "state_dict key", (PyTorch shape)): the one list of each module's
// tensors, in the order of their flat buffer. The shapes are in terms of C, O
// and c = C/4 (GHPA), or Ch, Cl, gc = Cl/2 + 1 and G = 4·gc (GAB).
#define FRUGAL_GHPA_TENSORS(X)                                                                  \
  X(params_xy, "params_xy", (1, c, 8, 8)) X(params_zx, "params_zx", (1, 1, c, 8))               \
  X(params_zy, "params_zy", (1, 1, c, 8)) X(conv_xy0_w, "conv_xy.0.weight", (c, 1, 3, 3))       \
  X(conv_xy0_b, "conv_xy.0.bias", (c)) X(conv_xy2_w, "conv_xy.2.weight", (c, c, 1, 1))          \
  X(conv_xy2_b, "conv_xy.2.bias", (c)) X(conv_zx0_w, "conv_zx.0.weight", (c, 1, 3))             \
  X(conv_zx0_b, "conv_zx.0.bias", (c)) X(conv_zx2_w, "conv_zx.2.weight", (c, c, 1))             \
  X(conv_zx2_b, "conv_zx.2.bias", (c)) X(conv_zy0_w, "conv_zy.0.weight", (c, 1, 3))             \
  X(conv_zy0_b, "conv_zy.0.bias", (c)) X(conv_zy2_w, "conv_zy.2.weight", (c, c, 1))             \
  X(conv_zy2_b, "conv_zy.2.bias", (c)) X(dw0_w, "dw.0.weight", (c, c, 1, 1))                    \
  X(dw0_b, "dw.0.bias", (c)) X(dw2_w, "dw.2.weight", (c, 1, 3, 3)) X(dw2_b, "dw.2.bias", (c))   \
  X(norm1_w, "norm1.weight", (C)) X(norm1_b, "norm1.bias", (C)) X(norm2_w, "norm2.weight", (C)) \
  X(norm2_b, "norm2.bias", (C)) X(ldw0_w, "ldw.0.weight", (C, 1, 3, 3))                         \
  X(ldw0_b, "ldw.0.bias", (C)) X(ldw2_w, "ldw.2.weight", (O, C, 1, 1)) X(ldw2_b, "ldw.2.bias", (O))

#define FRUGAL_GAB_TENSORS(X)                                                                   \
  X(pre_w, "pre_project.weight", (Cl, Ch, 1, 1)) X(pre_b, "pre_project.bias", (Cl))             \
  X(g0_norm_w, "g.0.0.weight", (gc)) X(g0_norm_b, "g.0.0.bias", (gc))                           \
  X(g0_conv_w, "g.0.1.weight", (gc, 1, 3, 3)) X(g0_conv_b, "g.0.1.bias", (gc))                  \
  X(g1_norm_w, "g.1.0.weight", (gc)) X(g1_norm_b, "g.1.0.bias", (gc))                           \
  X(g1_conv_w, "g.1.1.weight", (gc, 1, 3, 3)) X(g1_conv_b, "g.1.1.bias", (gc))                  \
  X(g2_norm_w, "g.2.0.weight", (gc)) X(g2_norm_b, "g.2.0.bias", (gc))                           \
  X(g2_conv_w, "g.2.1.weight", (gc, 1, 3, 3)) X(g2_conv_b, "g.2.1.bias", (gc))                  \
  X(g3_norm_w, "g.3.0.weight", (gc)) X(g3_norm_b, "g.3.0.bias", (gc))                           \
  X(g3_conv_w, "g.3.1.weight", (gc, 1, 3, 3)) X(g3_conv_b, "g.3.1.bias", (gc))                  \
  X(tail_norm_w, "tail_conv.0.weight", (G)) X(tail_norm_b, "tail_conv.0.bias", (G))             \
  X(tail_w, "tail_conv.1.weight", (Cl, G, 1, 1)) X(tail_b, "tail_conv.1.bias", (Cl))

#define FRUGAL_HADAMARD_IN(field, key, shape) const float* field = nullptr;
#define FRUGAL_HADAMARD_OUT(field, key, shape) float* field = nullptr;
struct GhpaWeights { FRUGAL_GHPA_TENSORS(FRUGAL_HADAMARD_IN) };
struct GhpaGrads { FRUGAL_GHPA_TENSORS(FRUGAL_HADAMARD_OUT) };
struct GabWeights { FRUGAL_GAB_TENSORS(FRUGAL_HADAMARD_IN) };
struct GabGrads { FRUGAL_GAB_TENSORS(FRUGAL_HADAMARD_OUT) };
#undef FRUGAL_HADAMARD_IN
#undef FRUGAL_HADAMARD_OUT

// One tensor of a module's flat parameter buffer.
struct ModuleTensor {
  const char* key;  // the state_dict key
  int rank;
  int64_t dims[4];
  int64_t offset, size;  // in floats, within the flat buffer
};
// The tensors of GHPA(C → O) / GAB(Ch, Cl), in buffer order (empty when the
// channels are not positive multiples of 4), and the views of a flat buffer.
std::vector<ModuleTensor> GhpaLayout(int64_t C, int64_t O);
std::vector<ModuleTensor> GabLayout(int64_t Ch, int64_t Cl);
GhpaWeights GhpaWeightsAt(const float* flat, int64_t C, int64_t O);
GhpaGrads GhpaGradsAt(float* flat, int64_t C, int64_t O);
GabWeights GabWeightsAt(const float* flat, int64_t Ch, int64_t Cl);
GabGrads GabGradsAt(float* flat, int64_t Ch, int64_t Cl);

// The parameter maps' fixed size (EGE-UNet's x = y = 8).
constexpr int64_t kGhpaMapSize = 8;
// GAB's dilations, one per group.
constexpr int64_t kGabDilations[4] = {1, 2, 5, 7};

struct GhpaShape {
  int64_t B = 0, C = 0, O = 0, H = 0, W = 0;  // C % 4 == 0
};
// Floats of each buffer: the three maps (xy [c,H,W], then zx [c,H], then zy [c,W]),
// the forward's saved intermediates.
int64_t GhpaMapsFloats(const GhpaShape& s);
int64_t GhpaSavedFloats(const GhpaShape& s);

struct GhpaMapsParams {
  GhpaShape shape;  // B and O unused
  GhpaWeights w;
  float* maps = nullptr;  // [GhpaMapsFloats]
};

struct GhpaParams {
  GhpaShape shape;
  GhpaWeights w;
  const float* x = nullptr;     // [B, C, H, W]
  const float* maps = nullptr;  // precomputed (inference) or null: computed here
  float* y = nullptr;           // [B, O, H, W]
  float* saved = nullptr;       // [GhpaSavedFloats] for the backward, or null (inference)
};

struct GhpaBackwardParams {
  GhpaShape shape;
  GhpaWeights w;
  const float* x = nullptr;
  const float* saved = nullptr;  // a training forward's (maps computed there)
  const float* dy = nullptr;     // [B, O, H, W]
  float* dx = nullptr;           // [B, C, H, W]
  GhpaGrads grads;               // every one required
};

struct GabShape {
  int64_t B = 0, Ch = 0, Cl = 0, h = 0, w = 0, H = 0, W = 0;  // Cl % 4 == 0
};
int64_t GabSavedFloats(const GabShape& s);

struct GabParams {
  GabShape shape;
  GabWeights w;
  const float* xh = nullptr;    // [B, Ch, h, w]
  const float* xl = nullptr;    // [B, Cl, H, W]
  const float* mask = nullptr;  // [B, 1, H, W]
  float* y = nullptr;           // [B, Cl, H, W]
  float* saved = nullptr;       // [GabSavedFloats] or null (inference)
};

struct GabBackwardParams {
  GabShape shape;
  GabWeights w;
  const float* xh = nullptr;
  const float* saved = nullptr;
  const float* dy = nullptr;
  float* dxh = nullptr;
  float* dxl = nullptr;
  float* dmask = nullptr;
  GabGrads grads;
};

Status GhpaMaps(const Context& ctx, const GhpaMapsParams& p);
Status Ghpa(const Context& ctx, const GhpaParams& p);
Status GhpaBackward(const Context& ctx, const GhpaBackwardParams& p);
Status Gab(const Context& ctx, const GabParams& p);
Status GabBackward(const Context& ctx, const GabBackwardParams& p);

}  // namespace frugal
