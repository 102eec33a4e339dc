// GEMM glue: the arguments of lib/matmul.ts's GemmArgs, read by name.
// Contiguous row-major operands; lib/matmul.ts checked the shapes, these checks
// are the second line.
#include "common.h"
#include "frugal/gemm.h"

namespace frugal {
namespace addon {
namespace {

Napi::Value GemmFn(const Napi::CallbackInfo& info) {
  Args args(info, "matmul");
  GemmParams p;
  p.batch = args.Size("batch");
  p.M = args.Size("M");
  p.N = args.Size("N");
  p.K = args.Size("K");
  p.transA = args.Bool("transA");
  p.transB = args.Bool("transB");
  const bool shared_b = args.Bool("sharedB");
  p.alpha = args.Float("alpha");
  p.beta = args.Float("beta");
  p.activation = args.Enum<Activation>(
      "activation", {{"none", Activation::kNone}, {"gelu", Activation::kGelu}, {"relu", Activation::kRelu}});
  const size_t mn = args.Count({p.batch, p.M, p.N}), n = static_cast<size_t>(p.N);
  p.A = args.Tensor("a", args.Count({p.batch, p.M, p.K}));
  p.B = args.Tensor("b", args.Count({shared_b ? 1 : p.batch, p.K, p.N}));
  p.C = args.Tensor("out", mn);
  p.bias = args.OptionalTensor("bias", n);
  p.colScale = args.OptionalTensor("colScale", n);
  p.residual = args.OptionalTensor("residual", mn);
  args.Apart("out", {"a", "b", "bias", "colScale", "residual"});
  p.lda = p.transA ? p.M : p.K;
  p.ldb = p.transB ? p.K : p.N;
  p.ldc = p.ldr = p.N;
  p.strideA = p.M * p.K;
  p.strideB = shared_b ? 0 : p.K * p.N;
  p.strideC = p.strideR = p.M * p.N;
  const Context ctx = args.context();
  return args.Run([=] { return Gemm(ctx, p); });
}

void Init(Napi::Env env, Napi::Object exports) { Export(env, exports, "gemm", GemmFn); }

}  // namespace

FRUGAL_ADDON_FAMILY(Init);

}  // namespace addon
}  // namespace frugal
