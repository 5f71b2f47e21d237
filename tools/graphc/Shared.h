// tools/graphc/Shared.h — pieces the train and generate commands share: where
// the data is, and what a checkpoint says about its model.
#pragma once

#include <map>
#include <string>

#include "codegen/Jit.h"
#include "graph/Dot.h"
#include "models/Model.h"
#include "passes/PassManager.h"
#include "runtime/Checkpoint.h"
#include "runtime/Corpus.h"

namespace graphc::cli {

// --data, else $GRAPHC_DATA, else ../shared/data/timemachine.txt beside the
// checkout, else the copy bundled in data/. Throws saying where it looked and how to pass --data.
std::string resolveDataPath(const std::string& flag);

// What a checkpoint records beside the tensors.
struct ModelInfo {
  std::string model;
  ModelConfig config;
  Vocab vocab;
};

void writeModelInfo(Checkpoint& ckpt, const ModelInfo& info, const std::map<std::string, std::string>& hyperparameters);
// Throws "PATH: error: ..." when the metadata is missing or malformed.
ModelInfo readModelInfo(const std::map<std::string, std::string>& metadata, const std::string& path);

// A `train --save` checkpoint's params (only: not the optimizer's state) with
// its metadata and its model (registered by then), refused with one line when
// `expectedModel` is set and differs. The header is checked against the
// model's params before any tensor is read, so a file claiming gigabytes of
// other tensors costs its header only.
struct TrainedModel {
  Checkpoint checkpoint;
  ModelInfo info;
  const ModelDef* model;
};
TrainedModel loadTrainedModel(const std::string& path, const std::string& expectedModel);

bool stdoutIsTerminal();

// The Graphviz picture of `g` (graph/Dot.h); with every node drawn (--expand)
// it is refused past kMaxExpandedEdges edges, saying how big it would be:
// Graphviz's layout grows much faster than the edges (458 edges took 43 s,
// 958 over two minutes, the seed's whole step did not finish in 15).
constexpr size_t kMaxExpandedEdges = 500;
std::string dotPicture(const Graph& g, const DotOptions& options);

// The --stats report: kernels, arena bytes, FLOPs per run, compile seconds per stage.
std::string statsText(const Graph& planned, const std::vector<PassTiming>& passes, const CompileReport& report);

}  // namespace graphc::cli
