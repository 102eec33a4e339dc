// LayerNorm: the front end at every ISA level against the double reference,
// awkward sizes, aliasing, thread-count independence (bitwise) and bad arguments.
#include <cstring>
#include <vector>

#include "check.h"
#include "frugal/context.h"
#include "frugal/layer_norm.h"

using namespace frugal;
using test::ForEachIsa;

namespace {

const int64_t kCols[] = {1, 7, 16, 17, 33, 64, 255, 257, 768, 1024, 3072};
const int64_t kRows[] = {1, 3, 70};

struct Data {
  std::vector<float> x, gamma, beta, dy;
};

// x with a per-row offset and scale (LayerNorm must remove both), gamma around 1.
Data MakeData(int64_t rows, int64_t cols, uint32_t seed) {
  Data d;
  d.x = test::RandomVector(rows * cols, seed);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) d.x[r * cols + c] = 3.0f + (1.0f + r % 5) * d.x[r * cols + c];
  }
  d.gamma = test::RandomVector(cols, seed + 1);
  for (float& g : d.gamma) g += 1.0f;
  d.beta = test::RandomVector(cols, seed + 2);
  d.dy = test::RandomVector(rows * cols, seed + 3);
  return d;
}

LayerNormParams Forward(int64_t rows, int64_t cols, const Data& d, float* y, float* mean, float* rstd) {
  LayerNormParams p;
  p.rows = rows;
  p.cols = cols;
  p.x = d.x.data();
  p.gamma = d.gamma.data();
  p.beta = d.beta.data();
  p.y = y;
  p.mean = mean;
  p.rstd = rstd;
  return p;
}

LayerNormBackwardParams Backward(int64_t rows, int64_t cols, const Data& d, const float* mean,
                                 const float* rstd, float* dx, float* dgamma, float* dbeta) {
  LayerNormBackwardParams p;
  p.rows = rows;
  p.cols = cols;
  p.dy = d.dy.data();
  p.x = d.x.data();
  p.gamma = d.gamma.data();
  p.mean = mean;
  p.rstd = rstd;
  p.dx = dx;
  p.dgamma = dgamma;
  p.dbeta = dbeta;
  return p;
}

}  // namespace

FRUGAL_TEST(forward_matches_reference_at_every_isa) {
  ForEachIsa([](Isa) {
    for (int64_t rows : kRows) {
      for (int64_t cols : kCols) {
        const Data d = MakeData(rows, cols, static_cast<uint32_t>(rows * 1000 + cols));
        std::vector<float> wy(rows * cols), wmean(rows), wrstd(rows);
        test::Guarded y(rows * cols), mean(rows), rstd(rows);
        FRUGAL_CHECK_OK(LayerNormReference(Forward(rows, cols, d, wy.data(), wmean.data(), wrstd.data())));
        FRUGAL_CHECK_OK(LayerNorm(Context{}, Forward(rows, cols, d, y.data(), mean.data(), rstd.data())));
        FRUGAL_CHECK_GUARDS(y);
        FRUGAL_CHECK_GUARDS(mean);
        FRUGAL_CHECK_GUARDS(rstd);
        const std::string what = "rows " + std::to_string(rows) + " cols " + std::to_string(cols);
        FRUGAL_EXPECT_CLOSE(y.data(), wy.data(), y.size(), 2e-5, 2e-5, "y " + what);
        FRUGAL_EXPECT_CLOSE(mean.data(), wmean.data(), rows, 1e-5, 1e-6, "mean " + what);
        FRUGAL_EXPECT_CLOSE(rstd.data(), wrstd.data(), rows, 0.0, 1e-5, "rstd " + what);
      }
    }
  });
}

FRUGAL_TEST(backward_matches_reference_at_every_isa) {
  ForEachIsa([](Isa) {
    for (int64_t rows : kRows) {
      for (int64_t cols : kCols) {
        const Data d = MakeData(rows, cols, static_cast<uint32_t>(rows * 7 + cols));
        std::vector<float> y(rows * cols), mean(rows), rstd(rows);
        FRUGAL_CHECK_OK(LayerNormReference(Forward(rows, cols, d, y.data(), mean.data(), rstd.data())));
        std::vector<float> wdx(rows * cols), wdg(cols), wdb(cols);
        test::Guarded dx(rows * cols), dg(cols), db(cols);
        FRUGAL_CHECK_OK(LayerNormBackwardReference(
            Backward(rows, cols, d, mean.data(), rstd.data(), wdx.data(), wdg.data(), wdb.data())));
        FRUGAL_CHECK_OK(LayerNormBackward(
            Context{}, Backward(rows, cols, d, mean.data(), rstd.data(), dx.data(), dg.data(), db.data())));
        FRUGAL_CHECK_GUARDS(dx);
        FRUGAL_CHECK_GUARDS(dg);
        FRUGAL_CHECK_GUARDS(db);
        const std::string what = "rows " + std::to_string(rows) + " cols " + std::to_string(cols);
        // dx is a difference of O(1) terms: absolute tolerance scaled by rstd (<= 1 here).
        FRUGAL_EXPECT_CLOSE(dx.data(), wdx.data(), dx.size(), 5e-5, 1e-4, "dx " + what);
        FRUGAL_EXPECT_CLOSE(dg.data(), wdg.data(), cols, 1e-4, 1e-4, "dgamma " + what);
        FRUGAL_EXPECT_CLOSE(db.data(), wdb.data(), cols, 1e-4, 1e-4, "dbeta " + what);
        // Without parameter gradients dx is the same.
        std::vector<float> dx2(rows * cols);
        FRUGAL_CHECK_OK(LayerNormBackward(
            Context{}, Backward(rows, cols, d, mean.data(), rstd.data(), dx2.data(), nullptr, nullptr)));
        FRUGAL_CHECK(std::memcmp(dx.data(), dx2.data(), dx.size() * sizeof(float)) == 0) << what;
      }
    }
  });
}

FRUGAL_TEST(outputs_may_alias_inputs) {
  ForEachIsa([](Isa) {
    const int64_t rows = 5, cols = 257;
    Data d = MakeData(rows, cols, 11);
    std::vector<float> y(rows * cols), mean(rows), rstd(rows), dx(rows * cols), dg(cols), db(cols);
    FRUGAL_CHECK_OK(LayerNorm(Context{}, Forward(rows, cols, d, y.data(), mean.data(), rstd.data())));
    FRUGAL_CHECK_OK(LayerNormBackward(
        Context{}, Backward(rows, cols, d, mean.data(), rstd.data(), dx.data(), dg.data(), db.data())));
    Data a = d;
    FRUGAL_CHECK_OK(LayerNorm(Context{}, Forward(rows, cols, a, a.x.data(), mean.data(), rstd.data())));
    FRUGAL_CHECK(a.x == y);
    a = d;
    FRUGAL_CHECK_OK(LayerNormBackward(
        Context{}, Backward(rows, cols, a, mean.data(), rstd.data(), a.dy.data(), dg.data(), db.data())));
    FRUGAL_CHECK(a.dy == dx);
  });
}

FRUGAL_TEST(results_do_not_depend_on_the_thread_count) {
  const int saved = NumThreads();
  ForEachIsa([](Isa) {
    const int64_t rows = 333, cols = 768;
    const Data d = MakeData(rows, cols, 5);
    std::vector<float> y1, dx1, dg1, db1;
    for (int threads : {1, 2, 3, 7}) {
      FRUGAL_CHECK_OK(SetNumThreads(threads));
      std::vector<float> y(rows * cols), mean(rows), rstd(rows), dx(rows * cols), dg(cols), db(cols);
      FRUGAL_CHECK_OK(LayerNorm(Context{}, Forward(rows, cols, d, y.data(), mean.data(), rstd.data())));
      FRUGAL_CHECK_OK(LayerNormBackward(
          Context{}, Backward(rows, cols, d, mean.data(), rstd.data(), dx.data(), dg.data(), db.data())));
      if (threads == 1) {
        y1 = y, dx1 = dx, dg1 = dg, db1 = db;
      } else {
        FRUGAL_CHECK(y == y1 && dx == dx1 && dg == dg1 && db == db1) << "threads " << threads;
      }
    }
  });
  FRUGAL_CHECK_OK(SetNumThreads(saved));
}

FRUGAL_TEST(zero_rows_and_bad_arguments) {
  std::vector<float> dg(4, 9.0f), db(4, 9.0f);
  LayerNormBackwardParams b;
  b.rows = 0;
  b.cols = 4;
  b.dgamma = dg.data();
  b.dbeta = db.data();
  FRUGAL_CHECK_OK(LayerNormBackward(Context{}, b));
  FRUGAL_CHECK(dg == std::vector<float>(4, 0.0f) && db == std::vector<float>(4, 0.0f));

  const Data d = MakeData(2, 4, 1);
  std::vector<float> y(8), mean(2), rstd(2);
  LayerNormParams p = Forward(2, 4, d, y.data(), mean.data(), rstd.data());
  for (float eps : {0.0f, -1.0f, NAN, INFINITY}) {
    LayerNormParams q = p;
    q.eps = eps;
    FRUGAL_CHECK(LayerNorm(Context{}, q).code() == Code::kRange) << "eps " << eps;
  }
  LayerNormParams q = p;
  q.cols = 0;
  FRUGAL_CHECK(LayerNorm(Context{}, q).code() == Code::kShape);
  q = p;
  q.rows = -1;
  FRUGAL_CHECK(LayerNorm(Context{}, q).code() == Code::kShape);
  q = p;
  q.gamma = nullptr;
  FRUGAL_CHECK(LayerNorm(Context{}, q).code() == Code::kNative);
  b.rows = 2;
  b.dbeta = nullptr;
  FRUGAL_CHECK(!LayerNormBackward(Context{}, b).ok());
  Context cuda;
  cuda.device = Device::kCuda;
#ifndef FRUGAL_WITH_CUDA
  FRUGAL_CHECK(LayerNorm(cuda, p).code() == Code::kDevice);
#endif
}

FRUGAL_TEST_MAIN
