// codegen/Lowering.cpp — what each op becomes in the entry function, by its
// lowering kind in graph/Op.def (EntryBuilder.h).
#include <cstring>

#include "codegen/EntryBuilder.h"
#include "codegen/KernelEmitter.h"
#include "graph/Analysis.h"
#include "graph/Constant.h"
#include "graph/TextIR.h"
#include "target/Fusability.h"

namespace graphc {
namespace {

// Fused kernels at least this big (a 512 x 512 weight's update) are split by
// columns over the kernel threads; smaller ones cost less than the hand-off.
constexpr int64_t kParallelMinElements = int64_t(1) << 17;
constexpr int64_t kParallelMinColumns = 64;

}  // namespace

void EntryBuilder::lowerWithEpilogue(size_t productIndex, size_t last) {
  const Node& product = g_.nodes[productIndex];
  const int64_t width = epilogueChainWidth(g_, ValueId(productIndex), g_.nodes[productIndex + 1]);
  std::vector<ChainMember> members;
  std::vector<int64_t> offsets;
  std::string key = fmt::format("{} x {} / {}\n", product.type.shape[0], width, g_.type(product.operands[1]).shape[2]);
  for (size_t k = productIndex + 1; k <= last; ++k) {
    const Node& member = g_.nodes[k];
    ChainMember c{member.body.get(), {}};
    for (ValueId o : member.operands)
      c.earlier.push_back(size_t(o) > productIndex && size_t(o) < k ? int(size_t(o) - productIndex - 1) : -1);
    key += fmt::format("{}{}\n", printGraph(*member.body), fmt::join(c.earlier, ","));
    members.push_back(std::move(c));
    CallArg pointers = pointerArray(member);
    offsets.insert(offsets.end(), pointers.offsets.begin(), pointers.offsets.end());
  }
  llvm::Function*& chain = chains_[key];
  if (!chain)
    chain = emitChainKernel(m_, members, product.type.shape[0], width, fmt::format("chain_{}", chains_.size() - 1),
                            g_.type(product.operands[1]).shape[2]);  // the product calls it panel by panel
  bool ta = attr::transposeA(product.attrs);
  const TensorType& lhs = g_.type(product.operands[0]);
  call("graphc_rt_packed_matmul_epilogue",
       {buffer(product.operands[0]), buffer(product.operands[1]), buffer(product), i64(product.type.shape[0]),
        i64(product.type.shape[1]), i64(lhs.shape[ta ? 0 : 1]), i32(ta),
        products(g_.type(product.operands[1]).shape[2]), i64(product.type.shape[1] / width), chain,
        CallArg::pointers(std::move(offsets))});
  stats_.fusedKernels += int(members.size());
  stats_.epilogues += int(members.size());
}

// A splat constant: the runtime's fill with its bits.
void EntryBuilder::lowerConstant(const Node& n) {
  uint32_t bits;
  if (n.type.dtype == DType::F32) {
    float f = float(constantValue(n));
    std::memcpy(&bits, &f, 4);
  } else {
    bits = uint32_t(int32_t(constantValue(n)));
  }
  call("graphc_rt_fill", {buffer(n), i64(n.type.numElements()), i32(int64_t(bits))});
}
// A fused kernel: a call of its function (one per distinct body), or split by columns over the threads when big.
void EntryBuilder::lowerFused(const Node& n) {
  if (n.type.rank() == 2 && n.type.shape[1] >= kParallelMinColumns &&
      n.type.numElements() >= kParallelMinElements) {
    // A big kernel (a weight's update or squared gradient) is split by columns over the threads.
    call("graphc_rt_parallel_columns", {columnRangeKernel(n), pointerArray(n), i64(n.type.shape[1])});
    ++stats_.fusedKernels;
    return;
  }
  std::string key = printGraph(*n.body);
  auto it = kernels_.find(key);
  if (it == kernels_.end()) {
    std::string name = fmt::format("fused_{}", kernels_.size());
    it = kernels_.emplace(key, emitFusedKernel(m_, *n.body, name)).first;
  }
  std::vector<CallArg> args = {buffer(n)};
  for (size_t k = 0; k < n.operands.size(); ++k) args.push_back(buffer(n.operands[k]));
  calls_.push_back({it->second->getFunctionType(), it->second, std::move(args)});
  ++stats_.fusedKernels;
}
// Matrix products: calls into the generated micro-kernels.
void EntryBuilder::lowerProduct(const Node& n) {
  auto in = [&](size_t k) { return buffer(n.operands[k]); };
  auto inType = [&](size_t k) { return g_.type(n.operands[k]); };
  switch (n.op) {
    case OpKind::MatMul: {
      // A batched product: one call per entry, at successive offsets (emitCalls re-rolls them into a loop).
      const size_t r = size_t(n.type.rank());
      const int64_t m = n.type.shape[r - 2], cols = n.type.shape[r - 1], k = contractionLength(g_, n);
      for (int64_t e = 0, entries = batchCount(n.type); e < entries; ++e) {
        CallArg a = in(0), b = in(1), c = buffer(n);
        a.offset += e * m * k * 4;
        b.offset += e * k * cols * 4;
        c.offset += e * m * cols * 4;
        call("graphc_rt_matmul", {a, b, c, i64(m), i64(cols), i64(k), i32(attr::transposeA(n.attrs)),
                                  i32(attr::transposeB(n.attrs)), products(target_.panelWidth())});
      }
      return;
    }
    case OpKind::PackedMatMul: {
      bool ta = attr::transposeA(n.attrs);
      int64_t k = inType(0).shape[ta ? 0 : 1];
      call("graphc_rt_packed_matmul", {in(0), in(1), buffer(n), i64(n.type.shape[0]), i64(n.type.shape[1]), i64(k),
                                       i32(ta), products(inType(1).shape[2])});
      return;
    }
    default:
      throw Error(fmt::format("codegen: no product lowering for '{}' (%{})", opName(n.op), n.name));
  }
}
// Views and copies: nothing when the plan made the value bytes of its operand, else a strided copy.
void EntryBuilder::lowerDataMovement(const Node& n) {
  auto in = [&](size_t k) { return buffer(n.operands[k]); };
  auto inType = [&](size_t k) { return g_.type(n.operands[k]); };
  switch (n.op) {
    case OpKind::Broadcast: {
      const Shape& from = inType(0).shape;
      auto st = stridesOf(from);
      std::vector<int64_t> strides(n.type.shape.size(), 0);
      size_t off = n.type.shape.size() - from.size();
      for (size_t d = 0; d < from.size(); ++d) strides[off + d] = from[d] == 1 ? 0 : st[d];
      stridedCopy("graphc_rt_gather_strided", in(0), buffer(n), n.type.shape, strides, 0);
      return;
    }
    case OpKind::Reshape:
      if (offsetOf(n) != offsetOf(g_.node(n.operands[0])))
        call("graphc_rt_copy", {buffer(n), in(0), i64(n.type.numElements() * 4)});
      return;
    case OpKind::Transpose: {
      auto st = stridesOf(inType(0).shape);
      std::vector<int64_t> strides;
      for (int64_t p : attr::perm(n.attrs)) strides.push_back(st[size_t(p)]);
      stridedCopy("graphc_rt_gather_strided", in(0), buffer(n), n.type.shape, strides, 0);
      return;
    }
    case OpKind::Slice: {
      auto st = stridesOf(inType(0).shape);
      const auto& start = attr::start(n.attrs);
      int64_t base = 0;
      for (size_t d = 0; d < st.size(); ++d) base += start[d] * st[d];
      if (offsetOf(n) == offsetOf(g_.node(n.operands[0])) + base * 4) return;  // a view (plan pass)
      stridedCopy("graphc_rt_gather_strided", in(0), buffer(n), n.type.shape, st, base);
      return;
    }
    case OpKind::Pad: {
      auto st = stridesOf(n.type.shape);
      const auto& low = attr::low(n.attrs);
      int64_t base = 0;
      for (size_t d = 0; d < st.size(); ++d) base += low[d] * st[d];
      call("graphc_rt_fill", {buffer(n), i64(n.type.numElements()), i32(0)});
      stridedCopy("graphc_rt_scatter_strided", in(0), buffer(n), inType(0).shape, st, base);
      return;
    }
    case OpKind::Concat: {
      auto st = stridesOf(n.type.shape);
      int64_t axis = attr::axis(n.attrs);
      if (axis < 0) axis += n.type.rank();
      int64_t along = 0;
      int64_t before = 1;
      for (int64_t d = 0; d < axis; ++d) before *= n.type.shape[size_t(d)];
      for (size_t k = 0; k < n.operands.size(); ++k) {
        int64_t base = along * st[size_t(axis)];
        // An operand the plan pass computed in place is already there.
        bool inPlace = before == 1 && offsetOf(g_.node(n.operands[k])) == offsetOf(n) + base * 4;
        if (!inPlace) stridedCopy("graphc_rt_scatter_strided", in(k), buffer(n), inType(k).shape, st, base);
        along += inType(k).shape[size_t(axis)];
      }
      return;
    }
    default:
      throw Error(fmt::format("codegen: no data-movement lowering for '{}' (%{})", opName(n.op), n.name));
  }
}
// The ops a runtime kernel of RuntimeKernels.def computes.
void EntryBuilder::lowerRuntimeKernel(const Node& n) {
  auto in = [&](size_t k) { return buffer(n.operands[k]); };
  auto inType = [&](size_t k) { return g_.type(n.operands[k]); };
  switch (n.op) {
    case OpKind::PackPanels: {
      bool t = attr::transpose(n.attrs);
      int64_t k = inType(0).shape[t ? 1 : 0], cols = inType(0).shape[t ? 0 : 1];
      call("graphc_rt_pack_panels", {in(0), buffer(n), i64(k), i64(cols), i32(t), i64(n.type.shape[2])});
      return;
    }
    case OpKind::ReduceSum:
    case OpKind::ReduceMean:
    case OpKind::ReduceMax: {
      const TensorType& t = inType(0);
      std::vector<int64_t> d = {n.op == OpKind::ReduceSum ? 0 : n.op == OpKind::ReduceMean ? 1 : 2,
                                t.dtype == DType::I32, t.rank()};
      d.insert(d.end(), t.shape.begin(), t.shape.end());
      std::vector<int64_t> reduced(size_t(t.rank()), 0);
      for (int64_t a : attr::axes(n.attrs)) reduced[size_t(a)] = 1;
      d.insert(d.end(), reduced.begin(), reduced.end());
      call("graphc_rt_reduce", {in(0), buffer(n), desc(d)});
      return;
    }
    case OpKind::SumSquares:
      call("graphc_rt_sum_squares", {in(0), buffer(n), i64(inType(0).numElements())});
      return;
    case OpKind::ArgMax: {
      const TensorType& t = inType(0);
      int64_t axis = attr::axis(n.attrs);
      if (axis < 0) axis += t.rank();
      int64_t len = t.shape[size_t(axis)], inner = stridesOf(t.shape)[size_t(axis)];
      int64_t outer = (len * inner) != 0 ? t.numElements() / (len * inner) : 0;
      call("graphc_rt_argmax", {in(0), buffer(n), i64(outer), i64(len), i64(inner), i32(t.dtype == DType::I32)});
      return;
    }
    case OpKind::AllReduce:
      call("graphc_rt_all_reduce", {in(0), buffer(n), i64(n.type.numElements())});
      return;
    case OpKind::RandomUniform: {
      int64_t cols = n.type.shape[0] != 0 ? n.type.numElements() / n.type.shape[0] : 0;
      call("graphc_rt_random_uniform", {in(0), buffer(n), i64(n.type.numElements()), i64(cols), i64(attr::stream(n.attrs))});
      return;
    }
    case OpKind::Attention:
    case OpKind::AttentionGrad: {
      const Shape& s = inType(0).shape;
      float scale = float(attr::scale(n.attrs, 1.0));
      uint32_t bits;
      std::memcpy(&bits, &scale, 4);
      if (n.op == OpKind::Attention)
        call("graphc_rt_attention", {in(0), in(1), in(2), buffer(n), i64(s[0]), i64(s[1]), i64(s[2]),
                                     i32(int64_t(bits)), i32(attr::causal(n.attrs))});
      else
        call("graphc_rt_attention_grad", {in(0), in(1), in(2), in(3), in(4), buffer(n), i64(s[0]), i64(s[1]),
                                          i64(s[2]), i32(int64_t(bits)), i32(attr::causal(n.attrs))});
      return;
    }
    case OpKind::Iota: {
      int64_t axis = attr::axis(n.attrs);
      if (axis < 0) axis += n.type.rank();
      int64_t len = n.type.shape[size_t(axis)], inner = stridesOf(n.type.shape)[size_t(axis)];
      call("graphc_rt_iota", {buffer(n), i64(n.type.numElements()), i64(len), i64(inner)});
      return;
    }
    case OpKind::OneHot:
      call("graphc_rt_one_hot", {in(0), buffer(n), i64(inType(0).numElements()), i64(attr::depth(n.attrs))});
      return;
    case OpKind::Gather:
      call("graphc_rt_gather_rows", {in(0), in(1), buffer(n), i64(inType(1).numElements()), i64(inType(0).shape[1]),
                                     i64(inType(0).shape[0]), i32(attr::zeroOutOfRange(n.attrs))});
      return;
    case OpKind::ScatterAdd:
      call("graphc_rt_scatter_add_rows", {in(0), in(1), buffer(n), i64(inType(1).numElements()),
                                          i64(n.type.shape[1]), i64(n.type.shape[0]),
                                          i32(attr::zeroOutOfRange(n.attrs))});
      return;
    case OpKind::LogSoftmax: {
      int64_t width = n.type.shape.back();
      call("graphc_rt_log_softmax", {in(0), buffer(n), i64(width ? n.type.numElements() / width : 0), i64(width)});
      return;
    }
    case OpKind::LinearCrossEntropy:
    case OpKind::LinearCrossEntropyGrad:
    case OpKind::LinearCrossEntropyTrain: {
      const bool tw = attr::transposeB(n.attrs);
      const int64_t rows = inType(0).shape[0], k = inType(0).shape[1], v = inType(2).shape[0];
      if (n.op == OpKind::LinearCrossEntropy)
        call("graphc_rt_linear_cross_entropy", {in(0), in(1), in(2), in(3), buffer(n), i64(rows), i64(k), i64(v),
                                                i32(tw), products(target_.panelWidth())});
      else if (n.op == OpKind::LinearCrossEntropyGrad)
        call("graphc_rt_linear_cross_entropy_grad", {in(0), in(1), in(2), in(3), in(4), in(5), buffer(n), i64(rows),
                                                     i64(k), i64(v), i32(tw), products(target_.panelWidth())});
      else
        call("graphc_rt_linear_cross_entropy_train", {in(0), in(1), in(2), in(3), in(4), buffer(n), i64(rows), i64(k),
                                                      i64(v), i32(tw), products(target_.panelWidth())});
      return;
    }
    case OpKind::SoftmaxCrossEntropy:
      call("graphc_rt_softmax_cross_entropy",
           {in(0), in(1), buffer(n), i64(inType(0).shape[0]), i64(inType(0).shape[1])});
      return;
    default:
      throw Error(fmt::format("codegen: no runtime-kernel lowering for '{}' (%{})", opName(n.op), n.name));
  }
}
// One node, by what Op.def says codegen makes of it.
void EntryBuilder::lower(const Node& n) {
  switch (opLowering(n.op)) {
    case LoweringKind::InKernel:
      throw Error(fmt::format("codegen: %{} is a bare '{}'; run the fuse pass first", n.name, opName(n.op)));
    case LoweringKind::Leaf: return;  // copied into the arena by the executor
    case LoweringKind::Fill: return lowerConstant(n);
    case LoweringKind::Kernel: return lowerFused(n);
    case LoweringKind::Product: return lowerProduct(n);
    case LoweringKind::View:
    case LoweringKind::Copy: return lowerDataMovement(n);
    case LoweringKind::RuntimeKernel: return lowerRuntimeKernel(n);
  }
}

}  // namespace graphc
