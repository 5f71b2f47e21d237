// graph/Builder.h — the C++ DSL: build graphs with values and overloaded operators.
//
//   Graph g;  Builder b(g);
//   Value x = b.input("x", DType::F32, {32, 28});
//   Value W = b.param("W", {28, 512}, Init::normal(0.01));
//   Value h = tanh(matmul(x, W) + b.param("b", {512}));   // bias broadcast inserted
//   b.output("h", h);
//
// Binary operators broadcast numpy-style by inserting explicit `broadcast`
// nodes, so the IR itself only has same-shape elementwise ops.
#pragma once

#include <string>
#include <vector>

#include "graph/Graph.h"

namespace graphc {

class Builder;

class Value {
 public:
  Value() = default;
  Value(Builder* b, ValueId id) : b_(b), id_(id) {}
  ValueId id() const { return id_; }
  Builder& builder() const { return *b_; }
  bool valid() const { return b_ != nullptr && id_ >= 0; }
  // By value: building more nodes may move the graph's storage.
  TensorType type() const;
  Shape shape() const { return type().shape; }
  int64_t dim(int64_t i) const { return shape().at(size_t(i)); }

 private:
  Builder* b_ = nullptr;
  ValueId id_ = -1;
};

// A param's initializer, stored as the param's attributes.
struct Init {
  std::string kind = "zeros";
  double scale = 0.0;  // std for normal kinds, half-width for uniform, gain for orthogonal
  static Init zeros() { return {"zeros", 0.0}; }
  static Init ones() { return {"ones", 0.0}; }
  static Init normal(double std) { return {"normal", std}; }
  static Init uniform(double halfWidth) { return {"uniform", halfWidth}; }
  static Init truncatedNormal(double std) { return {"truncated_normal", std}; }
  static Init lecunNormal() { return {"lecun_normal", 1.0}; }
  static Init orthogonal(double gain = 1.0) { return {"orthogonal", gain}; }
};

class Builder {
 public:
  explicit Builder(Graph& g) : g_(g) {}
  Graph& graph() { return g_; }

  Value input(const std::string& name, DType dtype, const Shape& shape);
  Value param(const std::string& name, const Shape& shape, const Init& init = Init::zeros());
  Value state(const std::string& name, const Shape& shape, DType dtype = DType::F32);
  Value constant(double value, const Shape& shape = {}, DType dtype = DType::F32);

  // Appends a node, inferring its type; throws graphc::Error if the op refuses.
  Value op(OpKind kind, const std::vector<Value>& operands, Attrs attrs = {}, const std::string& name = "");
  Value wrap(ValueId id) { return Value(this, id); }

  void output(const std::string& name, Value v);
  void update(Value target, Value v);

  // A name scope (Flax's): params and state made while it lives are named
  // "<scope>.<name>", scopes nesting as "outer.inner.<name>", so two layers
  // of one kind in two blocks never collide. Inputs and outputs stay global.
  class Scope {
   public:
    Scope(Builder& b, std::string name);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Builder& b_;
    int exceptions_;
  };
  // `name` inside the current scopes.
  std::string scoped(const std::string& name) const;
  // The innermost scope an exception left (for the model's error message), or "".
  const std::string& failedScope() const { return failedScope_; }

 private:
  Value leaf(OpKind kind, const std::string& name, TensorType type, Attrs attrs);
  std::string operandList(const std::vector<Value>& operands) const;
  Graph& g_;
  std::vector<std::string> scopes_;
  std::string failedScope_;
};

// Elementwise arithmetic with numpy broadcasting; a double operand becomes a constant.
Value operator+(Value a, Value b);
Value operator-(Value a, Value b);
Value operator*(Value a, Value b);
Value operator/(Value a, Value b);
Value operator-(Value a);
Value operator+(Value a, double b);
Value operator+(double a, Value b);
Value operator-(Value a, double b);
Value operator-(double a, Value b);
Value operator*(Value a, double b);
Value operator*(double a, Value b);
Value operator/(Value a, double b);
Value operator/(double a, Value b);
Value maximum(Value a, Value b);
Value minimum(Value a, Value b);
Value compare(Value a, Value b, const std::string& pred);  // eq ne lt le gt ge -> i32 0/1
Value select(Value cond, Value a, Value b);

// exp, log, tanh, sigmoid, relu, sqrt, softplus, erf, gelu: graph/Unary.def.
#define GRAPHC_UNARY(Enum, Name, Reference) Value Name(Value a);
#include "graph/Unary.def"
#undef GRAPHC_UNARY
Value convert(Value a, DType to);

Value matmul(Value a, Value b, bool transposeA = false, bool transposeB = false);
Value reduceSum(Value a, const std::vector<int64_t>& axes);
Value reduceMean(Value a, const std::vector<int64_t>& axes);
Value reduceMax(Value a, const std::vector<int64_t>& axes);
Value argmax(Value a, int64_t axis);

Value broadcastTo(Value a, const Shape& shape);
Value reshape(Value a, const Shape& shape);
Value transpose(Value a, const std::vector<int64_t>& perm);
Value slice(Value a, const std::vector<int64_t>& start, const std::vector<int64_t>& limit);
Value pad(Value a, const std::vector<int64_t>& low, const std::vector<int64_t>& high);
Value concat(const std::vector<Value>& parts, int64_t axis);

// i32 [shape] whose element counts along `axis`: iota({2, 3}, 1) = [[0 1 2] [0 1 2]].
Value iota(Builder& b, const Shape& shape, int64_t axis);
Value oneHot(Value indices, int64_t depth);
// Uniform [0, 1) values of `shape` from the counter-based generator
// (graph/CounterRandom.h): key i32[3] = (seed, step, first row), `stream`
// tells apart the draws of one step.
Value randomUniform(Value key, const Shape& shape, int64_t stream);
// The sum of x over the processes of a distributed run (the identity on one process).
Value allReduce(Value x);
// zeroOutOfRange: an index outside the table reads a zero row (scatter_add
// drops it), as one_hot does, instead of being an error.
Value gather(Value table, Value indices, bool zeroOutOfRange = false);
Value scatterAdd(Value updates, Value indices, int64_t rows, bool zeroOutOfRange = false);
Value logSoftmax(Value logits);
// Fused attention of q, k, v [entries, T, D]: [entries, T, D + 1], each
// query's softmax(scale q k^T (+ causal mask)) v, then its logsumexp.
Value attention(Value q, Value k, Value v, double scale, bool causal);
Value softmaxCrossEntropy(Value logits, Value labels);  // per row
// linear_cross_entropy_grad (graph/Op.def) and its flat result cut into dx, dw, db.
struct LinearCrossEntropyGrads {
  Value dx, dw, db;
};
LinearCrossEntropyGrads linearCrossEntropyGrad(const std::vector<Value>& xWBLabelsLossDloss, const Attrs& attrs);

// The numpy broadcast of two shapes; throws when incompatible.
Shape broadcastShapes(const Shape& a, const Shape& b);

}  // namespace graphc
