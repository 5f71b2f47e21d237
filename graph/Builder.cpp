// graph/Builder.cpp — the DSL's node constructors.
#include "graph/Builder.h"
#include "graph/Constant.h"

#include <exception>
#include <fmt/format.h>

#include "graph/ShapeInference.h"

namespace graphc {

TensorType Value::type() const { return b_->graph().type(id_); }

Value Builder::leaf(OpKind kind, const std::string& name, TensorType type, Attrs attrs) {
  if (!name.empty() && g_.findValue(name) >= 0) throw Error(fmt::format("builder: the name %{} is taken", name));
  Node n;
  n.op = kind;
  n.name = name;
  n.type = std::move(type);
  n.attrs = std::move(attrs);
  n.group = group_;
  try {
    inferType(kind, {}, n.attrs, n.type);
  } catch (const Error& e) {
    throw Error(fmt::format("builder: {} %{}: {}", opName(kind), name, e.what()));
  }
  return Value(this, g_.add(std::move(n)));
}

Value Builder::input(const std::string& name, DType dtype, const Shape& shape, Where where) {
  Located site(*this, where);
  return leaf(OpKind::Input, name, {dtype, shape}, {});
}

Value Builder::param(const std::string& name, const Shape& shape, const Init& init, Where where) {
  Located site(*this, where);
  Attrs a{{attr::key::init, init.kind}};
  if (init.kind != "zeros" && init.kind != "ones") a[attr::key::scale] = init.scale;
  return leaf(OpKind::Param, scoped(name), {DType::F32, shape}, a);
}

Value Builder::state(const std::string& name, const Shape& shape, DType dtype, Where where) {
  Located site(*this, where);
  return leaf(OpKind::State, scoped(name), {dtype, shape}, {});
}

Builder::Scope::Scope(Builder& b, std::string name) : b_(b), exceptions_(std::uncaught_exceptions()) {
  if (name.empty() || name.find('.') != std::string::npos)
    throw Error(fmt::format("builder: a scope is named by one non-empty word without '.', not '{}'", name));
  b_.scopes_.push_back(std::move(name));
}

Builder::Scope::~Scope() {
  // Left by an exception: the innermost such scope is where the model failed.
  if (std::uncaught_exceptions() > exceptions_ && b_.failedScope_.empty()) {
    b_.failedScope_ = b_.scoped("");
    b_.failedScope_.pop_back();  // the trailing '.'
  }
  b_.scopes_.pop_back();
}

Builder::Group::Group(Builder& b, std::string name) : b_(b), outer_(std::move(b.group_)) {
  b_.group_ = std::move(name);
}

Builder::Group::~Group() { b_.group_ = std::move(outer_); }

Builder::Located::Located(Builder& b, const Where& where)
    : b_(b), outermost_(!b.call_), exceptions_(std::uncaught_exceptions()) {
  if (outermost_) b_.call_ = where;
}

Builder::Located::~Located() {
  if (!outermost_) return;
  if (std::uncaught_exceptions() > exceptions_ && b_.failedCall_.empty())
    b_.failedCall_ = fmt::format("{}:{}", b_.call_->file, b_.call_->line);
  b_.call_.reset();
}

std::string Builder::scoped(const std::string& name) const {
  std::string out;
  for (const std::string& s : scopes_) out += s + ".";
  return out + name;
}

// "%a : f32[2,3], %5 : f32[3,4]": the operands an error is about.
std::string Builder::operandList(const std::vector<Value>& operands) const {
  std::string out;
  for (const Value& v : operands) {
    if (!v.valid() || &v.builder() != this) continue;
    const Node& n = g_.node(v.id());
    out += fmt::format("{}%{} : {}", out.empty() ? "" : ", ", n.name.empty() ? std::to_string(v.id()) : n.name,
                       str(n.type));
  }
  return out;
}

Value Builder::constant(double value, const Shape& shape, DType dtype) {
  Node rounded;
  rounded.type = {dtype, shape};
  setConstantValue(rounded, value);
  return leaf(OpKind::Constant, "", {dtype, shape}, rounded.attrs);
}

Value Builder::op(OpKind kind, const std::vector<Value>& operands, Attrs attrs, const std::string& name, Where where) {
  Located site(*this, where);
  Node n;
  n.op = kind;
  n.name = name;
  std::vector<TensorType> in;
  for (const Value& v : operands) {
    if (!v.valid() || &v.builder() != this) throw Error(fmt::format("builder: {} got a value from another graph", opName(kind)));
    n.operands.push_back(v.id());
    in.push_back(v.type());
  }
  try {
    n.type = inferType(kind, in, attrs, {});
  } catch (const Error& e) {
    throw Error(fmt::format("builder: {}: {} (operands {})", opName(kind), e.what(), operandList(operands)));
  }
  n.attrs = std::move(attrs);
  n.group = group_;
  return Value(this, g_.add(std::move(n)));
}

void Builder::output(const std::string& name, Value v) { g_.setOutput(name, v.id()); }

void Builder::update(Value target, Value v) { g_.updates.push_back({target.id(), v.id(), {}}); }

Shape broadcastShapes(const Shape& a, const Shape& b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error(fmt::format("builder: shapes {} and {} do not broadcast", str(a), str(b)));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {

Value binary(OpKind kind, Value a, Value b, Attrs attrs = {}) {
  Shape s = broadcastShapes(a.shape(), b.shape());
  if (a.shape() != s) a = broadcastTo(a, s);
  if (b.shape() != s) b = broadcastTo(b, s);
  return a.builder().op(kind, {a, b}, std::move(attrs));
}

Value scalarLike(Value like, double v) { return like.builder().constant(v, {}, like.type().dtype); }

Value unary(OpKind kind, Value a) { return a.builder().op(kind, {a}); }

}  // namespace

Value operator+(Value a, Value b) { return binary(OpKind::Add, a, b); }
Value operator-(Value a, Value b) { return binary(OpKind::Sub, a, b); }
Value operator*(Value a, Value b) { return binary(OpKind::Mul, a, b); }
Value operator/(Value a, Value b) { return binary(OpKind::Div, a, b); }
Value operator-(Value a) { return unary(OpKind::Neg, a); }
Value operator+(Value a, double b) { return a + scalarLike(a, b); }
Value operator+(double a, Value b) { return scalarLike(b, a) + b; }
Value operator-(Value a, double b) { return a - scalarLike(a, b); }
Value operator-(double a, Value b) { return scalarLike(b, a) - b; }
Value operator*(Value a, double b) { return a * scalarLike(a, b); }
Value operator*(double a, Value b) { return scalarLike(b, a) * b; }
Value operator/(Value a, double b) { return a / scalarLike(a, b); }
Value operator/(double a, Value b) { return scalarLike(b, a) / b; }
Value maximum(Value a, Value b, Where where) {
  Builder::Located site(a.builder(), where);
  return binary(OpKind::Maximum, a, b);
}
Value minimum(Value a, Value b, Where where) {
  Builder::Located site(a.builder(), where);
  return binary(OpKind::Minimum, a, b);
}
Value compare(Value a, Value b, const std::string& pred, Where where) {
  Builder::Located site(a.builder(), where);
  return binary(OpKind::Compare, a, b, {{attr::key::pred, pred}});
}
Value select(Value cond, Value a, Value b, Where where) {
  Builder::Located site(cond.builder(), where);
  return cond.builder().op(OpKind::Select, {cond, a, b});
}

#define GRAPHC_UNARY(Enum, Name, Reference)  \
  Value Name(Value a, Where where) {            \
    Builder::Located site(a.builder(), where); \
    return unary(OpKind::Enum, a);             \
  }
#include "graph/Unary.def"
#undef GRAPHC_UNARY
Value convert(Value a, DType to, Where where) {
  Builder::Located site(a.builder(), where);
  return a.builder().op(OpKind::Convert, {a}, {{attr::key::dtype, std::string(dtypeName(to))}});
}

Value matmul(Value a, Value b, bool transposeA, bool transposeB, Where where) {
  Builder::Located site(a.builder(), where);
  Attrs attrs;
  if (transposeA) attrs[attr::key::transposeA] = int64_t(1);
  if (transposeB) attrs[attr::key::transposeB] = int64_t(1);
  return a.builder().op(OpKind::MatMul, {a, b}, attrs);
}

Value reduceSum(Value a, const std::vector<int64_t>& axes, Where where) {
  Builder::Located site(a.builder(), where);
  return a.builder().op(OpKind::ReduceSum, {a}, {{attr::key::axes, axes}});
}
Value reduceMean(Value a, const std::vector<int64_t>& axes, Where where) {
  Builder::Located site(a.builder(), where);
  return a.builder().op(OpKind::ReduceMean, {a}, {{attr::key::axes, axes}});
}
Value reduceMax(Value a, const std::vector<int64_t>& axes, Where where) {
  Builder::Located site(a.builder(), where);
  return a.builder().op(OpKind::ReduceMax, {a}, {{attr::key::axes, axes}});
}
Value sumSquares(Value a, Where where) {
  Builder::Located site(a.builder(), where);
  return a.builder().op(OpKind::SumSquares, {a}, {});
}
Value argmax(Value a, int64_t axis, Where where) {
  Builder::Located site(a.builder(), where);
  return a.builder().op(OpKind::ArgMax, {a}, {{attr::key::axis, axis}});
}

Value broadcastTo(Value a, const Shape& shape, Where where) {
  Builder::Located site(a.builder(), where);
  if (a.shape() == shape) return a;
  return a.builder().op(OpKind::Broadcast, {a}, {{attr::key::shape, shape}});
}
Value reshape(Value a, const Shape& shape, Where where) {
  Builder::Located site(a.builder(), where);
  if (a.shape() == shape) return a;
  return a.builder().op(OpKind::Reshape, {a}, {{attr::key::shape, shape}});
}
Value transpose(Value a, const std::vector<int64_t>& perm, Where where) {
  Builder::Located site(a.builder(), where);
  return a.builder().op(OpKind::Transpose, {a}, {{attr::key::perm, perm}});
}
Value slice(Value a, const std::vector<int64_t>& start, const std::vector<int64_t>& limit, Where where) {
  Builder::Located site(a.builder(), where);
  return a.builder().op(OpKind::Slice, {a}, {{attr::key::start, start}, {attr::key::limit, limit}});
}
Value pad(Value a, const std::vector<int64_t>& low, const std::vector<int64_t>& high, Where where) {
  Builder::Located site(a.builder(), where);
  return a.builder().op(OpKind::Pad, {a}, {{attr::key::low, low}, {attr::key::high, high}});
}
Value concat(const std::vector<Value>& parts, int64_t axis, Where where) {
  if (parts.empty()) throw Error("builder: concat of nothing");
  Builder::Located site(parts[0].builder(), where);
  if (parts.size() == 1) return parts[0];
  return parts[0].builder().op(OpKind::Concat, parts, {{attr::key::axis, axis}});
}

Value allReduce(Value x, Where where) {
  Builder::Located site(x.builder(), where);
  return x.builder().op(OpKind::AllReduce, {x});
}
Value randomUniform(Value key, const Shape& shape, int64_t stream, Where where) {
  Builder::Located site(key.builder(), where);
  return key.builder().op(OpKind::RandomUniform, {key}, {{attr::key::shape, shape}, {attr::key::stream, stream}});
}
Value iota(Builder& b, const Shape& shape, int64_t axis, Where where) {
  Builder::Located site(b, where);
  return b.op(OpKind::Iota, {}, {{attr::key::shape, shape}, {attr::key::axis, axis}});
}
Value attention(Value q, Value k, Value v, double scale, bool causal, Where where) {
  Builder::Located site(q.builder(), where);
  Attrs attrs = {{attr::key::scale, scale}};
  if (causal) attrs[attr::key::causal] = int64_t(1);
  return q.builder().op(OpKind::Attention, {q, k, v}, attrs);
}
Value oneHot(Value indices, int64_t depth, Where where) {
  Builder::Located site(indices.builder(), where);
  return indices.builder().op(OpKind::OneHot, {indices}, {{attr::key::depth, depth}});
}
Value gather(Value table, Value indices, bool zeroOutOfRange, Where where) {
  Builder::Located site(table.builder(), where);
  Attrs attrs;
  if (zeroOutOfRange) attrs[attr::key::zeroOutOfRange] = int64_t(1);
  return table.builder().op(OpKind::Gather, {table, indices}, attrs);
}
Value scatterAdd(Value updates, Value indices, int64_t rows, bool zeroOutOfRange, Where where) {
  Builder::Located site(updates.builder(), where);
  Attrs attrs{{attr::key::rows, rows}};
  if (zeroOutOfRange) attrs[attr::key::zeroOutOfRange] = int64_t(1);
  return updates.builder().op(OpKind::ScatterAdd, {updates, indices}, attrs);
}
Value logSoftmax(Value logits, Where where) {
  Builder::Located site(logits.builder(), where);
  return unary(OpKind::LogSoftmax, logits);
}
namespace {
// dx, dw, db: views of d from `at` on.
LinearCrossEntropyGrads gradientViews(Value d, int64_t at, const std::vector<Value>& operands) {
  const Value &x = operands.at(0), &w = operands.at(1);
  const int64_t dwAt = at + x.type().numElements(), dbAt = dwAt + w.type().numElements(), v = operands.at(2).dim(0);
  return {reshape(slice(d, {at}, {dwAt}), x.shape()), reshape(slice(d, {dwAt}, {dbAt}), w.shape()),
          slice(d, {dbAt}, {dbAt + v})};
}
}  // namespace

LinearCrossEntropyGrads linearCrossEntropyGrad(const std::vector<Value>& operands, const Attrs& attrs) {
  return gradientViews(operands.at(0).builder().op(OpKind::LinearCrossEntropyGrad, operands, attrs), 0, operands);
}

LinearCrossEntropyStep linearCrossEntropyTrain(const std::vector<Value>& operands, const Attrs& attrs) {
  const int64_t rows = operands.at(0).dim(0);
  Value d = operands.at(0).builder().op(OpKind::LinearCrossEntropyTrain, operands, attrs);
  return {slice(d, {0}, {rows}), gradientViews(d, rows, operands)};
}

Value softmaxCrossEntropy(Value logits, Value labels, Where where) {
  Builder::Located site(logits.builder(), where);
  return logits.builder().op(OpKind::SoftmaxCrossEntropy, {logits, labels});
}

}  // namespace graphc
