// runtime/ProgramWeights.cpp — see ProgramWeights.h.
#include "runtime/ProgramWeights.h"

#include <cstring>
#include <fmt/format.h>

#include "kernels/product.h"
#include "graph/PackedLayout.h"
#include "runtime/Engine.h"
#include "driver/Pipeline.h"

namespace graphc {

ProgramTables programTablesFor(const Vocab& vocab) {
  ProgramTables t;
  t.tokens = vocab.tokens();
  for (int c = 0; c < 256; ++c) t.byteToken[size_t(c)] = vocab.index(char(c));
  return t;
}

namespace {

// params[name], which the program needs as `type` (any type when null).
const Tensor& paramFor(const TensorMap& params, const std::string& name, const TensorType* type) {
  auto it = params.find(name);
  if (it == params.end()) throw Error(fmt::format("the parameters have no '{}'", name));
  if (type && it->second.type() != *type)
    throw Error(fmt::format("parameter '{}' is {}, the program needs {}", name, str(it->second.type()), str(*type)));
  return it->second;
}

// The model's params and the values the prepare graph makes of them (exact
// data movement, so the interpreter's values are every engine's).
TensorMap withPrepared(const Graph& prepare, const TensorMap& params) {
  if (prepare.outputs.empty()) return params;
  TensorMap all = params, vars;
  for (const Node& n : prepare.nodes) {
    if (n.op == OpKind::Param) vars[n.name] = paramFor(params, n.name, &n.type);
  }
  for (auto& [name, value] : createEngine("interp", prepare)->run(vars)) all[name] = std::move(value);
  return all;
}

}  // namespace

std::map<std::string, std::vector<char>> programWeights(const GenerationGraphs& graphs, const TensorMap& modelParams) {
  const Graph& lowered = graphs.step;
  const TensorMap params = withPrepared(graphs.prepare, modelParams);
  std::map<std::string, std::vector<char>> out;
  for (ValueId p : lowered.nodesOf(OpKind::Param)) {
    const Node& n = lowered.node(p);
    std::string source = attr::packedFrom(n.attrs, n.name);
    const Tensor& t = paramFor(params, source, source == n.name ? &n.type : nullptr);
    std::vector<char>& bytes = out[n.name];
    bytes.resize(size_t(n.type.numElements()) * 4);
    if (source == n.name) {
      std::memcpy(bytes.data(), t.f32(), bytes.size());
      continue;
    }
    bool transposed = attr::transpose(n.attrs);
    int64_t width = attr::panelWidth(n.attrs);
    if (t.type().rank() != 2 || t.type().dtype != DType::F32)
      throw Error(fmt::format("parameter '{}' is {}, not an f32 matrix", source, str(t.type())));
    int64_t k = t.type().shape[transposed ? 1 : 0], cols = t.type().shape[transposed ? 0 : 1];
    if (n.type.shape != Shape{panelCount(cols, width), k, width})
      throw Error(fmt::format("parameter '{}' is {}, which does not pack into {}", source, str(t.type()), str(n.type)));
    graphc_pack_panels(t.f32(), transposed, k, cols, width, reinterpret_cast<float*>(bytes.data()), 0,
                       panelCount(cols, width));
  }
  return out;
}

}  // namespace graphc
