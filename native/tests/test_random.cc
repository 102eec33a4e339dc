// Random streams: Philox known answers, fixture values (from
// /work/shared/fixtures/streams.json), every ISA level against the scalar
// reference at awkward offsets and lengths, thread-count independence, the
// accuracy of the vectorised log and sin/cos, and argument errors.
//
// Tolerances: words, uniform and Rademacher are bit-exact at every level.
// Normals: the reference is computed in double and rounded once; the vector
// levels must agree within kNormalUlps ulp of the reference value (with the
// ulp taken at |value| >= 2^-20, since sin/cos near a zero crossing is
// limited by the 24-bit u2, not by the float result).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "check.h"
#include "cpu/primitives/streams.h"
#include "frugal/context.h"
#include "frugal/random.h"
#include "math_probe.h"

using namespace frugal;

namespace {

constexpr double kNormalUlps = 4;

// Distance from got to want in ulps of want (floored at 2^-20 as said above).
double UlpError(double got, double want) {
  const double mag = std::max(std::fabs(want), 0x1p-20);
  int exp;
  std::frexp(mag, &exp);
  return std::fabs(got - want) / std::ldexp(1.0, exp - 24);
}

double MaxUlpError(const float* got, const float* want, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; ++i) worst = std::max(worst, UlpError(got[i], want[i]));
  return worst;
}

bool SameBits(const void* a, const void* b, size_t n) { return std::memcmp(a, b, n * 4) == 0; }

struct Fixture {
  StreamId id;
  uint32_t words[6];
  double normal[6];
};

// The first six elements of three streams in streams.json.
const Fixture kFixtures[] = {
    {{0, 0, 1},
     {768504805u, 323543615u, 4244168940u, 2726800091u, 3914554339u, 1359758665u},
     {1.6511779439642333, 0.8456453962565167, -0.10209861258146719, -0.11563603390329691, -0.17499218967548194,
      0.39352588632528324}},
    {{1234, 2147483649u, 4},
     {1502217566u, 127119506u, 1147415498u, 91715037u, 1009670476u, 2349684187u},
     {1.4244920183609397, 0.268002553072465, 1.6101632196854854, 0.21734339990776388, -1.6277523369439961,
      -0.4960461898862728}},
    {{1099511627781ull, 2147483649u, 4},
     {449070364u, 1448292409u, 671597816u, 1472496931u, 2361896481u, 2688546237u},
     {-1.1070208173249823, 1.8139854349383038, -1.0611078941236953, 1.6078336688189176, -0.7685348146920149,
      -0.7780180921884248}},
};

const StreamId kStreams[] = {{0, 0, 1}, {1234, 3, 2}, {~uint64_t{0}, 0xffffffffu, 0xffffffffu}};
const int64_t kLengths[] = {0, 1, 2, 3, 7, 17, 33, 64, 65, 255, 257, 1000};
// Includes counters that cross 2^32 blocks and the very end of the stream.
const uint64_t kOffsets[] = {0, 1, 2, 3, 5, 63, 64, 127, (uint64_t{1} << 34) - 37, ~uint64_t{0} - 1000};

}  // namespace

FRUGAL_TEST(philox_known_answers) {
  struct Kat {
    uint32_t counter[4], key[2], out[4];
  };
  const Kat kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}, {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}, {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Kat& k : kats) {
    uint32_t out[4];
    Philox4x32(k.counter, k.key, out);
    for (int i = 0; i < 4; ++i) FRUGAL_CHECK(out[i] == k.out[i]) << "word " << i << " got " << out[i];
  }
}

FRUGAL_TEST(fixture_values_at_every_isa) {
  const Context ctx;
  test::ForEachIsa([&](Isa) {
    for (const Fixture& f : kFixtures) {
      uint32_t words[6];
      float uniform[6], normal[6], rademacher[6];
      FRUGAL_CHECK(RandomWords(ctx, f.id, 0, 6, words).ok());
      FRUGAL_CHECK(RandomUniform(ctx, f.id, 0, 6, uniform).ok());
      FRUGAL_CHECK(RandomNormal(ctx, f.id, 0, 6, 1.0f, normal).ok());
      FRUGAL_CHECK(RandomRademacher(ctx, f.id, 0, 6, 1.0f, rademacher).ok());
      for (int i = 0; i < 6; ++i) {
        FRUGAL_CHECK(words[i] == f.words[i]) << "seed " << f.id.seed << " word " << i;
        FRUGAL_CHECK(uniform[i] == static_cast<float>(f.words[i] >> 8) * 0x1p-24f) << "uniform " << i;
        FRUGAL_CHECK(rademacher[i] == (f.words[i] < 0x80000000u ? 1.0f : -1.0f)) << "rademacher " << i;
        FRUGAL_CHECK(UlpError(normal[i], f.normal[i]) <= kNormalUlps) << "normal " << i << " got " << normal[i];
      }
    }
  });
}

FRUGAL_TEST(every_isa_matches_reference_at_awkward_offsets) {
  const Context ctx;
  test::ForEachIsa([&](Isa isa) {
    for (const StreamId& id : kStreams) {
      for (uint64_t offset : kOffsets) {
        for (int64_t n : kLengths) {
          if (offset > ~uint64_t{0} - static_cast<uint64_t>(n)) continue;
          std::vector<uint32_t> w(n + 1, 7u), wr(n + 1, 7u);
          std::vector<float> f(n + 1, 7.0f), fr(n + 1, 7.0f);
          RandomWordsReference(id, offset, n, wr.data());
          FRUGAL_CHECK(RandomWords(ctx, id, offset, n, w.data()).ok());
          FRUGAL_CHECK(SameBits(w.data(), wr.data(), n + 1)) << "words offset " << offset << " n " << n;
          RandomUniformReference(id, offset, n, fr.data());
          FRUGAL_CHECK(RandomUniform(ctx, id, offset, n, f.data()).ok());
          FRUGAL_CHECK(SameBits(f.data(), fr.data(), n + 1)) << "uniform offset " << offset << " n " << n;
          RandomRademacherReference(id, offset, n, -0.25f, fr.data());
          FRUGAL_CHECK(RandomRademacher(ctx, id, offset, n, -0.25f, f.data()).ok());
          FRUGAL_CHECK(SameBits(f.data(), fr.data(), n + 1)) << "rademacher offset " << offset << " n " << n;
          RandomNormalReference(id, offset, n, 0.5f, fr.data());
          FRUGAL_CHECK(RandomNormal(ctx, id, offset, n, 0.5f, f.data()).ok());
          FRUGAL_CHECK(MaxUlpError(f.data(), fr.data(), n) <= kNormalUlps) << "normal offset " << offset << " n " << n;
          FRUGAL_CHECK(f[n] == 7.0f) << "normal wrote past n (offset " << offset << ", n " << n << ")";
          // The ISA's own kernel gives the same element whatever the call's offset.
          if (isa != Isa::kRef && n > 2) {
            std::vector<float> part(n - 2);
            FRUGAL_CHECK(RandomNormal(ctx, id, offset + 1, n - 2, 0.5f, part.data()).ok());
            FRUGAL_CHECK(SameBits(part.data(), f.data() + 1, n - 2)) << "normal slice offset " << offset << " n " << n;
          }
        }
      }
    }
  });
}

FRUGAL_TEST(normals_within_tolerance_over_a_million_values) {
  const Context ctx;
  const int64_t n = 1 << 20;
  std::vector<float> want(n);
  test::Guarded got(n);
  RandomNormalReference({99, 1, 1}, 3, n, 1.0f, want.data());
  test::ForEachIsa([&](Isa) {
    FRUGAL_CHECK(RandomNormal(ctx, {99, 1, 1}, 3, n, 1.0f, got.data()).ok());
    FRUGAL_CHECK_GUARDS(got);
    const double worst = MaxUlpError(got.data(), want.data(), n);
    FRUGAL_CHECK(worst <= kNormalUlps) << "worst " << worst << " ulp";
    std::printf("  %s: normals worst %.2f ulp\n", IsaName(ActiveIsa()), worst);
  });
}

FRUGAL_TEST(thread_count_does_not_change_results) {
  const Context ctx;
  const int64_t n = 300001;
  const uint64_t offset = 13;
  const int saved = NumThreads();
  test::ForEachIsa([&](Isa) {
    std::vector<float> first(n), again(n);
    std::vector<uint32_t> w1(n), w2(n);
    for (int threads : {1, 2, 3}) {
      FRUGAL_CHECK(SetNumThreads(threads).ok());
      std::vector<float>& f = threads == 1 ? first : again;
      std::vector<uint32_t>& w = threads == 1 ? w1 : w2;
      FRUGAL_CHECK(RandomNormal(ctx, {5, 6, 3}, offset, n, 1.0f, f.data()).ok());
      FRUGAL_CHECK(RandomWords(ctx, {5, 6, 3}, offset, n, w.data()).ok());
      if (threads > 1) {
        FRUGAL_CHECK(SameBits(first.data(), again.data(), n)) << threads << " threads (normal)";
        FRUGAL_CHECK(SameBits(w1.data(), w2.data(), n)) << threads << " threads (words)";
      }
    }
  });
  (void)SetNumThreads(saved);
}

FRUGAL_TEST(windows_ending_at_two_to_the_64_over_several_chunks) {
  const Context ctx;
  const int64_t n = 200003;
  const uint64_t offset = ~uint64_t{0} - static_cast<uint64_t>(n - 1);  // last element is 2^64 − 1
  std::vector<uint32_t> got(n), want(n);
  RandomWordsReference({7, 8, 9}, offset, n, want.data());
  test::ForEachIsa([&](Isa) {
    FRUGAL_CHECK(RandomWords(ctx, {7, 8, 9}, offset, n, got.data()).ok());
    FRUGAL_CHECK(SameBits(got.data(), want.data(), n));
  });
}

FRUGAL_TEST(direct_kernels_match_front_end) {
  // Other families call RandomKernelsFor(...) on tiles; a tile equals the slice of one big call.
  const Context ctx;
  std::vector<float> big(5000), tile(333);
  test::ForEachIsa([&](Isa isa) {
    FRUGAL_CHECK(RandomNormal(ctx, {42, 3, kTagProjection}, 0, 5000, 0.125f, big.data()).ok());
    RandomKernelsFor(isa).normal({42, 3, kTagProjection}, 1234, 333, 0.125f, tile.data());
    FRUGAL_CHECK(SameBits(tile.data(), big.data() + 1234, 333));
  });
}

FRUGAL_TEST(vector_log_and_sincos_over_every_stream_input) {
  // Every u1 = k·2^-24 (k in [1, 2^24]) for log and every u2 = j·2^-24 for sin/cos.
  const int64_t count = int64_t{1} << 24;
  const Isa max = MaxIsa();
  for (int level = 1; level <= static_cast<int>(max); ++level) {
    const test::MathProbe probe = test::MathProbeFor(static_cast<Isa>(level));
    const int lanes = level == static_cast<int>(Isa::kAvx512) ? 16 : 8;
    double log_worst = 0, sin_worst = 0, cos_worst = 0;
    float in[16], out[16], s[16], c[16];
    for (int64_t k0 = 0; k0 < count; k0 += lanes) {
      for (int l = 0; l < lanes; ++l) in[l] = static_cast<float>(k0 + l + 1) * 0x1p-24f;
      probe(test::MathFn::kLog, in, lanes, out);
      for (int l = 0; l < lanes; ++l) {
        const double want = std::log(static_cast<double>(in[l]));
        if (want != 0) log_worst = std::max(log_worst, UlpError(out[l], want));
        else FRUGAL_CHECK(out[l] == 0.0f) << "log(1)";
        in[l] = static_cast<float>(k0 + l) * 0x1p-24f;
      }
      probe(test::MathFn::kSin, in, lanes, s);
      probe(test::MathFn::kCos, in, lanes, c);
      for (int l = 0; l < lanes; ++l) {
        const double t = 6.283185307179586476925286766559 * static_cast<double>(in[l]);
        sin_worst = std::max(sin_worst, UlpError(s[l], std::sin(t)));
        cos_worst = std::max(cos_worst, UlpError(c[l], std::cos(t)));
      }
    }
    test::CurrentScope() = IsaName(static_cast<Isa>(level));
    FRUGAL_CHECK(log_worst <= 2 && sin_worst <= 2 && cos_worst <= 2)
        << "log " << log_worst << " sin " << sin_worst << " cos " << cos_worst << " ulp";
    std::printf("  %s: log %.2f, sin %.2f, cos %.2f ulp worst\n", IsaName(static_cast<Isa>(level)), log_worst,
                sin_worst, cos_worst);
  }
  test::CurrentScope().clear();
}

FRUGAL_TEST(bad_arguments_give_statuses) {
  const Context ctx;
  float f[4];
  uint32_t w[4];
  FRUGAL_CHECK(RandomWords(ctx, {}, 0, -1, w).code() == Code::kShape);
  FRUGAL_CHECK(RandomUniform(ctx, {}, 0, 4, nullptr).code() == Code::kNative);
  FRUGAL_CHECK(RandomUniform(ctx, {}, 0, 0, nullptr).ok());
  FRUGAL_CHECK(RandomNormal(ctx, {}, ~uint64_t{0} - 2, 4, 1.0f, f).code() == Code::kRange);
  FRUGAL_CHECK(RandomNormal(ctx, {}, ~uint64_t{0} - 3, 4, 1.0f, f).ok());
  FRUGAL_CHECK(RandomNormal(ctx, {}, 0, 4, NAN, f).code() == Code::kRange);
  FRUGAL_CHECK(RandomRademacher(ctx, {}, 0, 4, INFINITY, f).code() == Code::kRange);
#ifndef FRUGAL_WITH_CUDA
  Context cuda;
  cuda.device = Device::kCuda;
  FRUGAL_CHECK(RandomNormal(cuda, {}, 0, 4, 1.0f, f).code() == Code::kDevice);
#endif
}

FRUGAL_TEST_MAIN
