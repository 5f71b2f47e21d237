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

#include <optional>
#include <string>
#include <vector>

#include "graph/Graph.h"

namespace graphc {

class Builder;

// Where a model's code called the builder; every builder function but the
// operators (C++ gives them no room for it) takes one, defaulted to the
// caller's line, so a build error can say "at mymodel.cpp:42". It is
// std::source_location's idea by the compilers' builtins, which GCC and every
// clang have (clang 14 cannot compile libstdc++'s std::source_location).
struct Where {
  const char* file = "";
  int line = 0;
  static constexpr Where current(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    return {file, line};
  }
};

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

  Value input(const std::string& name, DType dtype, const Shape& shape, Where where = Where::current());
  Value param(const std::string& name, const Shape& shape, const Init& init = Init::zeros(), Where where = Where::current());
  Value state(const std::string& name, const Shape& shape, DType dtype = DType::F32, Where where = Where::current());
  Value constant(double value, const Shape& shape = {}, DType dtype = DType::F32);

  // Appends a node, inferring its type; throws graphc::Error if the op refuses.
  Value op(OpKind kind, const std::vector<Value>& operands, Attrs attrs = {}, const std::string& name = "",
           Where where = Where::current());
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

  // The layer the nodes built while it lives belong to (Node::group), for
  // pictures; names are not changed. The innermost group wins; "" is none.
  class Group {
   public:
    Group(Builder& b, std::string name);
    ~Group();
    Group(const Group&) = delete;
    Group& operator=(const Group&) = delete;

   private:
    Builder& b_;
    std::string outer_;
  };

  // Marks a builder call for the duration of the function it is made in. The
  // outermost marked call on the stack is the model's own line (a layer's call,
  // not the matmul inside the layer); an exception leaving it is recorded.
  class Located {
   public:
    Located(Builder& b, const Where& where);
    ~Located();
    Located(const Located&) = delete;
    Located& operator=(const Located&) = delete;

   private:
    Builder& b_;
    bool outermost_;
    int exceptions_;
  };
  // "file:line" of the model's call an exception left, or "".
  const std::string& failedCall() const { return failedCall_; }

 private:
  Value leaf(OpKind kind, const std::string& name, TensorType type, Attrs attrs);
  std::string operandList(const std::vector<Value>& operands) const;
  Graph& g_;
  std::vector<std::string> scopes_;
  std::string group_;  // Group's
  std::string failedScope_;
  std::optional<Where> call_;  // the outermost marked call in progress
  std::string failedCall_;
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
Value maximum(Value a, Value b, Where where = Where::current());
Value minimum(Value a, Value b, Where where = Where::current());
// pred: eq ne lt le gt ge -> i32 0/1
Value compare(Value a, Value b, const std::string& pred, Where where = Where::current());
Value select(Value cond, Value a, Value b, Where where = Where::current());

// exp, log, tanh, sigmoid, relu, sqrt, softplus, erf, gelu: graph/Unary.def.
#define GRAPHC_UNARY(Enum, Name, Reference) Value Name(Value a, Where where = Where::current());
#include "graph/Unary.def"
#undef GRAPHC_UNARY
Value convert(Value a, DType to, Where where = Where::current());

Value matmul(Value a, Value b, bool transposeA = false, bool transposeB = false, Where where = Where::current());
Value reduceSum(Value a, const std::vector<int64_t>& axes, Where where = Where::current());
Value reduceMean(Value a, const std::vector<int64_t>& axes, Where where = Where::current());
Value reduceMax(Value a, const std::vector<int64_t>& axes, Where where = Where::current());
Value argmax(Value a, int64_t axis, Where where = Where::current());
Value sumSquares(Value a, Where where = Where::current());

Value broadcastTo(Value a, const Shape& shape, Where where = Where::current());
Value reshape(Value a, const Shape& shape, Where where = Where::current());
Value transpose(Value a, const std::vector<int64_t>& perm, Where where = Where::current());
Value slice(Value a, const std::vector<int64_t>& start, const std::vector<int64_t>& limit, Where where = Where::current());
Value pad(Value a, const std::vector<int64_t>& low, const std::vector<int64_t>& high, Where where = Where::current());
Value concat(const std::vector<Value>& parts, int64_t axis, Where where = Where::current());

// i32 [shape] whose element counts along `axis`: iota({2, 3}, 1) = [[0 1 2] [0 1 2]].
Value iota(Builder& b, const Shape& shape, int64_t axis, Where where = Where::current());
Value oneHot(Value indices, int64_t depth, Where where = Where::current());
// Uniform [0, 1) values of `shape` from the counter-based generator
// (graph/CounterRandom.h): key i32[3] = (seed, step, first row), `stream`
// tells apart the draws of one step.
Value randomUniform(Value key, const Shape& shape, int64_t stream, Where where = Where::current());
// The sum of x over the processes of a distributed run (the identity on one process).
Value allReduce(Value x, Where where = Where::current());
// zeroOutOfRange: an index outside the table reads a zero row (scatter_add
// drops it), as one_hot does, instead of being an error.
Value gather(Value table, Value indices, bool zeroOutOfRange = false, Where where = Where::current());
Value scatterAdd(Value updates, Value indices, int64_t rows, bool zeroOutOfRange = false, Where where = Where::current());
Value logSoftmax(Value logits, Where where = Where::current());
// Fused attention of q, k, v [entries, T, D]: [entries, T, D + 1], each
// query's softmax(scale q k^T (+ causal mask)) v, then its logsumexp.
Value attention(Value q, Value k, Value v, double scale, bool causal, Where where = Where::current());
// Per row.
Value softmaxCrossEntropy(Value logits, Value labels, Where where = Where::current());
// linear_cross_entropy_grad (graph/Op.def) and its flat result cut into dx, dw, db.
struct LinearCrossEntropyGrads {
  Value dx, dw, db;
};
LinearCrossEntropyGrads linearCrossEntropyGrad(const std::vector<Value>& xWBLabelsLossDloss, const Attrs& attrs);
// linear_cross_entropy_train and its flat result cut into the loss, dx, dw, db.
struct LinearCrossEntropyStep {
  Value loss;
  LinearCrossEntropyGrads grads;
};
LinearCrossEntropyStep linearCrossEntropyTrain(const std::vector<Value>& xWBLabelsDloss, const Attrs& attrs);

// The numpy broadcast of two shapes; throws when incompatible.
Shape broadcastShapes(const Shape& a, const Shape& b);

}  // namespace graphc
