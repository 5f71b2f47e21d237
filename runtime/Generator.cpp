// runtime/Generator.cpp — d2l's predict_ch8, plus temperature sampling.
#include "runtime/Generator.h"

#include <cmath>
#include <fmt/format.h>

#include "graph/Verifier.h"
#include "runtime/Initializers.h"
#include "runtime/Random.h"

namespace graphc {

Generator::Generator(const ModelDef& model, ModelConfig config, const TensorMap& params, const Vocab& vocab,
                     const std::string& engine, const EngineOptions& engineOptions)
    : modelName_(model.name), vocab_(vocab) {
  if (config.vocab != vocab.size())
    throw Error(fmt::format("the model's vocab size {} differs from the vocabulary's {}", config.vocab, vocab.size()));
  config.batchSize = 1;
  graph_ = buildStepGraph(model, config);
  verify(graph_);
  vars_ = zeroState(graph_);
  // Check the params before compiling: a checkpoint with absurd shapes must
  // fail here, not by allocating an arena for them.
  setParams(params);
  engine_ = createEngine(engine, graph_, engineOptions);
  engine_->setResident(paramNames());
}

std::vector<std::string> Generator::paramNames() const {
  std::vector<std::string> names;
  for (ValueId p : graph_.nodesOf(OpKind::Param)) names.push_back(graph_.node(p).name);
  return names;
}

void Generator::setParams(const TensorMap& params) {
  for (const Node& n : graph_.nodes) {
    if (n.op != OpKind::Param) continue;
    auto it = params.find(n.name);
    if (it == params.end()) throw Error(fmt::format("the parameters have no '{}' for model {}", n.name, modelName_));
    if (it->second.type() != n.type)
      throw Error(fmt::format("parameter '{}' is {}, but model {} needs {}", n.name, str(it->second.type()), modelName_,
                              str(n.type)));
    vars_[n.name] = it->second;
  }
  // The params stay fixed while generating: the engine may keep its copy.
  if (engine_) engine_->setResident(paramNames());
}

std::vector<float> Generator::step(int32_t token) {
  vars_["X"] = Tensor::i32({1, 1}, {token});
  return engine_->run(vars_).at("logits").f32Vector();
}

std::string Generator::generate(const std::string& prefix, int64_t length, double temperature, uint64_t seed) {
  if (prefix.empty()) throw Error("the prefix must not be empty");
  for (auto& [name, t] : zeroState(graph_)) vars_[name] = std::move(t);
  std::vector<int32_t> ids = vocab_.encode(prefix);
  // Warm-up: feed all but the last prefix token; only the state changes.
  for (size_t i = 0; i + 1 < ids.size(); ++i) step(ids[i]);
  Rng rng(seed);
  std::string out = prefix;
  int32_t current = ids.back();
  for (int64_t i = 0; i < length; ++i) {
    std::vector<float> logits = step(current);
    int32_t next = 0;
    if (temperature <= 0) {
      for (size_t k = 1; k < logits.size(); ++k)
        if (logits[k] > logits[size_t(next)]) next = int32_t(k);
    } else {
      double mx = *std::max_element(logits.begin(), logits.end()), total = 0;
      std::vector<double> p(logits.size());
      for (size_t k = 0; k < p.size(); ++k) total += p[k] = std::exp((logits[k] - mx) / temperature);
      double u = rng.uniform() * total;
      for (next = 0; next + 1 < int32_t(p.size()) && u >= p[size_t(next)]; ++next) u -= p[size_t(next)];
    }
    out += vocab_.token(next);
    current = next;
  }
  return out;
}

}  // namespace graphc
