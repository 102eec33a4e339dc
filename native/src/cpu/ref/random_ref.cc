// Scalar Philox4x32-10 and random streams v1: the oracle every fast path and
// the CUDA backend are tested against. Normals are computed in double and
// rounded once, so they sit within half an ulp of the exact Box–Muller value.
#include <cmath>
#include <cstdint>

#include "cpu/primitives/streams.h"
#include "frugal/random.h"

namespace frugal {
namespace {

// The four words of the block holding stream element 4·block.
void Block(StreamId id, uint64_t block, uint32_t out[4]) {
  const uint32_t counter[4] = {static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), id.sub, id.tag};
  const uint32_t key[2] = {static_cast<uint32_t>(id.seed), static_cast<uint32_t>(id.seed >> 32)};
  Philox4x32(counter, key, out);
}

// Calls fn(i, word, block_words) for out index i in [0, n), where `word` is the
// element's word index within its block (0..3).
template <typename Fn>
void ForEachElement(StreamId id, uint64_t offset, int64_t n, Fn fn) {
  uint32_t w[4];
  uint64_t have = ~uint64_t{0};
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t e = offset + static_cast<uint64_t>(i);
    if (e / 4 != have) {
      have = e / 4;
      Block(id, have, w);
    }
    fn(i, static_cast<int>(e % 4), w);
  }
}

}  // namespace

void Philox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t x0 = counter[0], x1 = counter[1], x2 = counter[2], x3 = counter[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t{kPhiloxMul0} * x0, p1 = uint64_t{kPhiloxMul1} * x2;
    const uint32_t y0 = static_cast<uint32_t>(p1 >> 32) ^ x1 ^ k0;
    const uint32_t y2 = static_cast<uint32_t>(p0 >> 32) ^ x3 ^ k1;
    x0 = y0;
    x1 = static_cast<uint32_t>(p1);
    x2 = y2;
    x3 = static_cast<uint32_t>(p0);
    k0 += kPhiloxWeyl0;
    k1 += kPhiloxWeyl1;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
}

void RandomWordsReference(StreamId id, uint64_t offset, int64_t n, uint32_t* out) {
  ForEachElement(id, offset, n, [&](int64_t i, int word, const uint32_t* w) { out[i] = w[word]; });
}

void RandomUniformReference(StreamId id, uint64_t offset, int64_t n, float* out) {
  ForEachElement(id, offset, n, [&](int64_t i, int word, const uint32_t* w) {
    out[i] = static_cast<float>(w[word] >> 8) * 0x1p-24f;
  });
}

void RandomNormalReference(StreamId id, uint64_t offset, int64_t n, float scale, float* out) {
  const double two_pi = 6.283185307179586476925286766559;
  ForEachElement(id, offset, n, [&](int64_t i, int word, const uint32_t* w) {
    const int a = word & ~1;  // the pair (a, a + 1) shares one Box–Muller draw
    const double u1 = (static_cast<double>(w[a] >> 8) + 1.0) * 0x1p-24;
    const double u2 = static_cast<double>(w[a + 1] >> 8) * 0x1p-24;
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double t = two_pi * u2;
    out[i] = static_cast<float>(static_cast<double>(scale) * r * (word == a ? std::cos(t) : std::sin(t)));
  });
}

void RandomRademacherReference(StreamId id, uint64_t offset, int64_t n, float scale, float* out) {
  ForEachElement(id, offset, n, [&](int64_t i, int word, const uint32_t* w) {
    out[i] = w[word] < 0x80000000u ? scale : -scale;
  });
}

}  // namespace frugal
