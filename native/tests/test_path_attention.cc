// Path attention: keep against an independent argsort of the stream, gather /
// restore / removed sum against plain loops, attention forward and backward at
// every ISA level against the double reference (awkward head dims and path
// lengths, interleaved qkv rows), thread-count independence (bitwise) and bad
// layouts. Tolerances: out and lse within 2e-6 + 2e-5·|ref| (float dot products
// of ≤ 256 terms, exp within 2 ulp); gradients within 2e-5 + 1e-4·|ref| (sums of
// ≤ 300 products of such terms); copies exact.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "check.h"
#include "frugal/context.h"
#include "frugal/path_attention.h"
#include "frugal/random.h"

using namespace frugal;
using test::ForEachIsa;

namespace {

const int64_t kHeadDims[] = {1, 7, 16, 33, 64, 256};
// Every length the issue names, in one batch, empty paths at both ends.
const std::vector<int32_t> kLengths = {0, 1, 2, 17, 50, 300, 0, 3};

std::vector<int32_t> PrefixSums(const std::vector<int32_t>& lengths) {
  std::vector<int32_t> o(lengths.size() + 1, 0);
  std::partial_sum(lengths.begin(), lengths.end(), o.begin() + 1);
  return o;
}

struct Problem {
  int64_t heads, head_dim, stride;
  std::vector<int32_t> offsets;
  std::vector<float> q, k, v, dout;  // q/k/v rows `stride` apart inside one buffer when interleaved
};

// q, k, v as separate buffers (stride = width) or one qkv buffer [total, 3, width].
Problem MakeProblem(int64_t heads, int64_t head_dim, bool interleaved, uint32_t seed) {
  Problem p{heads, head_dim, 0, PrefixSums(kLengths), {}, {}, {}, {}};
  const int64_t total = p.offsets.back(), width = heads * head_dim;
  p.stride = interleaved ? 3 * width : width;
  // Scores of order a few units: scale 1/√hd on inputs of order 1.5.
  auto scaled = [](std::vector<float> x) {
    for (float& e : x) e *= 1.5f;
    return x;
  };
  if (interleaved) {
    p.q = scaled(test::RandomVector(total * 3 * width, seed));
  } else {
    p.q = scaled(test::RandomVector(total * width, seed));
    p.k = scaled(test::RandomVector(total * width, seed + 1));
    p.v = test::RandomVector(total * width, seed + 2);
  }
  p.dout = test::RandomVector(total * width, seed + 3);
  return p;
}

const float* Q(const Problem& p) { return p.q.data(); }
const float* K(const Problem& p) { return p.k.empty() ? p.q.data() + p.heads * p.head_dim : p.k.data(); }
const float* V(const Problem& p) { return p.v.empty() ? p.q.data() + 2 * p.heads * p.head_dim : p.v.data(); }

PathAttentionParams Forward(const Problem& pr, float* out, float* lse) {
  PathAttentionParams p;
  p.paths = static_cast<int64_t>(pr.offsets.size()) - 1;
  p.heads = pr.heads;
  p.head_dim = pr.head_dim;
  p.offsets = pr.offsets.data();
  p.scale = 1.0f / std::sqrt(static_cast<float>(pr.head_dim));
  p.qkv_stride = pr.stride;
  p.q = Q(pr), p.k = K(pr), p.v = V(pr);
  p.out = out, p.lse = lse;
  return p;
}

// dq, dk, dv point into one buffer laid out like the inputs.
PathAttentionBackwardParams Backward(const Problem& pr, const float* out, const float* lse, float* grads) {
  const PathAttentionParams f = Forward(pr, nullptr, nullptr);
  PathAttentionBackwardParams b;
  b.paths = f.paths, b.heads = f.heads, b.head_dim = f.head_dim, b.offsets = f.offsets;
  b.scale = f.scale, b.qkv_stride = f.qkv_stride;
  b.q = f.q, b.k = f.k, b.v = f.v, b.out = out, b.lse = lse, b.dout = pr.dout.data();
  const int64_t width = pr.heads * pr.head_dim, total = pr.offsets.back();
  const bool interleaved = pr.k.empty();
  b.dq = grads;
  b.dk = interleaved ? grads + width : grads + total * width;
  b.dv = interleaved ? grads + 2 * width : grads + 2 * total * width;
  return b;
}

size_t GradFloats(const Problem& pr) { return static_cast<size_t>(3 * pr.offsets.back() * pr.heads * pr.head_dim); }

}  // namespace

FRUGAL_TEST(keep_is_the_stable_argsort_of_the_stream) {
  const std::vector<int32_t> lengths = {5, 1, 9, 0, 3, 50, 50, 1000};
  for (double ratio : {0.0, 0.5, 0.7, 0.8, 0.99}) {
    std::vector<int32_t> offsets(lengths.size() + 1), keep;
    PathKeepParams p;
    p.paths = static_cast<int64_t>(lengths.size());
    p.lengths = lengths.data();
    p.ratio = ratio;
    p.seed = 31;
    p.offsets = offsets.data();
    FRUGAL_CHECK_OK(PathKeep(p));  // offsets only
    keep.assign(static_cast<size_t>(offsets.back()), -1);
    p.keep = keep.data();
    ForEachIsa([&](Isa) {
      FRUGAL_CHECK_OK(PathKeep(p));
      for (size_t b = 0; b < lengths.size(); ++b) {
        const int32_t L = lengths[b];
        const int64_t want_k = L == 0 ? 0 : std::max<int64_t>(1, static_cast<int64_t>(std::floor(L * (1.0 - ratio))));
        FRUGAL_CHECK(offsets[b + 1] - offsets[b] == want_k) << "path " << b << " ratio " << ratio;
        std::vector<float> u(static_cast<size_t>(L));
        RandomUniformReference(StreamId{31, static_cast<uint32_t>(b), kTagPathKeep}, 0, L, u.data());
        std::vector<int32_t> order(static_cast<size_t>(L));
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t c) { return u[a] < u[c]; });
        for (int64_t j = 0; j < want_k; ++j) FRUGAL_CHECK(keep[offsets[b] + j] == order[j]) << "path " << b << " j " << j;
      }
    });
  }
  // LightPath's rule: int(50 · (1 − 0.8)) = 9 (the product is 9.999…).
  FRUGAL_CHECK(PathKeptCount(50, 0.8) == 9);
  FRUGAL_CHECK(PathKeptCount(1, 0.99) == 1);
  FRUGAL_CHECK(PathKeptCount(0, 0.5) == 0);
}

FRUGAL_TEST(gather_restore_and_removed_sum_match_plain_loops) {
  const std::vector<int32_t> lengths = {4, 0, 1, 7};
  const std::vector<int32_t> keep = {2, 0, 0, 6, 1, 3};
  const std::vector<int32_t> offsets = {0, 2, 2, 3, 6};
  const std::vector<int32_t> all = PrefixSums(lengths);
  const int64_t dim = 5, paths = 4, tokens = all.back(), kept_rows = offsets.back();
  const std::vector<float> x = test::RandomVector(tokens * dim, 1), fill = test::RandomVector(dim, 2);
  std::vector<float> kept(kept_rows * dim), full(tokens * dim), dfill(dim);
  PathGatherParams g{paths, dim, all.data(), offsets.data(), keep.data(), x.data(), kept.data()};
  FRUGAL_CHECK_OK(PathGather(Context{}, g));
  std::vector<bool> is_kept(tokens, false);
  for (int64_t b = 0; b < paths; ++b) {
    for (int32_t j = offsets[b]; j < offsets[b + 1]; ++j) {
      is_kept[all[b] + keep[j]] = true;
      for (int64_t c = 0; c < dim; ++c) FRUGAL_CHECK(kept[j * dim + c] == x[(all[b] + keep[j]) * dim + c]);
    }
  }
  for (const float* f : {fill.data(), static_cast<const float*>(nullptr)}) {
    PathRestoreParams r{paths, dim, all.data(), offsets.data(), keep.data(), kept.data(), f, full.data()};
    FRUGAL_CHECK_OK(PathRestore(Context{}, r));
    for (int64_t t = 0; t < tokens; ++t) {
      for (int64_t c = 0; c < dim; ++c) {
        const float want = is_kept[t] ? x[t * dim + c] : f ? f[c] : 0.0f;
        FRUGAL_CHECK(full[t * dim + c] == want) << "row " << t;
      }
    }
  }
  PathRemovedSumParams s{paths, dim, all.data(), offsets.data(), keep.data(), x.data(), dfill.data()};
  FRUGAL_CHECK_OK(PathRemovedSum(Context{}, s));
  for (int64_t c = 0; c < dim; ++c) {
    float want = 0.0f;
    for (int64_t t = 0; t < tokens; ++t) want += is_kept[t] ? 0.0f : x[t * dim + c];
    FRUGAL_CHECK(dfill[c] == want) << "column " << c;
  }
}

FRUGAL_TEST(attention_matches_the_double_reference_at_every_level) {
  for (int64_t hd : kHeadDims) {
    for (bool interleaved : {false, true}) {
      const int64_t heads = hd >= 64 ? 2 : 3;
      const Problem pr = MakeProblem(heads, hd, interleaved, static_cast<uint32_t>(hd));
      const int64_t total = pr.offsets.back(), rows = total * heads * hd;
      const std::string what = "hd " + std::to_string(hd) + (interleaved ? " qkv" : "");
      std::vector<float> wout(rows), wlse(total * heads), wgrad(GradFloats(pr));
      FRUGAL_CHECK_OK(PathAttentionReference(Forward(pr, wout.data(), wlse.data())));
      FRUGAL_CHECK_OK(PathAttentionBackwardReference(Backward(pr, wout.data(), wlse.data(), wgrad.data())));
      ForEachIsa([&](Isa) {
        test::Guarded out(rows), lse(total * heads), grad(GradFloats(pr));
        FRUGAL_CHECK_OK(PathAttention(Context{}, Forward(pr, out.data(), lse.data())));
        FRUGAL_CHECK_GUARDS(out);
        FRUGAL_CHECK_GUARDS(lse);
        FRUGAL_EXPECT_CLOSE(out.data(), wout.data(), rows, 2e-6, 2e-5, "out " + what);
        FRUGAL_EXPECT_CLOSE(lse.data(), wlse.data(), lse.size(), 2e-6, 2e-5, "lse " + what);
        // The backward from the reference's forward, so only the backward is compared.
        FRUGAL_CHECK_OK(PathAttentionBackward(Context{}, Backward(pr, wout.data(), wlse.data(), grad.data())));
        FRUGAL_CHECK_GUARDS(grad);
        FRUGAL_EXPECT_CLOSE(grad.data(), wgrad.data(), grad.size(), 2e-5, 1e-4, "grads " + what);
      });
    }
  }
}

FRUGAL_TEST(a_path_of_one_token_gives_out_equal_to_v) {
  const Problem pr = MakeProblem(2, 7, false, 5);
  const int64_t width = 14, first = pr.offsets[1];  // path 1 has length 1
  std::vector<float> out(pr.offsets.back() * width), lse(pr.offsets.back() * 2);
  ForEachIsa([&](Isa) {
    FRUGAL_CHECK_OK(PathAttention(Context{}, Forward(pr, out.data(), lse.data())));
    for (int64_t c = 0; c < width; ++c) FRUGAL_CHECK(out[first * width + c] == pr.v[first * width + c]);
  });
}

FRUGAL_TEST(attention_is_the_same_at_any_thread_count) {
  const Problem pr = MakeProblem(4, 16, true, 9);
  const int64_t total = pr.offsets.back(), rows = total * 64;
  const int saved = NumThreads();
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2, 3}) {
    FRUGAL_CHECK_OK(SetNumThreads(threads));
    std::vector<float> out(rows), lse(total * 4), grad(GradFloats(pr));
    FRUGAL_CHECK_OK(PathAttention(Context{}, Forward(pr, out.data(), lse.data())));
    FRUGAL_CHECK_OK(PathAttentionBackward(Context{}, Backward(pr, out.data(), lse.data(), grad.data())));
    out.insert(out.end(), grad.begin(), grad.end());
    results.push_back(out);
  }
  FRUGAL_CHECK_OK(SetNumThreads(saved));
  for (size_t i = 1; i < results.size(); ++i) FRUGAL_CHECK(results[i] == results[0]) << "threads run " << i;
}

FRUGAL_TEST(bad_layouts_are_refused_with_a_code) {
  const std::vector<int32_t> all = {0, 3, 5}, offsets = {0, 2, 3};
  std::vector<float> x(5 * 2), kept(3 * 2);
  auto gather = [&](std::vector<int32_t> keep, std::vector<int32_t> off) {
    PathGatherParams g{2, 2, all.data(), off.data(), keep.data(), x.data(), kept.data()};
    return PathGather(Context{}, g).code();
  };
  FRUGAL_CHECK(gather({0, 2, 1}, offsets) == Code::kOk);
  FRUGAL_CHECK(gather({0, 3, 1}, offsets) == Code::kRange);   // outside path 0
  FRUGAL_CHECK(gather({0, 0, 1}, offsets) == Code::kRange);   // twice
  FRUGAL_CHECK(gather({0, -1, 1}, offsets) == Code::kRange);
  FRUGAL_CHECK(gather({0, 1, 0}, {1, 2, 3}) == Code::kShape);  // offsets[0] != 0
  FRUGAL_CHECK(gather({0, 1, 0}, {0, 3, 2}) == Code::kShape);  // decreasing
  FRUGAL_CHECK(gather({0, 1, 2, 0}, {0, 4, 4}) == Code::kShape);  // keeps 4 of 3

  const Problem pr = MakeProblem(2, 7, false, 3);
  std::vector<float> out(pr.offsets.back() * 14), lse(pr.offsets.back() * 2);
  PathAttentionParams p = Forward(pr, out.data(), lse.data());
  p.head_dim = 257;
  FRUGAL_CHECK(PathAttention(Context{}, p).code() == Code::kShape);
  p = Forward(pr, out.data(), lse.data());
  p.qkv_stride = 13;
  FRUGAL_CHECK(PathAttention(Context{}, p).code() == Code::kShape);
  p = Forward(pr, out.data(), lse.data());
  p.scale = NAN;
  FRUGAL_CHECK(PathAttention(Context{}, p).code() == Code::kRange);
  p = Forward(pr, out.data(), lse.data());
  p.lse = nullptr;
  FRUGAL_CHECK(PathAttention(Context{}, p).code() == Code::kNative);
  PathKeepParams k;
  std::vector<int32_t> koff(2);
  const int32_t bad_length = -1;
  k.paths = 1, k.lengths = &bad_length, k.offsets = koff.data(), k.ratio = 0.5;
  FRUGAL_CHECK(PathKeep(k).code() == Code::kShape);
  const int32_t length = 4;
  k.lengths = &length, k.ratio = 1.0;
  FRUGAL_CHECK(PathKeep(k).code() == Code::kRange);
}

FRUGAL_TEST_MAIN
