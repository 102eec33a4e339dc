// CUDA GEMM with the fused epilogue of frugal/gemm.h:
//   C[b] = act(pre)·colScale + residual[b] + beta·C[b], pre = alpha·op(A[b])·op(B[b]) + bias
//
// Two kernels share one epilogue, applied to the accumulators while they are in
// registers (no second pass over C):
// - SIMT fp32: shared-memory tiles of BM×BK (A) and BK×BN (B), each of 256
//   threads keeps a TM×TN block of C in registers and reads its A and B values
//   from shared memory as float4. Transposes and leading dimensions are folded
//   into the tile loads; ragged edges load zeros and skip the stores.
// - TF32 tensor cores (sm_80+, wmma m16n16k8): only when the caller allows TF32
//   and the problem is big enough to pay for it. Operands are rounded to TF32
//   once when staged in shared memory; accumulation stays fp32.
// The front end (core/gemm.cc) has validated the parameters.
#include <mma.h>

#include <cstdint>

#include "check.cuh"
#include "cuda/gemm.h"
#include "gelu.cuh"
#include "simt_tile.cuh"

namespace frugal {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxGridZ = 65535;  // batches beyond this loop inside the kernel

// One output element: the whole epilogue, in the order of the contract.
__device__ __forceinline__ void StoreOut(const GemmParams& p, long long b, long long m, long long n, float acc) {
  float v = p.alpha * acc;
  if (p.bias) v += p.bias[n];
  if (p.preActivation) p.preActivation[b * p.strideP + m * p.ldp + n] = v;
  if (p.activation == Activation::kGelu) v = GeluExact(v);
  if (p.activation == Activation::kRelu) v = fmaxf(v, 0.0f);
  if (p.colScale) v *= p.colScale[n];
  if (p.residual) v += p.residual[b * p.strideR + m * p.ldr + n];
  float* c = p.C + b * p.strideC + m * p.ldc + n;
  if (p.beta != 0.0f) v = fmaf(p.beta, *c, v);  // beta = 0: C is never read (may hold NaN)
  *c = v;
}

// op(A)(m, k) and op(B)(k, n) of one batch, zero outside the matrix.
__device__ __forceinline__ float LoadA(const GemmParams& p, const float* A, long long m, long long k) {
  if (m >= p.M || k >= p.K) return 0.0f;
  return p.transA ? A[k * p.lda + m] : A[m * p.lda + k];
}
__device__ __forceinline__ float LoadB(const GemmParams& p, const float* B, long long k, long long n) {
  if (k >= p.K || n >= p.N) return 0.0f;
  return p.transB ? B[n * p.ldb + k] : B[k * p.ldb + n];
}

// Tile loads walk the contiguous axis of the source fastest (coalesced reads):
// index i of a rows×cols tile stored [k][x] maps to (k, x).
template <int kX, int kK>
__device__ __forceinline__ void TileIndex(int i, bool x_contiguous, int* k, int* x) {
  if (x_contiguous) {
    *x = i % kX;
    *k = i / kX;
  } else {
    *k = i % kK;
    *x = i / kK;
  }
}

// SIMT fp32. A thread's rows are TM/4 groups of 4 spread BM/(TM/4) apart (and
// likewise its columns), so a warp's float4 reads of shared memory do not
// collide on banks.
template <int BM, int BN, int TM, int TN>
__global__ void __launch_bounds__(kThreads, 2) SgemmKernel(const GemmParams p) {
  constexpr int BK = 16, kPad = 4, GM = TM / 4, GN = TN / 4;
  static_assert((BM / TM) * (BN / TN) == kThreads, "one thread per TM×TN block");
  __shared__ __align__(16) float As[BK][BM + kPad];
  __shared__ __align__(16) float Bs[BK][BN + kPad];
  const int tid = threadIdx.x, tx = tid % (BN / TN), ty = tid / (BN / TN);
  const long long m0 = blockIdx.x * static_cast<long long>(BM), n0 = blockIdx.y * static_cast<long long>(BN);
  for (long long b = blockIdx.z; b < p.batch; b += gridDim.z) {
    const float* A = p.A + b * p.strideA;
    const float* B = p.B + b * p.strideB;
    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;
    for (long long k0 = 0; k0 < p.K; k0 += BK) {
#pragma unroll
      for (int i = tid; i < BM * BK; i += kThreads) {
        int k, m;
        TileIndex<BM, BK>(i, p.transA, &k, &m);
        As[k][m] = LoadA(p, A, m0 + m, k0 + k);
      }
#pragma unroll
      for (int i = tid; i < BN * BK; i += kThreads) {
        int k, n;
        TileIndex<BN, BK>(i, !p.transB, &k, &n);
        Bs[k][n] = LoadB(p, B, k0 + k, n0 + n);
      }
      __syncthreads();
      TileProducts<BM, BN, TM, TN, BK, kPad>(As, Bs, tx, ty, acc);
      __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < TM; ++i) {
      const long long m = m0 + (i / 4) * (BM / GM) + ty * 4 + i % 4;
      if (m >= p.M) continue;
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        const long long n = n0 + (j / 4) * (BN / GN) + tx * 4 + j % 4;
        if (n < p.N) StoreOut(p, b, m, n, acc[i][j]);
      }
    }
  }
}

// TF32 tensor cores: a 128×128 block tile, 8 warps of 64×32 (4×2 wmma tiles).
constexpr int kTcBM = 128, kTcBN = 128;

__global__ void __launch_bounds__(kThreads) Tf32GemmKernel(const GemmParams p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using namespace nvcuda;
  constexpr int kTcBK = 16;
  // Row strides are multiples of 4 floats and fragment origins 32-byte aligned, as wmma requires.
  constexpr int kLdA = kTcBK + 4, kLdB = kTcBN + 4;
  __shared__ __align__(32) float As[kTcBM][kLdA];  // op(A) tile, k contiguous
  __shared__ __align__(32) float Bs[kTcBK][kLdB];  // op(B) tile, n contiguous
  __shared__ __align__(32) float Cs[kThreads / 32][16 * 16];  // per-warp epilogue staging
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = warp / 4, wn = warp % 4;
  const long long m0 = blockIdx.x * static_cast<long long>(kTcBM), n0 = blockIdx.y * static_cast<long long>(kTcBN);
  for (long long b = blockIdx.z; b < p.batch; b += gridDim.z) {
    const float* A = p.A + b * p.strideA;
    const float* B = p.B + b * p.strideB;
    wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[4][2];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
    for (long long k0 = 0; k0 < p.K; k0 += kTcBK) {
#pragma unroll
      for (int i = tid; i < kTcBM * kTcBK; i += kThreads) {
        int k, m;
        TileIndex<kTcBM, kTcBK>(i, p.transA, &k, &m);
        As[m][k] = wmma::__float_to_tf32(LoadA(p, A, m0 + m, k0 + k));
      }
#pragma unroll
      for (int i = tid; i < kTcBN * kTcBK; i += kThreads) {
        int k, n;
        TileIndex<kTcBN, kTcBK>(i, !p.transB, &k, &n);
        Bs[k][n] = wmma::__float_to_tf32(LoadB(p, B, k0 + k, n0 + n));
      }
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < kTcBK; kk += 8) {
        wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> af[4];
        wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> bf[2];
#pragma unroll
        for (int i = 0; i < 4; ++i) wmma::load_matrix_sync(af[i], &As[wm * 64 + i * 16][kk], kLdA);
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(bf[j], &Bs[kk][wn * 32 + j * 16], kLdB);
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
          for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], af[i], bf[j], acc[i][j]);
      }
      __syncthreads();
    }
    // Fragment layouts are opaque: stage each 16×16 tile in shared memory, then
    // every lane applies the epilogue to 8 known elements.
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        wmma::store_matrix_sync(Cs[warp], acc[i][j], 16, wmma::mem_row_major);
        __syncwarp();
        for (int e = lane; e < 256; e += 32) {
          const long long m = m0 + wm * 64 + i * 16 + e / 16, n = n0 + wn * 32 + j * 16 + e % 16;
          if (m < p.M && n < p.N) StoreOut(p, b, m, n, Cs[warp][e]);
        }
        __syncwarp();
      }
    }
  }
#endif
}

// TF32 pays once there are enough products to amortise the staging: about 256³.
bool Tf32Pays(const GemmParams& p) {
  return p.M >= 64 && p.N >= 64 && p.K >= 32 && p.batch * p.M * p.N * p.K >= (int64_t{1} << 24);
}

template <int BM, int BN, int TM, int TN, typename Kernel>
Status LaunchTiles(Kernel kernel, const GemmParams& p, cudaStream_t stream) {
  const long long tiles_n = (p.N + BN - 1) / BN;
  if (tiles_n > 65535) return Status::Shape("gemm (CUDA): N = " + std::to_string(p.N) + " exceeds the grid limit");
  const dim3 grid(GridBlocks(p.M, BM), static_cast<unsigned>(tiles_n),
                  static_cast<unsigned>(p.batch < kMaxGridZ ? p.batch : kMaxGridZ));
  kernel<<<grid, kThreads, 0, stream>>>(p);
  CUDA_CHECK_LAUNCH();
  return Status::Ok();
}

}  // namespace

Status GemmCuda(const GemmParams& p, void* stream) {
  if (p.batch == 0 || p.M == 0 || p.N == 0) return Status::Ok();
  if (p.outputMask) return Status::Device("matmul (CUDA): an output mask is CPU-only");
  int device = 0, major = 0, sms = 1;
  CUDA_CHECK(cudaGetDevice(&device));
  CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  const cudaStream_t s = AsStream(stream);
  if (p.allowTf32 && major >= 8 && Tf32Pays(p)) {
    return LaunchTiles<kTcBM, kTcBN, 0, 0>(Tf32GemmKernel, p, s);
  }
  // Big tiles reuse each loaded value more; small problems need small tiles to fill the SMs.
  const long long big_tiles = p.batch * ((p.M + 127) / 128) * ((p.N + 127) / 128);
  if (big_tiles >= sms) return LaunchTiles<128, 128, 8, 8>(SgemmKernel<128, 128, 8, 8>, p, s);
  return LaunchTiles<64, 64, 4, 4>(SgemmKernel<64, 64, 4, 4>, p, s);
}

}  // namespace frugal
