// runtime/Generator.h — text generation with a one-step graph of the model.
//
// With the JIT (the default), generation is one compiled program
// (codegen/GenerationProgram.h): the warm-up, every step, argmax or sampling
// and feeding the token back run in generated code, for one prefix or a
// batch of them, exactly the code `graphc export` puts in a library. The
// interpreter runs the same algorithm a step at a time, as the reference.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "codegen/portable/sampling.h"
#include "models/ModelInterface.h"
#include "runtime/Corpus.h"
#include "runtime/Engine.h"

namespace graphc {

// Every param of `step` (a model's one-step graph) as `typeOf` gives it (null:
// missing), or throws naming the first that is missing or of another type.
// Returns their names. The generator checks the tensors it is given; the
// checkpoint loader a header's entries, before reading any tensor.
std::vector<std::string> checkParamTypes(const Graph& step, const std::string& model,
                                         const std::function<const TensorType*(const std::string&)>& typeOf);

// Throws naming the flag when a sampling setting is out of its range
// (--top-k 0..vocab, --top-p (0, 1], --repetition-penalty > 0).
void checkSampling(const graphc_sampling& s, int64_t vocab);

// Plain softmax sampling at `temperature` (greedy when <= 0).
graphc_sampling temperatureSampling(double temperature);

class Generator {
 public:
  // config.vocab must match vocab; batch and steps are set per call.
  Generator(const ModelDef& model, ModelConfig config, const TensorMap& params, const Vocab& vocab,
            const std::string& engine = "interp", const EngineOptions& engineOptions = {});
  ~Generator();

  // New values for the params (same names and shapes), e.g. after more training.
  void setParams(const TensorMap& params);

  // The prefix warms up the state (nothing generated), then `length` tokens
  // are chosen greedily (temperature <= 0) or sampled from softmax(logits/T)
  // with runtime/Random.h's Rng(seed). Returns the prefix followed by the
  // generated text. Characters the vocabulary lacks are read as <unk>, as an
  // exported library reads them.
  std::string generate(const std::string& prefix, int64_t length, double temperature = 0.0, uint64_t seed = 0);

  // Several prefixes at once (one batch row each; row r samples with seed + r).
  // Each result equals generate(prefixes[r], length, temperature, seed + r).
  std::vector<std::string> generateBatch(const std::vector<std::string>& prefixes, int64_t length,
                                         double temperature = 0.0, uint64_t seed = 0);
  // The same with top-k, top-p and a repetition penalty (codegen/portable/sampling.h;
  // checkSampling's ranges).
  std::vector<std::string> generateBatch(const std::vector<std::string>& prefixes, int64_t length,
                                         const graphc_sampling& sampling, uint64_t seed);

  // The vocabulary prefixes are read with (a character it lacks is <unk>).
  const Vocab& vocab() const { return vocab_; }

  // Compiles the program for `batch` prefixes now (generateBatch would on first use).
  void prepare(int64_t batch);

  // The compiled program for `batch` rows (the JIT engine only): its arena,
  // the bytes each step copies out of params (0 when the merged weights are
  // prepared once, as they should be) and the bytes prepared once.
  struct ProgramFacts {
    int64_t arenaBytes = 0, paramCopyBytesPerStep = 0, preparedBytes = 0;
  };
  ProgramFacts programFacts(int64_t batch);

 private:
  struct Program;  // a compiled generation program for one batch size
  Program& programFor(int64_t batch);
  std::vector<std::vector<int32_t>> interpret(const std::vector<std::vector<int32_t>>& prefixes, int64_t length,
                                              const graphc_sampling& sampling, uint64_t seed);
  std::vector<float> step(int32_t token);

  const ModelDef& model_;
  ModelConfig config_;
  std::string engineKind_;
  EngineOptions engineOptions_;
  TensorMap params_;
  const Vocab& vocab_;
  Graph graph_;  // the one-step graph at batch 1, for the interpreter
  std::unique_ptr<Engine> engine_;
  TensorMap vars_;
  std::map<int64_t, std::unique_ptr<Program>> programs_;
};

}  // namespace graphc
