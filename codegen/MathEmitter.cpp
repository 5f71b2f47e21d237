// codegen/MathEmitter.cpp — Cephes-style exp/log and Eigen's rational tanh, as IR.
#include "codegen/MathEmitter.h"

#include <cmath>
#include <initializer_list>
#include <llvm/IR/Intrinsics.h>

namespace graphc {
namespace {

llvm::Value* c(llvm::IRBuilder<>& b, double v) { return llvm::ConstantFP::get(b.getFloatTy(), v); }

llvm::Value* fma(llvm::IRBuilder<>& b, llvm::Value* x, llvm::Value* y, llvm::Value* z) {
  return b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {b.getFloatTy()}, {x, y, z});
}

// Horner: coeffs from the highest power down.
llvm::Value* poly(llvm::IRBuilder<>& b, llvm::Value* x, std::initializer_list<double> coeffs) {
  auto it = coeffs.begin();
  llvm::Value* acc = c(b, *it++);
  for (; it != coeffs.end(); ++it) acc = fma(b, acc, x, c(b, *it));
  return acc;
}

// min/max that keep a NaN x (ordered compare: NaN fails it and stays).
llvm::Value* clampOrdered(llvm::IRBuilder<>& b, llvm::Value* x, double lo, double hi) {
  x = b.CreateSelect(b.CreateFCmpOGT(x, c(b, hi)), c(b, hi), x);
  return b.CreateSelect(b.CreateFCmpOLT(x, c(b, lo)), c(b, lo), x);
}

}  // namespace

llvm::Value* emitExp(llvm::IRBuilder<>& b, llvm::Value* x) {
  // exp(x) = 2^n * exp(r), n = round(x / ln 2), |r| <= ln2/2. The upper clamp
  // keeps 2^n finite (e^88 = 1.65e38); the lower one keeps it normal (e^-87.3 =
  // 1.2e-38), and below it the result is 0, not that smallest normal: a masked
  // attention score (-1e9) must weigh exactly nothing, and the denormals its
  // products would make slow every FMA that meets them.
  llvm::Value* underflows = b.CreateFCmpOLT(x, c(b, -87.33654475));
  x = clampOrdered(b, x, -87.33654475, 88.0);
  llvm::Value* fx = b.CreateIntrinsic(llvm::Intrinsic::floor, {b.getFloatTy()}, {fma(b, x, c(b, 1.44269504088896341), c(b, 0.5))});
  llvm::Value* r = fma(b, fx, c(b, -0.693359375), x);
  r = fma(b, fx, c(b, 2.12194440e-4), r);
  llvm::Value* z = b.CreateFMul(r, r);
  llvm::Value* y = poly(b, r, {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3, 4.1665795894E-2, 1.6666665459E-1,
                               5.0000001201E-1});
  y = fma(b, y, z, r);
  y = b.CreateFAdd(y, c(b, 1.0));
  // fx is a whole number in [-126, 127] or NaN. A saturating conversion would give the same n (0 for NaN),
  // but x86 has no vector form of it: LLVM converts lane by lane (16 scalar conversions, compares and
  // inserts per AVX-512 vector, most of a vectorised exp's time). A NaN is made 0 first (a plain
  // conversion of NaN is poison), then one vector conversion does.
  llvm::Value* whole = b.CreateSelect(b.CreateFCmpUNO(fx, fx), c(b, 0.0), fx);
  llvm::Value* n = b.CreateFPToSI(whole, b.getInt32Ty());
  llvm::Value* bits = b.CreateShl(b.CreateAdd(n, b.getInt32(127)), 23);
  llvm::Value* pow2n = b.CreateBitCast(bits, b.getFloatTy());
  return b.CreateSelect(underflows, c(b, 0.0), b.CreateFMul(y, pow2n));
}

llvm::Value* emitLog(llvm::IRBuilder<>& b, llvm::Value* x) {
  llvm::Type* i32 = b.getInt32Ty();
  llvm::Value* xin = x;
  // Denormals are treated as the smallest normal (the error is in the last bits of a huge negative log).
  x = b.CreateSelect(b.CreateFCmpOLT(x, c(b, 1.17549435e-38)), c(b, 1.17549435e-38), x);
  llvm::Value* bits = b.CreateBitCast(x, i32);
  llvm::Value* e = b.CreateSIToFP(b.CreateSub(b.CreateLShr(bits, 23), b.getInt32(126)), b.getFloatTy());
  llvm::Value* m = b.CreateBitCast(b.CreateOr(b.CreateAnd(bits, b.getInt32(0x807fffff)), b.getInt32(0x3f000000)),
                                   b.getFloatTy());  // mantissa in [0.5, 1)
  llvm::Value* small = b.CreateFCmpOLT(m, c(b, 0.707106781186547524));
  e = b.CreateSelect(small, b.CreateFSub(e, c(b, 1.0)), e);
  m = b.CreateSelect(small, b.CreateFSub(b.CreateFAdd(m, m), c(b, 1.0)), b.CreateFSub(m, c(b, 1.0)));
  llvm::Value* z = b.CreateFMul(m, m);
  llvm::Value* y = poly(b, m, {7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1, 1.4249322787E-1,
                               -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1});
  y = b.CreateFMul(b.CreateFMul(y, m), z);
  y = fma(b, e, c(b, -2.12194440e-4), y);
  y = fma(b, z, c(b, -0.5), y);
  llvm::Value* result = b.CreateFAdd(m, y);
  result = fma(b, e, c(b, 0.693359375), result);
  // log(0) = -inf, log(+inf) = +inf, log(negative or NaN) = NaN.
  result = b.CreateSelect(b.CreateFCmpOEQ(xin, c(b, 0.0)), llvm::ConstantFP::getInfinity(b.getFloatTy(), true), result);
  result = b.CreateSelect(b.CreateFCmpOEQ(xin, llvm::ConstantFP::getInfinity(b.getFloatTy())), xin, result);
  return b.CreateSelect(b.CreateFCmpULT(xin, c(b, 0.0)), llvm::ConstantFP::getNaN(b.getFloatTy()), result);
}

llvm::Value* emitTanh(llvm::IRBuilder<>& b, llvm::Value* x) {
  // Eigen's 13/6 rational approximation on [-7.9, 7.9] (XLA emits the same).
  llvm::Value* clamped = clampOrdered(b, x, -7.90531110763549805, 7.90531110763549805);
  llvm::Value* x2 = b.CreateFMul(clamped, clamped);
  llvm::Value* p = poly(b, x2, {-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-08,
                                1.48572235717979e-05, 6.37261928875436e-04, 4.89352455891786e-03});
  p = b.CreateFMul(p, clamped);
  llvm::Value* q = poly(b, x2, {1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03});
  llvm::Value* r = b.CreateFDiv(p, q);
  // Near 0 tanh(x) = x to float precision, and the ratio would lose it.
  llvm::Value* tiny = b.CreateFCmpOLT(b.CreateIntrinsic(llvm::Intrinsic::fabs, {b.getFloatTy()}, {x}), c(b, 0.0004));
  return b.CreateSelect(tiny, x, r);
}

// max(x, 0) + log(1 + e^-|x|): e^-|x| is in (0, 1], so nothing overflows.
llvm::Value* emitSoftplus(llvm::IRBuilder<>& b, llvm::Value* x) {
  llvm::Value* e = emitExp(b, b.CreateFNeg(b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x)));
  llvm::Value* positive = b.CreateSelect(b.CreateFCmpOGT(x, c(b, 0.0)), x, c(b, 0.0));
  return b.CreateFAdd(positive, emitLog(b, b.CreateFAdd(c(b, 1.0), e)));
}

llvm::Value* emitSigmoid(llvm::IRBuilder<>& b, llvm::Value* x) {
  llvm::Value* e = emitExp(b, b.CreateFNeg(x));
  return b.CreateFDiv(c(b, 1.0), b.CreateFAdd(c(b, 1.0), e));
}

// erf as an odd rational function on [-4, 4] (Eigen's and XLA's f32 erf);
// beyond 4 it is +-1 to float precision.
llvm::Value* emitErf(llvm::IRBuilder<>& b, llvm::Value* x) {
  llvm::Value* clamped = clampOrdered(b, x, -4.0, 4.0);
  llvm::Value* x2 = b.CreateFMul(clamped, clamped);
  llvm::Value* p = poly(b, x2, {-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
                                -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02});
  p = b.CreateFMul(p, clamped);
  llvm::Value* q = poly(b, x2, {-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
                                -7.37332916720468e-03, -1.42647390514189e-02});
  return b.CreateFDiv(p, q);
}

// x/2 (1 + erf(x / sqrt 2)).
llvm::Value* emitGelu(llvm::IRBuilder<>& b, llvm::Value* x) {
  llvm::Value* e = emitErf(b, b.CreateFMul(x, c(b, M_SQRT1_2)));
  return b.CreateFMul(b.CreateFMul(x, c(b, 0.5)), b.CreateFAdd(c(b, 1.0), e));
}

}  // namespace graphc
