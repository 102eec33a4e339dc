// Random streams on CUDA against the scalar reference, through the front end
// (Context on Device::kCuda) and through RandomCuda directly.
// Tolerances: words, uniform and Rademacher must be bit-identical; normals
// within 2e-6·|scale| + 1e-6 relative (about 8 ulp of the largest value, 5.8:
// logf, sqrtf and sincospif are each within 1–2 ulp, the reference is double).
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "device_buffer.h"
#include "cuda/random.h"

using namespace frugal;
using frugal::test::CudaContext;
using frugal::test::DeviceBuffer;

namespace {

struct Window {
  uint64_t offset;
  int64_t n;
};

// Awkward lengths at unaligned offsets, a window across the 2³² block boundary
// (counter word 1 changes) and the very end of the stream.
const Window kWindows[] = {{0, 1},   {1, 7},        {2, 17},          {3, 33},
                           {5, 255}, {0, 257},      {13, 100003},     {(uint64_t{1} << 34) - 6, 13},
                           {~uint64_t{0} - 6, 7}};
const StreamId kStreams[] = {{0, 0, kTagProjection}, {0x0123456789abcdefull, 7, kTagDpNoise}};

std::string Name(StreamId id, Window w) {
  return "seed " + std::to_string(id.seed) + " offset " + std::to_string(w.offset) + " n " + std::to_string(w.n);
}

}  // namespace

FRUGAL_TEST(cuda_philox_known_answers) {
  // Counter (0,0,0,0), key (0,0) (DESIGN.md) is block 0 of stream (seed 0, sub 0, tag 0).
  // The other answers use counter words 0–1 above 2⁶²−1, which no stream element
  // reaches; the end-of-stream window below checks the top blocks against the CPU.
  const uint32_t want[4] = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};
  DeviceBuffer<uint32_t> d(4);
  FRUGAL_CHECK_OK(RandomCuda(RandomKind::kWords, StreamId{0, 0, 0}, 0, 4, 1.0f, d.get(), nullptr));
  const std::vector<uint32_t> got = d.Download();
  FRUGAL_CHECK(std::memcmp(got.data(), want, sizeof(want)) == 0)
      << "got " << std::hex << got[0] << " " << got[1] << " " << got[2] << " " << got[3];
}

FRUGAL_TEST(cuda_words_uniform_rademacher_are_bit_exact) {
  for (StreamId id : kStreams) {
    for (Window w : kWindows) {
      const std::string name = Name(id, w);
      std::vector<uint32_t> words(w.n);
      RandomWordsReference(id, w.offset, w.n, words.data());
      DeviceBuffer<uint32_t> dw(w.n);
      FRUGAL_CHECK_OK(RandomWords(CudaContext(), id, w.offset, w.n, dw.get()));
      FRUGAL_CHECK(dw.Download() == words) << "words " << name;
      FRUGAL_CHECK_OK(RandomCuda(RandomKind::kWords, id, w.offset, w.n, 1.0f, dw.get(), nullptr));
      FRUGAL_CHECK(dw.Download() == words) << "words (launcher) " << name;

      std::vector<float> uniform(w.n), rademacher(w.n);
      RandomUniformReference(id, w.offset, w.n, uniform.data());
      RandomRademacherReference(id, w.offset, w.n, 0.25f, rademacher.data());
      DeviceBuffer<float> du(w.n), dr(w.n);
      FRUGAL_CHECK_OK(RandomUniform(CudaContext(), id, w.offset, w.n, du.get()));
      FRUGAL_CHECK_OK(RandomRademacher(CudaContext(), id, w.offset, w.n, 0.25f, dr.get()));
      FRUGAL_CHECK(du.Download() == uniform) << "uniform " << name;
      FRUGAL_CHECK(dr.Download() == rademacher) << "rademacher " << name;
      FRUGAL_CHECK_OK(RandomCuda(RandomKind::kRademacher, id, w.offset, w.n, 0.25f, dr.get(), nullptr));
      FRUGAL_CHECK(dr.Download() == rademacher) << "rademacher (launcher) " << name;
    }
  }
}

FRUGAL_TEST(cuda_normals_match_the_reference_to_a_few_ulp) {
  for (StreamId id : kStreams) {
    for (Window w : kWindows) {
      for (float scale : {1.0f, -0.03125f}) {
        const std::string name = Name(id, w) + " scale " + std::to_string(scale);
        std::vector<float> want(w.n);
        RandomNormalReference(id, w.offset, w.n, scale, want.data());
        DeviceBuffer<float> d(w.n);
        FRUGAL_CHECK_OK(RandomNormal(CudaContext(), id, w.offset, w.n, scale, d.get()));
        const double atol = 2e-6 * std::fabs(scale);
        FRUGAL_EXPECT_CLOSE(d.Download().data(), want.data(), want.size(), atol, 1e-6, "normal " + name);
        FRUGAL_CHECK_OK(RandomCuda(RandomKind::kNormal, id, w.offset, w.n, scale, d.get(), nullptr));
        FRUGAL_EXPECT_CLOSE(d.Download().data(), want.data(), want.size(), atol, 1e-6, "normal (launcher) " + name);
      }
    }
  }
}

FRUGAL_TEST(cuda_random_tiles_agree_with_one_call) {
  // A kernel that regenerates tiles of a stream must see the same values as one big call.
  const StreamId id{42, 3, kTagProjection};
  const int64_t n = 4099;
  DeviceBuffer<float> whole(n), tile(n);
  FRUGAL_CHECK_OK(RandomCuda(RandomKind::kNormal, id, 0, n, 1.0f, whole.get(), nullptr));
  for (int64_t start = 0; start < n; start += 333) {
    const int64_t len = start + 333 < n ? 333 : n - start;
    FRUGAL_CHECK_OK(RandomCuda(RandomKind::kNormal, id, start, len, 1.0f, tile.get() + start, nullptr));
  }
  FRUGAL_CHECK(whole.Download() == tile.Download()) << "tiles differ from one call";
}

int main() { return frugal::test::RunAllOnCuda(); }
