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

// The values the prepare graph makes of the params (exact data movement, so
// the interpreter's values are every engine's).
TensorMap preparedValues(const Graph& prepare, const TensorMap& params) {
  if (prepare.outputs.empty()) return {};
  TensorMap vars;
  for (const Node& n : prepare.nodes) {
    if (n.op == OpKind::Param) vars[n.name] = paramFor(params, n.name, &n.type);
  }
  return createEngine("interp", prepare)->run(vars);
}

}  // namespace

std::map<std::string, std::vector<char>> programWeights(const GenerationGraphs& graphs, const TensorMap& params) {
  std::map<std::string, std::vector<char>> out;
  writeProgramWeights(graphs, params, [&](const std::string& name, size_t bytes) {
    std::vector<char>& v = out[name];
    v.resize(bytes);
    return v.data();
  });
  return out;
}

void writeProgramWeights(const GenerationGraphs& graphs, const TensorMap& params,
                         const std::function<char*(const std::string& name, size_t bytes)>& place) {
  const Graph& lowered = graphs.step;
  const TensorMap prepared = preparedValues(graphs.prepare, params);  // only what it makes: params are not copied
  for (ValueId p : lowered.nodesOf(OpKind::Param)) {
    const Node& n = lowered.node(p);
    std::string source = attr::packedFrom(n.attrs, n.name);
    const TensorType* type = source == n.name ? &n.type : nullptr;
    const Tensor& t = prepared.count(source) ? paramFor(prepared, source, type) : paramFor(params, source, type);
    const size_t size = size_t(n.type.numElements()) * 4;
    if (source == n.name) {
      std::memcpy(place(n.name, size), t.f32(), size);
      continue;
    }
    bool transposed = attr::transpose(n.attrs);
    int64_t width = attr::panelWidth(n.attrs);
    if (t.type().rank() != 2 || t.type().dtype != DType::F32)
      throw Error(fmt::format("parameter '{}' is {}, not an f32 matrix", source, str(t.type())));
    int64_t k = t.type().shape[transposed ? 1 : 0], cols = t.type().shape[transposed ? 0 : 1];
    if (n.type.shape != Shape{panelCount(cols, width), k, width})
      throw Error(fmt::format("parameter '{}' is {}, which does not pack into {}", source, str(t.type()), str(n.type)));
    graphc_pack_panels(t.f32(), transposed, k, cols, width, reinterpret_cast<float*>(place(n.name, size)), 0,
                       panelCount(cols, width));
  }
}

}  // namespace graphc
