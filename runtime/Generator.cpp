// runtime/Generator.cpp — d2l's predict_ch8, plus temperature sampling and
// batches of prefixes; compiled (codegen/GenerationProgram.h) or interpreted.
#include "runtime/Generator.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>

#include "codegen/GenerationProgram.h"
#include "codegen/portable/program.h"
#include "graph/Verifier.h"
#include "runtime/Initializers.h"
#include "passes/Passes.h"
#include "runtime/ProgramWeights.h"
#include "runtime/Threads.h"

namespace graphc {

// The program, its graph and the arena it runs on (params loaded once).
struct Generator::Program {
  GenerationGraphs graphs;
  const Graph& lowered() const { return graphs.step; }
  std::unique_ptr<CompiledProgram> code;
  char* arena = nullptr;
  ~Program() { std::free(arena); }

  void load(const TensorMap& params) {
    writeProgramWeights(graphs, params, [&](const std::string& name, size_t) {
      return arena + attr::offset(lowered().node(lowered().findValue(name)).attrs);
    });
  }
};

Generator::Generator(const ModelDef& model, ModelConfig config, const TensorMap& params, const Vocab& vocab,
                     const std::string& engine, const EngineOptions& engineOptions)
    : model_(model), config_(config), engineKind_(engine), engineOptions_(engineOptions), vocab_(vocab) {
  if (config.vocab != vocab.size())
    throw Error(fmt::format("the model's vocab size {} differs from the vocabulary's {}", config.vocab, vocab.size()));
  if (engine != "jit" && engine != "interp") throw Error(fmt::format("unknown engine '{}' (jit or interp)", engine));
  config_.batchSize = 1;
  config_.numSteps = 1;
  graph_ = buildStepGraph(model, config_);
  verify(graph_);
  // Check the params before compiling: a checkpoint with absurd shapes must
  // fail here, not by allocating an arena for them.
  setParams(params);
  if (engine == "interp") {
    vars_ = zeroState(graph_);
    engine_ = createEngine("interp", graph_);
  } else {
    programFor(1);
  }
}

Generator::~Generator() = default;

std::vector<std::string> checkParamTypes(const Graph& step, const std::string& model,
                                         const std::function<const TensorType*(const std::string&)>& typeOf) {
  std::vector<std::string> names;
  for (const Node& n : step.nodes) {
    if (n.op != OpKind::Param) continue;
    const TensorType* type = typeOf(n.name);
    if (!type) throw Error(fmt::format("the parameters have no '{}' for model {}", n.name, model));
    if (*type != n.type)
      throw Error(fmt::format("parameter '{}' is {}, but model {} needs {}", n.name, str(*type), model, str(n.type)));
    names.push_back(n.name);
  }
  return names;
}

void Generator::setParams(const TensorMap& params) {
  TensorType found;  // the type of the tensor just looked up
  auto typeOf = [&](const std::string& name) -> const TensorType* {
    auto it = params.find(name);
    if (it == params.end()) return nullptr;
    found = it->second.type();
    return &found;
  };
  for (const std::string& name : checkParamTypes(graph_, model_.name, typeOf))
    params_[name] = params.at(name);
  for (auto& [batch, program] : programs_) program->load(params_);
}

Generator::Program& Generator::programFor(int64_t batch) {
  auto& slot = programs_[batch];
  if (slot) return *slot;
  auto p = std::make_unique<Program>();
  Target target = targetFor(engineOptions_.targetCpu);
  p->graphs = buildGenerationGraphs(model_, config_, target, batch);
  JitOptions jit{engineOptions_.cacheDir, engineOptions_.useCache, target, {}};
  p->code = CompiledProgram::compile(p->lowered(), programTablesFor(vocab_), jit);
  p->code->setThreads(runtime::threads());
  size_t bytes = (size_t(std::max<int64_t>(64, attr::arenaBytes(p->lowered().attrs))) + 63) / 64 * 64;
  p->arena = static_cast<char*>(std::aligned_alloc(64, bytes));
  if (!p->arena) throw Error(fmt::format("cannot allocate the {}-byte arena", bytes));
  std::memset(p->arena, 0, bytes);
  p->load(params_);
  slot = std::move(p);
  return *slot;
}

void Generator::prepare(int64_t batch) {
  if (!engine_) programFor(batch);
}

Generator::ProgramFacts Generator::programFacts(int64_t batch) {
  if (engine_) throw Error("program facts are the JIT engine's");
  const GenerationGraphs& graphs = programFor(batch).graphs;
  ProgramFacts facts;
  facts.arenaBytes = attr::arenaBytes(graphs.step.attrs);
  facts.paramCopyBytesPerStep = paramCopyBytes(graphs.step);
  for (const GraphOutput& o : graphs.prepare.outputs) facts.preparedBytes += graphs.prepare.type(o.value).numElements() * 4;
  return facts;
}

std::vector<float> Generator::step(int32_t token) {
  vars_["X"] = Tensor::i32({1, 1}, {token});
  return engine_->run(vars_).at("logits").f32Vector();
}

// The reference: the same algorithm as codegen/portable/program.c, a step at
// a time through the interpreter, one prefix after another, choosing with the
// same function (codegen/portable/sampling.c).
std::vector<std::vector<int32_t>> Generator::interpret(const std::vector<std::vector<int32_t>>& prefixes,
                                                       int64_t length, const graphc_sampling& sampling, uint64_t seed) {
  std::vector<std::vector<int32_t>> out;
  for (size_t r = 0; r < prefixes.size(); ++r) {
    std::vector<int32_t> seen = prefixes[r];  // the prefix, then what is generated
    auto reset = [&] {
      for (auto& [name, t] : zeroState(graph_)) vars_[name] = std::move(t);
    };
    reset();
    for (const auto& [name, t] : params_) vars_[name] = t;
    const int64_t context = graph_.attrs.count(attr::key::context) ? attr::context(graph_.attrs) : 0;
    int64_t since = 0;
    auto stepAt = [&](size_t i) {  // steps on seen[i], by program.h's context rule
      const int64_t keep = graphc_context_refill(context, since);
      if (keep > 0) {
        reset();
        for (size_t k = i - size_t(keep); k < i; ++k) step(seen[k]);
        since = keep;
      }
      ++since;
      return step(seen[i]);
    };
    for (size_t i = 0; i + 1 < seen.size(); ++i) stepAt(i);
    uint64_t rng = graphc_rng_seeded(seed + r);
    for (int64_t i = 0; i < length; ++i) {
      std::vector<float> logits = stepAt(seen.size() - 1);
      int64_t recent = std::min<int64_t>(int64_t(seen.size()), GRAPHC_PENALTY_WINDOW);
      seen.push_back(graphc_sample(logits.data(), int64_t(logits.size()), &sampling,
                                   seen.data() + seen.size() - size_t(recent), recent, &rng));
    }
    out.emplace_back(seen.begin() + int64_t(prefixes[r].size()), seen.end());
  }
  return out;
}

void checkSampling(const graphc_sampling& s, int64_t vocab) {
  if (!std::isfinite(s.temperature)) throw Error(fmt::format("--temperature: {} is not a finite number", s.temperature));
  if (s.top_k < 0 || s.top_k > vocab)
    throw Error(fmt::format("--top-k {}: must be in 0..{} (0: off; the vocabulary has {} tokens)", s.top_k, vocab, vocab));
  if (!(s.top_p > 0 && s.top_p <= 1)) throw Error(fmt::format("--top-p {}: must be in (0, 1] (1: off)", s.top_p));
  if (!(s.repetition_penalty > 0 && std::isfinite(s.repetition_penalty)))
    throw Error(fmt::format("--repetition-penalty {}: must be above 0 (1: off)", s.repetition_penalty));
}

graphc_sampling temperatureSampling(double temperature) { return graphc_sampling{temperature, 0, 1.0, 1.0}; }

std::vector<std::string> Generator::generateBatch(const std::vector<std::string>& prefixes, int64_t length,
                                                  double temperature, uint64_t seed) {
  return generateBatch(prefixes, length, temperatureSampling(temperature), seed);
}

std::vector<std::string> Generator::generateBatch(const std::vector<std::string>& prefixes, int64_t length,
                                                  const graphc_sampling& sampling, uint64_t seed) {
  checkSampling(sampling, config_.vocab);
  if (prefixes.empty()) return {};
  std::vector<std::vector<int32_t>> ids;
  for (const std::string& p : prefixes) {
    if (p.empty()) throw Error("the prefix must not be empty");
    ids.push_back(vocab_.encode(p));  // what the vocabulary lacks is <unk>, as in exported libraries
  }
  std::vector<std::vector<int32_t>> generated;
  if (engine_) {
    generated = interpret(ids, length, sampling, seed);
  } else {
    int64_t batch = int64_t(ids.size());
    Program& p = programFor(batch);
    int64_t stride = 0;
    std::vector<int64_t> lens;
    for (const auto& row : ids) {
      stride = std::max<int64_t>(stride, int64_t(row.size()));
      lens.push_back(int64_t(row.size()));
    }
    std::vector<int32_t> prefix(size_t(batch * stride), 0), out(size_t(batch * length));
    for (int64_t r = 0; r < batch; ++r) std::copy(ids[size_t(r)].begin(), ids[size_t(r)].end(), prefix.begin() + r * stride);
    std::vector<uint64_t> rng(static_cast<size_t>(batch));
    p.code->reset(p.arena);
    p.code->seed(seed, rng.data());
    p.code->generate(p.arena, prefix.data(), lens.data(), stride, length, &sampling, rng.data(), out.data());
    for (int64_t r = 0; r < batch; ++r) generated.emplace_back(out.begin() + r * length, out.begin() + (r + 1) * length);
  }
  std::vector<std::string> texts;
  // Words are joined by spaces, the prefix's last one to the first generated too.
  const std::string joint = vocab_.words() ? " " : "";
  for (size_t r = 0; r < prefixes.size(); ++r)
    texts.push_back(prefixes[r] + (generated[r].empty() ? "" : joint) + vocab_.decode(generated[r]));
  return texts;
}

std::string Generator::generate(const std::string& prefix, int64_t length, double temperature, uint64_t seed) {
  return generateBatch({prefix}, length, temperature, seed).front();
}

}  // namespace graphc
