// graph/Graph.h — the IR: one function-like graph of typed SSA values.
//
// Every node produces exactly one value, identified by its index in `nodes`.
// Nodes are kept in definition order: an operand's index is always smaller
// than its user's (the verifier checks it). Input, param and state nodes are
// the graph's signature; `outputs` name results and `updates` write new values
// into params or state after a run.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/Attr.h"
#include "graph/Error.h"
#include "graph/Op.h"
#include "graph/Types.h"

namespace graphc {

using ValueId = int32_t;
class Graph;

struct Node {
  OpKind op = OpKind::Constant;
  std::string name;  // the SSA name, without '%'; unique in the graph
  std::vector<ValueId> operands;
  Attrs attrs;
  TensorType type;
  SourceLoc loc;  // where the parser found it; unknown for built nodes
  // The layer that made it ("layer0.ii", "h1.attn"; "" for none): where graph
  // pictures draw it (graph/Dot.cpp). Built nodes take the builder's group,
  // gradients their forward node's, kernels their result's. Not in the text IR.
  std::string group;
  // For `fused`: one `input` per operand, in operand order (bodyInputIndex),
  // named %arg0.. for the reader; one output "result".
  std::shared_ptr<Graph> body;
};

struct GraphOutput {
  std::string name;
  ValueId value;
  SourceLoc loc;
};

// After a run, `target` (a param or state node) takes the value of `value`.
struct StateUpdate {
  ValueId target;
  ValueId value;
  SourceLoc loc;
};

class Graph {
 public:
  std::string name = "main";
  std::string sourceName = "<graph>";  // file name used in error messages
  Attrs attrs;                         // graph-level facts, e.g. arena_bytes from memory planning
  std::vector<Node> nodes;
  std::vector<GraphOutput> outputs;
  std::vector<StateUpdate> updates;

  ValueId add(Node n);
  const Node& node(ValueId v) const { return nodes.at(size_t(v)); }
  Node& node(ValueId v) { return nodes.at(size_t(v)); }
  const TensorType& type(ValueId v) const { return node(v).type; }
  size_t size() const { return nodes.size(); }

  // A name no node has yet: "0", "1", ... in order.
  std::string freshName();

  // -1 when absent.
  ValueId findValue(const std::string& valueName) const;
  ValueId findOutput(const std::string& outputName) const;
  // Throws naming the missing output.
  ValueId output(const std::string& outputName) const;
  void setOutput(const std::string& outputName, ValueId v);

  std::vector<ValueId> nodesOf(OpKind k) const;

  // Points every operand, output and update value that uses `from` at `to`.
  void replaceAllUses(ValueId from, ValueId to);
  // Many replacements in one walk over the graph (each `from` by its `to`;
  // a `to` is not itself replaced).
  void replaceUses(const std::vector<std::pair<ValueId, ValueId>>& fromTo);
  // Keeps the nodes with keep[i] and renumbers every reference. Kept nodes
  // must not use dropped ones.
  void compact(const std::vector<bool>& keep);
  // Puts the nodes in the given order (a permutation of a subset; references
  // into the dropped ones must not remain) and renumbers every reference.
  void reorder(const std::vector<ValueId>& order);
  // Reorders nodes so every operand precedes its users, keeping the current
  // order wherever it is already valid (a node is placed right after the
  // operands it waits for). Rewrites that append nodes call it.
  void topologicalSort();
  // Count of uses of each value (operands, outputs, updates).
  std::vector<int> useCounts() const;

 private:
  void rebuildNameIndex() const;
  mutable std::unordered_map<std::string, ValueId> nameIndex_;
  mutable bool nameIndexValid_ = false;
  int64_t nextTemp_ = 0;
};

// For each node of a fused body, the operand its `input` node stands for (the
// k-th input is the kernel's k-th operand: the position is the fact, the name
// %argK only a reading aid), or -1 for the body's other nodes.
std::vector<int64_t> bodyInputIndex(const Graph& body);

// The layer (the first part of Node::group) the nodes share, or "" when they
// differ: where a pass's replacement for them is drawn.
std::string commonLayer(const Graph& g, const std::vector<ValueId>& ids);

// A "file:line:col: error: message" line for a node (or the graph's source
// name when the node has no location).
std::string errorAt(const Graph& g, SourceLoc loc, const std::string& message);

}  // namespace graphc
