// GHPA and GAB on CUDA against the same modules on the CPU: the module code is
// one sequence of feature-map ops for both devices, so this checks the CUDA ops as
// they are composed (channel-slice views, the module scratch, CopyMap). Forward
// (training, inference without maps, inference with GhpaMaps) and backward at
// awkward sizes; a second CUDA run must give the same bits. Exits 77 (skipped)
// without a device.
//
// Tolerances: y, maps and dx within 1e-4 + 1e-4·|cpu|; parameter gradients, sums
// over B·H·W pixels, within 1e-4·max|cpu| + 1e-3·|cpu| (two fp32 summation orders).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "check.h"
#include "device_buffer.h"
#include "frugal/hadamard.h"

using namespace frugal;
using frugal::test::CudaContext;
using frugal::test::DeviceBuffer;
using frugal::test::RandomVector;

namespace {

size_t Floats(const std::vector<ModuleTensor>& layout) {
  return static_cast<size_t>(layout.back().offset + layout.back().size);
}

// Parameters near PyTorch's scale: LayerNorm weights and the maps around 1.
std::vector<float> Params(const std::vector<ModuleTensor>& layout, uint32_t seed) {
  std::vector<float> p = RandomVector(Floats(layout), seed);
  for (const ModuleTensor& t : layout) {
    const bool norm_weight = t.rank == 1 && std::strstr(t.key, ".weight") != nullptr;  // conv weights have rank ≥ 3
    if (!norm_weight && std::strncmp(t.key, "params_", 7) != 0) continue;
    for (int64_t i = 0; i < t.size; ++i) p[t.offset + i] = 1.0f + 0.2f * p[t.offset + i];
  }
  return p;
}

double MaxAbs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, static_cast<double>(std::fabs(x)));
  return m;
}

void CheckGrads(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  FRUGAL_EXPECT_CLOSE(got.data(), want.data(), want.size(), 1e-4 * MaxAbs(want) + 1e-6, 1e-3, what);
}

struct GhpaCase {
  int64_t B, C, O, H, W;
};

void RunGhpa(const GhpaCase& c) {
  const GhpaShape s{c.B, c.C, c.O, c.H, c.W};
  const auto layout = GhpaLayout(c.C, c.O);
  const std::vector<float> params = Params(layout, 11), x = RandomVector(c.B * c.C * c.H * c.W, 12);
  const std::vector<float> dy = RandomVector(c.B * c.O * c.H * c.W, 13);
  const size_t ny = dy.size(), nsaved = GhpaSavedFloats(s), nmaps = GhpaMapsFloats(s);

  // CPU.
  std::vector<float> y(ny), saved(nsaved), maps(nmaps), dx(x.size()), dparams(params.size());
  GhpaParams f;
  f.shape = s, f.w = GhpaWeightsAt(params.data(), c.C, c.O), f.x = x.data(), f.y = y.data(), f.saved = saved.data();
  FRUGAL_CHECK_OK(Ghpa(Context{}, f));
  GhpaMapsParams m;
  m.shape = s, m.w = f.w, m.maps = maps.data();
  FRUGAL_CHECK_OK(GhpaMaps(Context{}, m));
  GhpaBackwardParams b;
  b.shape = s, b.w = f.w, b.x = x.data(), b.saved = saved.data(), b.dy = dy.data(), b.dx = dx.data();
  b.grads = GhpaGradsAt(dparams.data(), c.C, c.O);
  FRUGAL_CHECK_OK(GhpaBackward(Context{}, b));

  // CUDA, twice.
  const Context gpu = CudaContext();
  DeviceBuffer<float> d_params(params), d_x(x), d_dy(dy), d_y(ny), d_saved(nsaved), d_maps(nmaps), d_dx(x.size()),
      d_dparams(params.size()), d_infer(ny);
  std::vector<float> first_dx, first_dparams;
  for (int run = 0; run < 2; ++run) {
    GhpaParams g = f;
    g.w = GhpaWeightsAt(d_params.get(), c.C, c.O), g.x = d_x.get(), g.y = d_y.get(), g.saved = d_saved.get();
    FRUGAL_CHECK_OK(Ghpa(gpu, g));
    GhpaMapsParams gm = m;
    gm.w = g.w, gm.maps = d_maps.get();
    FRUGAL_CHECK_OK(GhpaMaps(gpu, gm));
    GhpaBackwardParams gb = b;
    gb.w = g.w, gb.x = d_x.get(), gb.saved = d_saved.get(), gb.dy = d_dy.get(), gb.dx = d_dx.get();
    gb.grads = GhpaGradsAt(d_dparams.get(), c.C, c.O);
    FRUGAL_CHECK_OK(GhpaBackward(gpu, gb));
    const std::vector<float> got_dx = d_dx.Download(), got_dparams = d_dparams.Download();
    if (run == 0) {
      FRUGAL_EXPECT_CLOSE(d_y.Download().data(), y.data(), ny, 1e-4, 1e-4, "ghpa y");
      FRUGAL_EXPECT_CLOSE(d_maps.Download().data(), maps.data(), nmaps, 1e-4, 1e-4, "ghpa maps");
      FRUGAL_EXPECT_CLOSE(got_dx.data(), dx.data(), dx.size(), 1e-4, 1e-4, "ghpa dx");
      CheckGrads(got_dparams, dparams, "ghpa dparams");
      first_dx = got_dx, first_dparams = got_dparams;
    } else {
      FRUGAL_CHECK(got_dx == first_dx && got_dparams == first_dparams) << "ghpa backward: a second CUDA run differs";
    }
  }
  // Inference: without maps, and with the CUDA maps.
  GhpaParams infer = f;
  infer.w = GhpaWeightsAt(d_params.get(), c.C, c.O), infer.x = d_x.get(), infer.y = d_infer.get(), infer.saved = nullptr;
  FRUGAL_CHECK_OK(Ghpa(gpu, infer));
  FRUGAL_EXPECT_CLOSE(d_infer.Download().data(), y.data(), ny, 1e-4, 1e-4, "ghpa inference");
  infer.maps = d_maps.get();
  FRUGAL_CHECK_OK(Ghpa(gpu, infer));
  FRUGAL_EXPECT_CLOSE(d_infer.Download().data(), y.data(), ny, 1e-4, 1e-4, "ghpa inference with maps");
}

FRUGAL_TEST(ghpa_cuda_matches_cpu) {
  for (const GhpaCase& c : {GhpaCase{2, 8, 12, 7, 9}, GhpaCase{1, 4, 4, 1, 5}, GhpaCase{3, 16, 8, 33, 2}, GhpaCase{8, 32, 48, 32, 32}}) {
    RunGhpa(c);
  }
}

struct GabCase {
  int64_t B, Ch, Cl, h, w, H, W;
};

void RunGab(const GabCase& c) {
  const GabShape s{c.B, c.Ch, c.Cl, c.h, c.w, c.H, c.W};
  const auto layout = GabLayout(c.Ch, c.Cl);
  const std::vector<float> params = Params(layout, 21), xh = RandomVector(c.B * c.Ch * c.h * c.w, 22);
  const std::vector<float> xl = RandomVector(c.B * c.Cl * c.H * c.W, 23), mask = RandomVector(c.B * c.H * c.W, 24);
  const std::vector<float> dy = RandomVector(xl.size(), 25);
  const size_t nsaved = GabSavedFloats(s);
  std::vector<float> y(xl.size()), saved(nsaved), dxh(xh.size()), dxl(xl.size()), dmask(mask.size()), dparams(params.size());
  GabParams f;
  f.shape = s, f.w = GabWeightsAt(params.data(), c.Ch, c.Cl), f.xh = xh.data(), f.xl = xl.data(), f.mask = mask.data();
  f.y = y.data(), f.saved = saved.data();
  FRUGAL_CHECK_OK(Gab(Context{}, f));
  GabBackwardParams b;
  b.shape = s, b.w = f.w, b.xh = xh.data(), b.saved = saved.data(), b.dy = dy.data(), b.dxh = dxh.data();
  b.dxl = dxl.data(), b.dmask = dmask.data(), b.grads = GabGradsAt(dparams.data(), c.Ch, c.Cl);
  FRUGAL_CHECK_OK(GabBackward(Context{}, b));

  const Context gpu = CudaContext();
  DeviceBuffer<float> d_params(params), d_xh(xh), d_xl(xl), d_mask(mask), d_dy(dy), d_y(y.size()), d_saved(nsaved),
      d_dxh(xh.size()), d_dxl(xl.size()), d_dmask(mask.size()), d_dparams(params.size());
  GabParams g = f;
  g.w = GabWeightsAt(d_params.get(), c.Ch, c.Cl), g.xh = d_xh.get(), g.xl = d_xl.get(), g.mask = d_mask.get();
  g.y = d_y.get(), g.saved = d_saved.get();
  FRUGAL_CHECK_OK(Gab(gpu, g));
  FRUGAL_EXPECT_CLOSE(d_y.Download().data(), y.data(), y.size(), 1e-4, 1e-4, "gab y");
  GabBackwardParams gb = b;
  gb.w = g.w, gb.xh = d_xh.get(), gb.saved = d_saved.get(), gb.dy = d_dy.get(), gb.dxh = d_dxh.get();
  gb.dxl = d_dxl.get(), gb.dmask = d_dmask.get(), gb.grads = GabGradsAt(d_dparams.get(), c.Ch, c.Cl);
  FRUGAL_CHECK_OK(GabBackward(gpu, gb));
  FRUGAL_EXPECT_CLOSE(d_dxh.Download().data(), dxh.data(), dxh.size(), 1e-4, 1e-4, "gab dxh");
  FRUGAL_EXPECT_CLOSE(d_dxl.Download().data(), dxl.data(), dxl.size(), 1e-4, 1e-4, "gab dxl");
  FRUGAL_EXPECT_CLOSE(d_dmask.Download().data(), dmask.data(), dmask.size(), 1e-4, 1e-4, "gab dmask");
  CheckGrads(d_dparams.Download(), dparams, "gab dparams");
  g.saved = nullptr;
  FRUGAL_CHECK_OK(Gab(gpu, g));
  FRUGAL_EXPECT_CLOSE(d_y.Download().data(), y.data(), y.size(), 1e-4, 1e-4, "gab inference");
}

FRUGAL_TEST(gab_cuda_matches_cpu) {
  for (const GabCase& c : {GabCase{2, 16, 8, 4, 5, 8, 9}, GabCase{1, 8, 4, 3, 3, 6, 6}, GabCase{2, 12, 8, 1, 2, 17, 3},
                           GabCase{8, 48, 32, 16, 16, 32, 32}}) {
    RunGab(c);
  }
}

}  // namespace

int main() { return frugal::test::RunAllOnCuda(); }
