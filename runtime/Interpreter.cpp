// runtime/Interpreter.cpp — one reference kernel per op.
#include "runtime/Interpreter.h"

#include "graph/Analysis.h"
#include "runtime/AttentionReference.h"
#include "graph/CounterRandom.h"

#include "codegen/Collectives.h"


#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>

namespace graphc {
namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Calls fn(linearIndex, multiIndex) for every element of `shape` in row-major order.
template <typename Fn>
void forEachIndex(const Shape& shape, Fn fn) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    fn(i, idx);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

template <typename T>
T* data(Tensor& t);
template <>
float* data<float>(Tensor& t) { return t.f32(); }
template <>
int32_t* data<int32_t>(Tensor& t) { return t.i32(); }
template <typename T>
const T* data(const Tensor& t) { return data<T>(const_cast<Tensor&>(t)); }

template <typename T, typename Fn>
Tensor binaryMap(const TensorType& type, const Tensor& a, const Tensor& b, Fn fn) {
  Tensor out(type);
  const T* x = data<T>(a);
  const T* y = data<T>(b);
  T* o = data<T>(out);
  for (int64_t i = 0, n = out.size(); i < n; ++i) o[i] = fn(x[i], y[i]);
  return out;
}

template <typename Fn>
Tensor binaryArith(const Node& n, const Tensor& a, const Tensor& b, Fn fn) {
  if (n.type.dtype == DType::F32) return binaryMap<float>(n.type, a, b, [&](float x, float y) { return float(fn(x, y)); });
  return binaryMap<int32_t>(n.type, a, b, [&](int32_t x, int32_t y) { return int32_t(fn(x, y)); });
}

template <typename Fn>
Tensor unaryF32(const Node& n, const Tensor& a, Fn fn) {
  Tensor out(n.type);
  const float* x = a.f32();
  float* o = out.f32();
  for (int64_t i = 0, e = out.size(); i < e; ++i) o[i] = fn(x[i]);
  return out;
}

template <typename T>
bool comparePred(const std::string& pred, T x, T y) {
  if (pred == "eq") return x == y;
  if (pred == "ne") return x != y;
  if (pred == "lt") return x < y;
  if (pred == "le") return x <= y;
  if (pred == "gt") return x > y;
  return x >= y;  // "ge"; the verifier allows nothing else
}

Tensor compareOp(const Node& n, const Tensor& a, const Tensor& b) {
  Tensor out(n.type);
  const std::string& pred = attr::pred(n.attrs);
  for (int64_t i = 0; i < out.size(); ++i)
    out.i32()[i] = a.dtype() == DType::F32 ? comparePred(pred, a.f32()[i], b.f32()[i])
                                           : comparePred(pred, a.i32()[i], b.i32()[i]);
  return out;
}

// Copies elements by an index map from output multi-index to input linear index (-1: zero).
template <typename Map>
Tensor gatherBy(const TensorType& type, const Tensor& in, Map map) {
  Tensor out(type);
  forEachIndex(type.shape, [&](int64_t i, const std::vector<int64_t>& idx) {
    int64_t j = map(idx);
    if (type.dtype == DType::F32) out.f32()[i] = j < 0 ? 0.0f : in.f32()[j];
    else out.i32()[i] = j < 0 ? 0 : in.i32()[j];
  });
  return out;
}

Tensor broadcastOp(const Node& n, const Tensor& in) {
  auto st = stridesOf(in.shape());
  size_t off = n.type.shape.size() - in.shape().size();
  return gatherBy(n.type, in, [&](const std::vector<int64_t>& idx) {
    int64_t j = 0;
    for (size_t d = 0; d < in.shape().size(); ++d)
      if (in.shape()[d] != 1) j += idx[off + d] * st[d];
    return j;
  });
}

Tensor transposeOp(const Node& n, const Tensor& in) {
  auto st = stridesOf(in.shape());
  const auto& perm = attr::perm(n.attrs);
  return gatherBy(n.type, in, [&](const std::vector<int64_t>& idx) {
    int64_t j = 0;
    for (size_t d = 0; d < perm.size(); ++d) j += idx[d] * st[size_t(perm[d])];
    return j;
  });
}

Tensor sliceOp(const Node& n, const Tensor& in) {
  auto st = stridesOf(in.shape());
  const auto& start = attr::start(n.attrs);
  return gatherBy(n.type, in, [&](const std::vector<int64_t>& idx) {
    int64_t j = 0;
    for (size_t d = 0; d < idx.size(); ++d) j += (idx[d] + start[d]) * st[d];
    return j;
  });
}

Tensor padOp(const Node& n, const Tensor& in) {
  auto st = stridesOf(in.shape());
  const auto& low = attr::low(n.attrs);
  return gatherBy(n.type, in, [&](const std::vector<int64_t>& idx) {
    int64_t j = 0;
    for (size_t d = 0; d < idx.size(); ++d) {
      int64_t k = idx[d] - low[d];
      if (k < 0 || k >= in.shape()[d]) return int64_t(-1);
      j += k * st[d];
    }
    return j;
  });
}

// Row-major: for each index over the axes before `axis`, every part
// contributes one contiguous run of (its extent along axis) x (inner size).
Tensor concatOp(const Node& n, const std::vector<const Tensor*>& in) {
  int64_t axis = attr::axis(n.attrs);
  if (axis < 0) axis += n.type.rank();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= n.type.shape[size_t(d)];
  for (int64_t d = axis + 1; d < n.type.rank(); ++d) inner *= n.type.shape[size_t(d)];
  Tensor out(n.type);
  int64_t written = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (const Tensor* part : in) {
      int64_t run = part->shape()[size_t(axis)] * inner;
      if (n.type.dtype == DType::F32) std::copy_n(part->f32() + o * run, run, out.f32() + written);
      else std::copy_n(part->i32() + o * run, run, out.i32() + written);
      written += run;
    }
  return out;
}

Tensor reduceOp(const Node& n, const Tensor& in) {
  std::vector<bool> reduced(in.shape().size(), false);
  for (int64_t a : attr::axes(n.attrs)) reduced[size_t(a)] = true;
  auto outStrides = stridesOf(n.type.shape);
  bool isMax = n.op == OpKind::ReduceMax;
  std::vector<double> acc(size_t(n.type.numElements()), isMax ? -std::numeric_limits<double>::infinity() : 0.0);
  forEachIndex(in.shape(), [&](int64_t i, const std::vector<int64_t>& idx) {
    int64_t j = 0;
    for (size_t d = 0, od = 0; d < idx.size(); ++d)
      if (!reduced[d]) j += idx[d] * outStrides[od++];
    double v = in.at(i);
    if (isMax) acc[size_t(j)] = (std::isnan(v) || v > acc[size_t(j)]) ? v : acc[size_t(j)];
    else acc[size_t(j)] += v;
  });
  if (n.op == OpKind::ReduceMean) {
    double count = double(in.size()) / double(std::max<int64_t>(1, n.type.numElements()));
    for (double& v : acc) v /= count;
  }
  Tensor out(n.type);
  for (size_t j = 0; j < acc.size(); ++j) {
    if (n.type.dtype == DType::F32) out.f32()[j] = float(acc[j]);
    else out.i32()[j] = int32_t(acc[j]);
  }
  return out;
}

Tensor argmaxOp(const Node& n, const Tensor& in) {
  int64_t axis = attr::axis(n.attrs);
  if (axis < 0) axis += int64_t(in.shape().size());
  int64_t len = in.shape()[size_t(axis)], inner = stridesOf(in.shape())[size_t(axis)];
  int64_t outer = in.size() / std::max<int64_t>(1, len * inner);
  Tensor out(n.type);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t r = 0; r < inner; ++r) {
      int64_t best = 0;
      for (int64_t k = 1; k < len; ++k)
        if (in.at((o * len + k) * inner + r) > in.at((o * len + best) * inner + r)) best = k;
      out.i32()[o * inner + r] = int32_t(best);
    }
  return out;
}

// A batched product is one 2-d product per entry of the leading dimensions.
Tensor matmulOp(const Node& n, const Tensor& a, const Tensor& b) {
  bool ta = attr::transposeA(n.attrs), tb = attr::transposeB(n.attrs);
  const size_t r = a.shape().size();
  const int64_t aRows = a.shape()[r - 2], aCols = a.shape()[r - 1], bRows = b.shape()[r - 2], bCols = b.shape()[r - 1];
  const int64_t m = n.type.shape[r - 2], cols = n.type.shape[r - 1];
  Tensor out(n.type);
  for (int64_t e = 0, entries = batchCount(n.type); e < entries; ++e) {
    Eigen::Map<const RowMajor> A(a.f32() + e * aRows * aCols, aRows, aCols);
    Eigen::Map<const RowMajor> B(b.f32() + e * bRows * bCols, bRows, bCols);
    Eigen::Map<RowMajor> C(out.f32() + e * m * cols, m, cols);
    if (!ta && !tb) C.noalias() = A * B;
    else if (ta && !tb) C.noalias() = A.transpose() * B;
    else if (!ta && tb) C.noalias() = A * B.transpose();
    else C.noalias() = A.transpose() * B.transpose();
  }
  return out;
}

// pack_panels: out[p][k][j] = op(B)[k][W p + j], zero past n (graph/PackedLayout.h).
Tensor packPanelsOp(const Node& n, const Tensor& b) {
  bool t = attr::transpose(n.attrs);
  int64_t rows = b.shape()[0], cols = b.shape()[1];
  int64_t k = t ? cols : rows, width = t ? rows : cols, panel = n.type.shape[2];
  Tensor out(n.type);
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t j = 0; j < width; ++j)
      out.f32()[((j / panel) * k + kk) * panel + j % panel] = t ? b.f32()[j * cols + kk] : b.f32()[kk * cols + j];
  return out;
}

// packed_matmul: op(A) times the k x n matrix the panels hold.
Tensor packedMatmulOp(const Node& n, const Tensor& a, const Tensor& packed) {
  bool ta = attr::transposeA(n.attrs);
  int64_t k = packed.shape()[1], width = n.type.shape[1], panel = packed.shape()[2];
  RowMajor B(k, width);
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t j = 0; j < width; ++j) B(kk, j) = packed.f32()[((j / panel) * k + kk) * panel + j % panel];
  Eigen::Map<const RowMajor> A(a.f32(), a.shape()[0], a.shape()[1]);
  Tensor out(n.type);
  Eigen::Map<RowMajor> C(out.f32(), n.type.shape[0], width);
  if (ta) C.noalias() = A.transpose() * B;
  else C.noalias() = A * B;
  return out;
}

int64_t checkIndex(int64_t idx, int64_t limit, const Node& n) {
  if (idx < 0 || idx >= limit)
    throw Error(fmt::format("%{}: {} index {} out of range [0, {})", n.name, opName(n.op), idx, limit));
  return idx;
}

Tensor iotaOp(const Node& n) {
  int64_t axis = attr::axis(n.attrs);
  if (axis < 0) axis += n.type.rank();
  int64_t inner = stridesOf(n.type.shape)[size_t(axis)], len = n.type.shape[size_t(axis)];
  Tensor out(n.type);
  for (int64_t i = 0; i < out.size(); ++i) out.i32()[i] = int32_t((i / inner) % len);
  return out;
}

Tensor oneHotOp(const Node& n, const Tensor& idx) {
  int64_t depth = attr::depth(n.attrs);
  Tensor out(n.type);
  for (int64_t i = 0; i < idx.size(); ++i) {
    int32_t k = idx.i32()[i];
    if (k >= 0 && k < depth) out.f32()[i * depth + k] = 1.0f;  // out of range: a zero row, as in JAX
  }
  return out;
}

// With zero_out_of_range, an index outside [0, rows) reads a zero row (gather)
// or is dropped (scatter_add), as one_hot treats it; otherwise it is an error.
Tensor gatherOp(const Node& n, const Tensor& table, const Tensor& idx) {
  int64_t rows = table.shape()[0], width = table.shape()[1];
  bool zeroOutOfRange = attr::zeroOutOfRange(n.attrs);
  Tensor out(n.type);
  for (int64_t i = 0; i < idx.size(); ++i) {
    if (zeroOutOfRange && (idx.i32()[i] < 0 || idx.i32()[i] >= rows)) continue;  // out is zeroed
    int64_t r = checkIndex(idx.i32()[i], rows, n);
    std::copy_n(table.f32() + r * width, width, out.f32() + i * width);
  }
  return out;
}

Tensor scatterAddOp(const Node& n, const Tensor& updates, const Tensor& idx) {
  int64_t rows = n.type.shape[0], width = n.type.shape[1];
  bool zeroOutOfRange = attr::zeroOutOfRange(n.attrs);
  Tensor out(n.type);
  for (int64_t i = 0; i < idx.size(); ++i) {
    if (zeroOutOfRange && (idx.i32()[i] < 0 || idx.i32()[i] >= rows)) continue;
    int64_t r = checkIndex(idx.i32()[i], rows, n);
    for (int64_t c = 0; c < width; ++c) out.f32()[r * width + c] += updates.f32()[i * width + c];
  }
  return out;
}

Tensor logSoftmaxOp(const Node& n, const Tensor& in) {
  int64_t width = in.shape().back(), rows = width ? in.size() / width : 0;
  Tensor out(n.type);
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = in.f32() + r * width;
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < width; ++c) mx = std::max(mx, double(x[c]));
    double s = 0;
    for (int64_t c = 0; c < width; ++c) s += std::exp(double(x[c]) - mx);
    double lse = mx + std::log(s);
    for (int64_t c = 0; c < width; ++c) out.f32()[r * width + c] = float(double(x[c]) - lse);
  }
  return out;
}

Tensor softmaxCrossEntropyOp(const Node& n, const Tensor& logits, const Tensor& labels) {
  int64_t rows = logits.shape()[0], width = logits.shape()[1];
  Tensor out(n.type);
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = logits.f32() + r * width;
    int64_t label = checkIndex(labels.i32()[r], width, n);
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < width; ++c) mx = std::max(mx, double(x[c]));
    double s = 0;
    for (int64_t c = 0; c < width; ++c) s += std::exp(double(x[c]) - mx);
    out.f32()[r] = float(mx + std::log(s) - double(x[label]));
  }
  return out;
}

Tensor constantOp(const Node& n) {
  Tensor out(n.type);
  if (n.type.dtype == DType::F32) std::fill_n(out.f32(), out.size(), float(attr::value(n.attrs)));
  else std::fill_n(out.i32(), out.size(), int32_t(attrInt(n.attrs, attr::key::value)));
  return out;
}

Tensor convertOp(const Node& n, const Tensor& in) {
  Tensor out(n.type);
  for (int64_t i = 0; i < in.size(); ++i) {
    if (n.type.dtype == DType::F32) out.f32()[i] = float(in.at(i));
    else out.i32()[i] = int32_t(in.at(i));  // toward zero
  }
  return out;
}

}  // namespace

Tensor evaluateNode(const Node& n, const std::vector<const Tensor*>& in) {
  switch (n.op) {
    case OpKind::Constant: return constantOp(n);
    case OpKind::Input:
    case OpKind::Param:
    case OpKind::State: throw Error(fmt::format("%{}: leaves are bound, not evaluated", n.name));
    case OpKind::Add: return binaryArith(n, *in[0], *in[1], [](auto x, auto y) { return x + y; });
    case OpKind::Sub: return binaryArith(n, *in[0], *in[1], [](auto x, auto y) { return x - y; });
    case OpKind::Mul: return binaryArith(n, *in[0], *in[1], [](auto x, auto y) { return x * y; });
    case OpKind::Div:
      if (n.type.dtype == DType::I32)
        return binaryMap<int32_t>(n.type, *in[0], *in[1], [](int32_t x, int32_t y) { return y == 0 ? 0 : x / y; });
      return binaryArith(n, *in[0], *in[1], [](auto x, auto y) { return x / y; });
    case OpKind::Maximum:
      return binaryArith(n, *in[0], *in[1], [](auto x, auto y) { return (x != x || x > y) ? x : y; });
    case OpKind::Minimum:
      return binaryArith(n, *in[0], *in[1], [](auto x, auto y) { return (x != x || x < y) ? x : y; });
    case OpKind::Compare: return compareOp(n, *in[0], *in[1]);
    case OpKind::Select: {
      Tensor out(n.type);
      for (int64_t i = 0; i < out.size(); ++i) {
        const Tensor& src = in[0]->i32()[i] ? *in[1] : *in[2];
        if (n.type.dtype == DType::F32) out.f32()[i] = src.f32()[i];
        else out.i32()[i] = src.i32()[i];
      }
      return out;
    }
    case OpKind::Neg:
      if (n.type.dtype == DType::I32) return binaryArith(n, *in[0], *in[0], [](auto x, auto) { return -x; });
      return unaryF32(n, *in[0], [](float x) { return -x; });
    case OpKind::Exp: return unaryF32(n, *in[0], [](float x) { return std::exp(x); });
    case OpKind::Log: return unaryF32(n, *in[0], [](float x) { return std::log(x); });
    case OpKind::Tanh: return unaryF32(n, *in[0], [](float x) { return std::tanh(x); });
    case OpKind::Sigmoid: return unaryF32(n, *in[0], [](float x) { return float(1.0 / (1.0 + std::exp(-double(x)))); });
    case OpKind::Softplus:
      return unaryF32(n, *in[0], [](float x) {
        return float(std::max(double(x), 0.0) + std::log1p(std::exp(-std::abs(double(x)))));
      });
    case OpKind::Erf: return unaryF32(n, *in[0], [](float x) { return std::erf(x); });
    case OpKind::Gelu:
      return unaryF32(n, *in[0], [](float x) { return float(0.5 * double(x) * (1.0 + std::erf(double(x) * M_SQRT1_2))); });
    case OpKind::Relu: return unaryF32(n, *in[0], [](float x) { return x > 0.0f ? x : 0.0f; });
    case OpKind::Sqrt: return unaryF32(n, *in[0], [](float x) { return std::sqrt(x); });
    case OpKind::Convert: return convertOp(n, *in[0]);
    case OpKind::MatMul: return matmulOp(n, *in[0], *in[1]);
    case OpKind::PackPanels: return packPanelsOp(n, *in[0]);
    case OpKind::PackedMatMul: return packedMatmulOp(n, *in[0], *in[1]);
    case OpKind::ReduceSum:
    case OpKind::ReduceMean:
    case OpKind::ReduceMax: return reduceOp(n, *in[0]);
    case OpKind::ArgMax: return argmaxOp(n, *in[0]);
    case OpKind::Broadcast: return broadcastOp(n, *in[0]);
    case OpKind::Reshape: {
      Tensor out = *in[0];
      Tensor reshaped(n.type);
      if (n.type.dtype == DType::F32) reshaped.f32Vector() = std::move(out.f32Vector());
      else std::copy_n(in[0]->i32(), in[0]->size(), reshaped.i32());
      return reshaped;
    }
    case OpKind::Transpose: return transposeOp(n, *in[0]);
    case OpKind::Slice: return sliceOp(n, *in[0]);
    case OpKind::Pad: return padOp(n, *in[0]);
    case OpKind::Concat: return concatOp(n, in);
    case OpKind::Iota: return iotaOp(n);
    case OpKind::Attention: return attentionReference(n, *in[0], *in[1], *in[2]);
    case OpKind::AttentionGrad: return attentionGradReference(n, *in[0], *in[1], *in[2], *in[3], *in[4]);
    case OpKind::OneHot: return oneHotOp(n, *in[0]);
    case OpKind::RandomUniform: {
      Tensor out(n.type);
      int64_t cols = n.type.shape[0] != 0 ? n.type.numElements() / n.type.shape[0] : 0;
      for (int64_t i = 0; i < out.size(); ++i)
        out.f32()[i] = randomUniformElement(in[0]->i32(), uint64_t(attr::stream(n.attrs)), cols, i);
      return out;
    }
    case OpKind::AllReduce: {
      Tensor out = *in[0];
      allReduceSum(out.f32(), out.size());
      return out;
    }
    case OpKind::Gather: return gatherOp(n, *in[0], *in[1]);
    case OpKind::ScatterAdd: return scatterAddOp(n, *in[0], *in[1]);
    case OpKind::LogSoftmax: return logSoftmaxOp(n, *in[0]);
    case OpKind::SoftmaxCrossEntropy: return softmaxCrossEntropyOp(n, *in[0], *in[1]);
    case OpKind::Fused: {
      TensorMap args;
      for (size_t k = 0; k < in.size(); ++k) args["arg" + std::to_string(k)] = *in[k];
      return Interpreter(*n.body).run(args).at("result");
    }
  }
  throw Error("unknown op");
}

Interpreter::Interpreter(const Graph& g) : g_(g), lastUse_(g.size(), 0) {
  for (size_t i = 0; i < g.size(); ++i)
    for (ValueId o : g.nodes[i].operands) lastUse_[size_t(o)] = i;
  // Values read by outputs or updates live to the end.
  for (const auto& o : g.outputs) lastUse_[size_t(o.value)] = g.size();
  for (const auto& u : g.updates) lastUse_[size_t(u.value)] = g.size();
}

TensorMap Interpreter::run(TensorMap& vars) {
  std::vector<Tensor> values(g_.size());
  std::vector<const Tensor*> ptrs(g_.size(), nullptr);
  for (size_t i = 0; i < g_.size(); ++i) {
    const Node& n = g_.nodes[i];
    if (isSignature(n.op)) {
      auto it = vars.find(n.name);
      if (it == vars.end()) throw Error(fmt::format("no value bound for {} %{}", opName(n.op), n.name));
      if (it->second.type() != n.type)
        throw Error(fmt::format("{} %{} expects {}, got {}", opName(n.op), n.name, str(n.type),
                                str(it->second.type())));
      ptrs[i] = &it->second;
      continue;
    }
    std::vector<const Tensor*> in;
    for (ValueId o : n.operands) in.push_back(ptrs[size_t(o)]);
    values[i] = evaluateNode(n, in);
    ptrs[i] = &values[i];
    for (ValueId o : n.operands)
      if (lastUse_[size_t(o)] == i) values[size_t(o)] = Tensor();  // free early; leaves stay bound
  }
  TensorMap outputs;
  for (const auto& o : g_.outputs) outputs[o.name] = *ptrs[size_t(o.value)];
  // Read every update before writing any: an update may read another's target.
  std::vector<std::pair<std::string, Tensor>> pending;
  for (const auto& u : g_.updates) pending.emplace_back(g_.node(u.target).name, *ptrs[size_t(u.value)]);
  for (auto& [name, t] : pending) vars[name] = std::move(t);
  return outputs;
}

}  // namespace graphc
