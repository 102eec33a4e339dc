// Path attention on CUDA against the CPU, through the front end (Context on
// Device::kCuda, device float buffers, host int32 layout arrays). Exits 77
// (skipped) without a device.
//
// Gather, restore (with and without a fill row) and the removed-row sum against
// the CPU front end, bit for bit: copies, and a column sum in the same row order.
// Attention forward and backward against the double reference, head dims 1, 7,
// 16, 33, 64, 256 over one batch mixing paths of 0, 1, 2, 17, 50 and 300 tokens,
// with q, k, v as separate parts (qkv_stride 0) or one interleaved qkv buffer
// (qkv_stride 3·heads·head_dim, and that plus a gap of 5 floats that must stay
// untouched); dq, dk, dv laid out like the inputs. Outputs start as a NaN
// sentinel between guard regions, so a missed or stray write shows.
// Determinism: a second run, and a batch big enough to change the grid's split of
// the rows, give the same bits.
//
// Tolerances: out and lse within 1e-5 + 1e-5·|ref| (fp32 dot products of ≤ 256
// terms, expf within 2 ulp, online softmax over blocks of 32 keys); gradients
// within 5e-5 + 1e-4·|ref| (fp32 sums of ≤ 300 such products, D by a warp tree).
// The one-token path's out is its v exactly.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "check.h"
#include "device_buffer.h"
#include "frugal/path_attention.h"

using namespace frugal;
using frugal::test::CudaContext;
using frugal::test::DeviceBuffer;
using frugal::test::RandomVector;

namespace {

const int64_t kHeadDims[] = {1, 7, 16, 33, 64, 256};
// Every length named above in one batch, empty paths at both ends.
const std::vector<int32_t> kLengths = {0, 1, 2, 17, 50, 300, 0, 3};
constexpr size_t kOneTokenPath = 1;  // kLengths[1] = 1

std::vector<int32_t> PrefixSums(const std::vector<int32_t>& lengths) {
  std::vector<int32_t> o(lengths.size() + 1, 0);
  std::partial_sum(lengths.begin(), lengths.end(), o.begin() + 1);
  return o;
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// n device floats between guard regions, all of it (the body too) a NaN
// sentinel until written; Read() returns the body and fails the test when a
// guard changed.
class DeviceGuarded {
 public:
  static constexpr size_t kGuard = 64;
  explicit DeviceGuarded(size_t n) : n_(n), buf_(std::vector<float>(n + 2 * kGuard, Sentinel())) {}
  float* data() const { return buf_.get() + kGuard; }
  void Reset() { buf_.Upload(std::vector<float>(n_ + 2 * kGuard, Sentinel())); }
  std::vector<float> Read(const std::string& what) const {
    const std::vector<float> all = buf_.Download();
    bool intact = true;
    for (size_t i = 0; i < kGuard; ++i) intact = intact && IsSentinel(all[i]) && IsSentinel(all[kGuard + n_ + i]);
    FRUGAL_CHECK(intact) << what << ": a write outside the output";
    return std::vector<float>(all.begin() + kGuard, all.begin() + kGuard + n_);
  }

  static float Sentinel() {
    const uint32_t bits = kSentinelBits;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  static bool IsSentinel(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    return bits == kSentinelBits;
  }

 private:
  static constexpr uint32_t kSentinelBits = 0x7fbadbadu;  // a NaN payload no kernel produces
  size_t n_;
  DeviceBuffer<float> buf_;
};

// ---- attention problems ----------------------------------------------------------

// How q, k, v (and dq, dk, dv) lie in one buffer.
enum class Layout { kSeparate, kInterleaved, kPadded };
const Layout kLayouts[] = {Layout::kSeparate, Layout::kInterleaved, Layout::kPadded};
constexpr int64_t kGap = 5;  // floats after each interleaved row of kPadded

const char* LayoutName(Layout l) {
  return l == Layout::kSeparate ? "separate" : l == Layout::kInterleaved ? "qkv" : "qkv+gap";
}

struct Problem {
  Layout layout;
  int64_t heads, head_dim, width;
  int64_t row;         // floats between consecutive rows of q (of k, of v)
  int64_t part;        // floats from q to k and from k to v
  int64_t qkv_stride;  // as passed: 0 for separate parts
  std::vector<int32_t> offsets;
  std::vector<float> qkv, dout;
  int64_t total() const { return offsets.back(); }
  int64_t paths() const { return static_cast<int64_t>(offsets.size()) - 1; }
};

std::string Name(const Problem& p) {
  return "hd " + std::to_string(p.head_dim) + " heads " + std::to_string(p.heads) + " " + LayoutName(p.layout) +
         " paths " + std::to_string(p.paths());
}

Problem MakeProblem(int64_t heads, int64_t head_dim, Layout layout, const std::vector<int32_t>& lengths, uint32_t seed) {
  Problem p;
  p.layout = layout;
  p.heads = heads, p.head_dim = head_dim, p.width = heads * head_dim;
  p.offsets = PrefixSums(lengths);
  const int64_t total = p.total();
  const bool separate = layout == Layout::kSeparate;
  p.row = separate ? p.width : 3 * p.width + (layout == Layout::kPadded ? kGap : 0);
  p.part = separate ? total * p.width : p.width;
  p.qkv_stride = separate ? 0 : p.row;
  p.qkv = RandomVector(separate ? 3 * total * p.width : total * p.row, seed);
  // Scores of order a few units: scale 1/√hd on inputs of order 1.5.
  for (float& x : p.qkv) x *= 1.5f;
  if (layout == Layout::kPadded) {  // the gaps are never read
    for (int64_t r = 0; r < total; ++r) {
      for (int64_t c = 3 * p.width; c < p.row; ++c) p.qkv[r * p.row + c] = NAN;
    }
  }
  p.dout = RandomVector(total * p.width, seed + 1);
  return p;
}

PathAttentionParams Forward(const Problem& pr, const float* qkv, float* out, float* lse) {
  PathAttentionParams p;
  p.paths = pr.paths();
  p.heads = pr.heads;
  p.head_dim = pr.head_dim;
  p.offsets = pr.offsets.data();
  p.scale = 1.0f / std::sqrt(static_cast<float>(pr.head_dim));
  p.qkv_stride = pr.qkv_stride;
  p.q = qkv, p.k = qkv + pr.part, p.v = qkv + 2 * pr.part;
  p.out = out, p.lse = lse;
  return p;
}

// dq, dk, dv point into `grads`, laid out like qkv.
PathAttentionBackwardParams Backward(const Problem& pr, const float* qkv, const float* out, const float* lse,
                                     const float* dout, float* grads) {
  const PathAttentionParams f = Forward(pr, qkv, nullptr, nullptr);
  PathAttentionBackwardParams b;
  b.paths = f.paths, b.heads = f.heads, b.head_dim = f.head_dim, b.offsets = f.offsets;
  b.scale = f.scale, b.qkv_stride = f.qkv_stride;
  b.q = f.q, b.k = f.k, b.v = f.v, b.out = out, b.lse = lse, b.dout = dout;
  b.dq = grads, b.dk = grads + pr.part, b.dv = grads + 2 * pr.part;
  return b;
}

// The elements dq, dk, dv own in a buffer laid out like qkv, as [3][total][width].
std::vector<float> Owned(const Problem& pr, const std::vector<float>& buf) {
  std::vector<float> o;
  o.reserve(static_cast<size_t>(3 * pr.total() * pr.width));
  for (int64_t i = 0; i < 3; ++i) {
    for (int64_t r = 0; r < pr.total(); ++r) {
      for (int64_t c = 0; c < pr.width; ++c) o.push_back(buf[i * pr.part + r * pr.row + c]);
    }
  }
  return o;
}

// The gaps between interleaved rows still hold the sentinel.
bool GapsIntact(const Problem& pr, const std::vector<float>& buf) {
  for (int64_t r = 0; r < pr.total(); ++r) {
    for (int64_t c = 3 * pr.width; c < pr.row; ++c) {
      if (!DeviceGuarded::IsSentinel(buf[r * pr.row + c])) return false;
    }
  }
  return true;
}

// Forward and backward of one problem on the device; the backward from the
// reference's forward (want_out, want_lse), so that only the backward is compared.
struct DeviceRun {
  std::vector<float> out, lse, grads;  // grads laid out like qkv
};

DeviceRun RunOnDevice(const Problem& pr, const std::vector<float>& want_out, const std::vector<float>& want_lse) {
  const std::string what = Name(pr);
  const size_t rows = static_cast<size_t>(pr.total() * pr.width), stats = static_cast<size_t>(pr.total() * pr.heads);
  DeviceBuffer<float> qkv(pr.qkv), dout(pr.dout), saved_out(want_out), saved_lse(want_lse);
  DeviceGuarded out(rows), lse(stats), grads(pr.qkv.size());
  FRUGAL_CHECK_OK(PathAttention(CudaContext(), Forward(pr, qkv.get(), out.data(), lse.data())));
  FRUGAL_CHECK_OK(PathAttentionBackward(
      CudaContext(), Backward(pr, qkv.get(), saved_out.get(), saved_lse.get(), dout.get(), grads.data())));
  return {out.Read("out " + what), lse.Read("lse " + what), grads.Read("grads " + what)};
}

void Reference(const Problem& pr, std::vector<float>* out, std::vector<float>* lse, std::vector<float>* grads) {
  out->assign(static_cast<size_t>(pr.total() * pr.width), 0.0f);
  lse->assign(static_cast<size_t>(pr.total() * pr.heads), 0.0f);
  grads->assign(pr.qkv.size(), 0.0f);
  FRUGAL_CHECK_OK(PathAttentionReference(Forward(pr, pr.qkv.data(), out->data(), lse->data())));
  FRUGAL_CHECK_OK(PathAttentionBackwardReference(
      Backward(pr, pr.qkv.data(), out->data(), lse->data(), pr.dout.data(), grads->data())));
}

// ---- keep layouts for the row copies ----------------------------------------------

struct KeepLayout {
  std::string name;
  std::vector<int32_t> offsets, keep;
};

std::vector<KeepLayout> KeepLayouts() {
  std::vector<KeepLayout> layouts;
  for (double ratio : {0.0, 0.5, 0.8}) {  // 0: every token kept, nothing removed
    KeepLayout l{"ratio " + std::to_string(ratio), std::vector<int32_t>(kLengths.size() + 1), {}};
    PathKeepParams p;
    p.paths = static_cast<int64_t>(kLengths.size());
    p.lengths = kLengths.data();
    p.ratio = ratio;
    p.seed = 7;
    p.offsets = l.offsets.data();
    FRUGAL_CHECK_OK(PathKeep(p));
    l.keep.assign(static_cast<size_t>(l.offsets.back()), 0);
    p.keep = l.keep.data();
    FRUGAL_CHECK_OK(PathKeep(p));
    layouts.push_back(std::move(l));
  }
  // Nothing kept anywhere (valid for the copies): restore is all fill, the sum takes every row.
  layouts.push_back({"none kept", std::vector<int32_t>(kLengths.size() + 1, 0), {}});
  return layouts;
}

}  // namespace

FRUGAL_TEST(cuda_gather_restore_and_removed_sum_match_the_cpu_bit_for_bit) {
  const std::vector<int32_t> all = PrefixSums(kLengths);
  const int64_t paths = static_cast<int64_t>(kLengths.size()), tokens = all.back();
  for (const KeepLayout& l : KeepLayouts()) {
    const int64_t kept_rows = l.offsets.back();
    for (int64_t dim : {1, 7, 64, 257}) {
      const std::string what = l.name + " dim " + std::to_string(dim);
      const std::vector<float> x = RandomVector(tokens * dim, 1), fill = RandomVector(dim, 2);
      const std::vector<float> dfull = RandomVector(tokens * dim, 3);
      DeviceBuffer<float> d_x(x), d_fill(fill), d_dfull(dfull);

      std::vector<float> kept(kept_rows * dim);
      FRUGAL_CHECK_OK(PathGather(Context{}, {paths, dim, all.data(), l.offsets.data(), l.keep.data(), x.data(),
                                             kept.data()}));
      DeviceGuarded d_kept(kept.size());
      FRUGAL_CHECK_OK(PathGather(CudaContext(), {paths, dim, all.data(), l.offsets.data(), l.keep.data(), d_x.get(),
                                                 d_kept.data()}));
      FRUGAL_CHECK(SameBits(d_kept.Read("gather " + what), kept)) << "gather " << what;

      // Restore puts the gathered rows back (device input: the CPU's gather).
      DeviceBuffer<float> d_kept_in(kept);
      for (bool with_fill : {true, false}) {
        const std::string name = (with_fill ? "restore " : "restore without fill ") + what;
        std::vector<float> full(tokens * dim);
        FRUGAL_CHECK_OK(PathRestore(Context{}, {paths, dim, all.data(), l.offsets.data(), l.keep.data(), kept.data(),
                                                with_fill ? fill.data() : nullptr, full.data()}));
        DeviceGuarded d_full(full.size());
        FRUGAL_CHECK_OK(PathRestore(CudaContext(), {paths, dim, all.data(), l.offsets.data(), l.keep.data(),
                                                    d_kept_in.get(), with_fill ? d_fill.get() : nullptr,
                                                    d_full.data()}));
        FRUGAL_CHECK(SameBits(d_full.Read(name), full)) << name;
      }

      std::vector<float> dfill(dim);
      FRUGAL_CHECK_OK(PathRemovedSum(Context{}, {paths, dim, all.data(), l.offsets.data(), l.keep.data(), dfull.data(),
                                                 dfill.data()}));
      DeviceGuarded d_dfill(dfill.size());
      FRUGAL_CHECK_OK(PathRemovedSum(CudaContext(), {paths, dim, all.data(), l.offsets.data(), l.keep.data(),
                                                     d_dfull.get(), d_dfill.data()}));
      FRUGAL_CHECK(SameBits(d_dfill.Read("removed sum " + what), dfill)) << "removed sum " << what;
    }
  }
}

FRUGAL_TEST(cuda_attention_matches_the_double_reference) {
  for (int64_t hd : kHeadDims) {
    for (Layout layout : kLayouts) {
      const int64_t heads = hd >= 64 ? 2 : 3;
      const Problem pr = MakeProblem(heads, hd, layout, kLengths, static_cast<uint32_t>(hd * 3 + static_cast<int>(layout)));
      const std::string what = Name(pr);
      std::vector<float> want_out, want_lse, want_grads;
      Reference(pr, &want_out, &want_lse, &want_grads);
      const DeviceRun got = RunOnDevice(pr, want_out, want_lse);
      FRUGAL_EXPECT_CLOSE(got.out.data(), want_out.data(), want_out.size(), 1e-5, 1e-5, "out " + what);
      FRUGAL_EXPECT_CLOSE(got.lse.data(), want_lse.data(), want_lse.size(), 1e-5, 1e-5, "lse " + what);
      const std::vector<float> grads = Owned(pr, got.grads), want = Owned(pr, want_grads);
      FRUGAL_EXPECT_CLOSE(grads.data(), want.data(), want.size(), 5e-5, 1e-4, "dq, dk, dv " + what);
      FRUGAL_CHECK(GapsIntact(pr, got.grads)) << what << ": a write between interleaved rows";

      // A path of one token: out = v exactly.
      const int64_t first = pr.offsets[kOneTokenPath];
      bool equal = true;
      for (int64_t c = 0; c < pr.width; ++c) {
        equal = equal && got.out[first * pr.width + c] == pr.qkv[2 * pr.part + first * pr.row + c];
      }
      FRUGAL_CHECK(equal) << what << ": the one-token path's out is not its v";

      // Deterministic: a second run gives the same bits.
      const DeviceRun again = RunOnDevice(pr, want_out, want_lse);
      FRUGAL_CHECK(SameBits(again.out, got.out) && SameBits(again.lse, got.lse) && SameBits(again.grads, got.grads))
          << what << ": results differ between runs";
    }
  }
}

// The batch alone has 16 (path, head) pairs, whose row tiles are spread over
// many blocks; 64 copies of it fill the device with one block per pair. Every
// copy's rows must come out the same bits as the batch alone.
FRUGAL_TEST(cuda_attention_does_not_depend_on_the_grid_split) {
  constexpr int kCopies = 64;
  for (int64_t hd : {16, 64}) {
    const Problem one = MakeProblem(2, hd, Layout::kInterleaved, kLengths, static_cast<uint32_t>(hd));
    Problem many = one;
    std::vector<int32_t> lengths;
    many.qkv.clear(), many.dout.clear();
    std::vector<float> out, lse, grads, many_out, many_lse;
    Reference(one, &out, &lse, &grads);
    for (int i = 0; i < kCopies; ++i) {
      lengths.insert(lengths.end(), kLengths.begin(), kLengths.end());
      many.qkv.insert(many.qkv.end(), one.qkv.begin(), one.qkv.end());
      many.dout.insert(many.dout.end(), one.dout.begin(), one.dout.end());
      many_out.insert(many_out.end(), out.begin(), out.end());
      many_lse.insert(many_lse.end(), lse.begin(), lse.end());
    }
    many.offsets = PrefixSums(lengths);
    const DeviceRun alone = RunOnDevice(one, out, lse);
    const DeviceRun copies = RunOnDevice(many, many_out, many_lse);
    for (int i = 0; i < kCopies; ++i) {
      const auto copy = [i](const std::vector<float>& all, const std::vector<float>& part) {
        return std::vector<float>(all.begin() + i * part.size(), all.begin() + (i + 1) * part.size());
      };
      FRUGAL_CHECK(SameBits(copy(copies.out, alone.out), alone.out) && SameBits(copy(copies.lse, alone.lse), alone.lse) &&
                   SameBits(copy(copies.grads, alone.grads), alone.grads))
          << Name(many) << ": copy " << i << " differs from the batch alone";
    }
  }
}

int main() { return frugal::test::RunAllOnCuda(); }
