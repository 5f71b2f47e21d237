// tools/graphc/TrainCommand.cpp — `graphc train`'s flags (the seed setup by
// default); the run itself is tools/graphc/TrainRun.cpp.
#include <fmt/format.h>
#include <memory>

#include "runtime/Communicator.h"
#include "driver/Pipeline.h"
#include "tools/graphc/Commands.h"
#include "tools/graphc/Shared.h"
#include "tools/graphc/TrainFlags.h"
#include "tools/graphc/TrainRun.h"

namespace graphc::cli {

namespace {

// The learning rate's course and early stopping.
void addScheduleFlags(CLI::App* cmd, TrainFlags& f) {
  cmd->add_option("--lr-schedule", f.schedule.kind,
                  "constant, inverse-time (lr / (1 + r t), r from --lr-decay-rate), cosine (to --min-lr at the last "
                  "step) or plateau (times --lr-factor when validation stalls for --lr-patience epochs)")
      ->check(CLI::IsMember({"constant", "inverse-time", "cosine", "plateau"}))
      ->capture_default_str();
  cmd->add_option("--lr-decay-rate", f.schedule.decayRate, "r of --lr-schedule inverse-time, per step")
      ->check(finiteNumber(0, 1e6))
      ->capture_default_str();
  cmd->add_option("--warmup", f.schedule.warmup, "Steps of linear warm-up from 0 to --lr, before the schedule")
      ->check(wholeNumber(0, uint64_t(1) << 40))
      ->capture_default_str();
  cmd->add_option("--min-lr", f.schedule.minLr, "The rate --lr-schedule cosine ends at")
      ->check(finiteNumber(0, 3e38))
      ->capture_default_str();
  cmd->add_option("--lr-factor", f.schedule.factor, "--lr-schedule plateau multiplies the rate by this")
      ->check(finiteNumber(0, 1))
      ->capture_default_str();
  cmd->add_option("--lr-patience", f.schedule.patience, "--lr-schedule plateau: epochs without improvement before a decay")
      ->check(wholeNumber(1, uint64_t(1) << 30))
      ->capture_default_str();
  cmd->add_option("--early-stop", f.earlyStop,
                  "Stop after this many epochs without a better validation perplexity (0: never); the test uses "
                  "the best epoch, whose checkpoint --save keeps beside the last as NAME.best.safetensors")
      ->check(wholeNumber(0, uint64_t(1) << 30))
      ->capture_default_str();
}

// The texts and how they become minibatches.
void addDataFlags(CLI::App* cmd, TrainFlags& f) {
  cmd->add_option("--val-fraction", f.valFraction,
                  "Hold out this tail fraction of the corpus and report its perplexity after every epoch (0: none)")
      ->check(finiteNumber(0, 0.9))
      ->capture_default_str();
  cmd->add_option("--val-data", f.valData,
                  "Validation text, read as --data is with its vocabulary: perplexity over every token after each epoch");
  cmd->add_option("--test-data", f.testData,
                  "Test text, read as --data is with its vocabulary: perplexity over every token at the end");
  cmd->add_option("--min-count", f.minCount,
                  "--text words: words seen fewer times in --data become <unk>")
      ->check(wholeNumber(1, uint64_t(1) << 40))
      ->capture_default_str();
  cmd->add_option("--vocab", f.vocabFile,
                  "--text words: the vocabulary, one word per line in id order (instead of counting --data)");
  cmd->add_option("--max-tokens", f.maxTokens, "Keep the first N tokens of the corpus (0: all)")
      ->check(wholeNumber(0, uint64_t(1) << 40))
      ->capture_default_str();
  cmd->add_option("--text", f.text,
                  "How the text becomes tokens: d2l (letters and space, lowercased: the seed's), chars (every "
                  "UTF-8 character as it is) or words (whitespace-separated)")
      ->check(CLI::IsMember({"d2l", "chars", "words"}))
      ->capture_default_str();
  cmd->add_option("--iter", f.iter,
                  "Minibatch iterator: sequential (state carried), random (state reset; d2l's shuffled subsequences) "
                  "or windows (state reset; nanoGPT's windows starting anywhere, --epoch-steps per epoch)")
      ->check(CLI::IsMember({"sequential", "random", "windows"}))
      ->capture_default_str();
  cmd->add_option("--val-estimate", f.valEstimate,
                  "Also estimate the validation loss as nanoGPT does: N batches of --batch-size random windows of "
                  "--num-steps, after each epoch (0: none); the CSV's val_estimate_loss")
      ->check(wholeNumber(0, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--epoch-steps", f.epochSteps,
                  "--iter windows: minibatches per epoch, so validation, samples and checkpoints come every N steps "
                  "(0: as many as the corpus has whole windows)")
      ->check(wholeNumber(0, uint64_t(1) << 40))
      ->capture_default_str();
}

// What a run prints and writes: samples, metrics, plots, checkpoints.
void addOutputFlags(CLI::App* cmd, TrainFlags& f) {
  cmd->add_option("--sample-every", f.sampleEvery, "Print a greedy sample after the sample prefix every N epochs (0: never)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--sample-prefix", f.samplePrefix,
                  "Text the samples continue (default: \"time traveller\" where the text has those words, as The "
                  "Time Machine does, else the text's opening words)");
  cmd->add_option("--metrics", f.metrics, "Write epoch,perplexity,loss,grad_norm (before clipping),lr,tokens_per_sec,seconds to this CSV file");
  cmd->add_option("--plot", f.plot, "Draw perplexity against epoch into this SVG file");
  cmd->add_option("--plot-every", f.plotEvery,
                  "Also rewrite --plot and --metrics every N epochs, to watch a long run (0: only at the end)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 30))
      ->capture_default_str();
  cmd->add_option("--save", f.save,
                  "Save the training state (parameters, optimizer state, RNG, progress) to this safetensors file; "
                  "`generate --load` and `train --resume` read it");
  cmd->add_option("--resume", f.resume,
                  "Continue the run a --save checkpoint holds, bit for bit, up to --epochs (settings come from it; a "
                  "flag that contradicts them is refused)");
  cmd->add_option("--checkpoint-every", f.checkpointEvery, "Also write the --save checkpoint every N epochs (0: only at the end)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 30))
      ->capture_default_str();
  cmd->add_flag("--json", f.json, "End with one JSON line: perplexity, tokens_per_sec, epochs, steps, seconds, sample, ranks, allreduce_ms_per_step");
}

}  // namespace

void addTrainCommand(CLI::App& app) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* cmd = app.add_subcommand("train", "Train a language model on The Time Machine (the seed setup by default)");
  addModelFlags(cmd, *f, {"Model to train (see `graphc models`)", ""});
  cmd->add_option("--epochs", f->epochs, "Epochs")->check(CLI::Range(int64_t(1), int64_t(1) << 30))->capture_default_str();
  addOptimizerFlags(cmd, f->optimizer);
  addScheduleFlags(cmd, *f);
  addDataFlags(cmd, *f);
  cmd->add_option("--seed", f->seed, "Seed for every random choice (batches, initial parameters)")
      ->check(wholeNumber(0, UINT64_MAX))
      ->capture_default_str();
  cmd->add_option("--data", f->data,
                  "The book's text (default: $GRAPHC_DATA, else ../shared/data/timemachine.txt, else the bundled copy); "
                  "at most 1 GiB, read whole: about 2 bytes of memory per byte of text, plus 4 per token kept "
                  "(--max-tokens keeps fewer)");
  addEngineFlags(cmd, f->engine, f->cacheDir, f->targetCpu);
  cmd->add_flag("--no-cache", f->noCache, "Compile without reading or writing the object cache");
  cmd->add_option("--threads", f->threads,
                  "Threads for matrix products and big kernels, per rank under MPI (0: all cores, or the rank's share; more than the cores is capped)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  cmd->add_option("--shards", f->shards,
                  "Cut each batch into this many shards of equal rows, each trained by a worker of its own (a thread; "
                  "under MPI, shards/ranks per process), their gradients summed in a fixed order: the same bits on any "
                  "number of threads and ranks. 1 (or the number of ranks): one per process, whose threads split each "
                  "product instead. 0, the default: a shard per thread when each gets a product tile's rows and the "
                  "copies of the weights and optimizer state that each shard keeps add at most 64 MiB (rows over 2 "
                  "threads train the seed 1.1-1.2x faster than split products), else one per process. --stats says "
                  "which and why; a resumed run keeps its checkpoint's")
      ->check(CLI::Range(0, 1 << 16))
      ->capture_default_str();
  cmd->add_option("--fused-loss", f->fusedLoss,
                  "The output layer, its loss and their gradient without the rows x vocabulary logits (a quarter less "
                  "memory for a word LSTM, as fast): auto (when they would take 8 MiB or more), on or off")
      ->check(CLI::IsMember(kFusedLossChoices))
      ->capture_default_str();
  cmd->add_flag("--stats", f->stats, "Print kernels, arena bytes, FLOPs per step and compile seconds on stderr");
  addOutputFlags(cmd, *f);
  cmd->add_flag("--distributed", f->distributed,
                "Train data-parallel over the MPI world (implied when started by mpirun with more than one process)");
  cmd->add_option("--rank-timeout", f->rankTimeout,
                  "Under MPI: exit when the other ranks have not answered a collective for this many seconds")
      ->check(finiteNumber(1, 86400))
      ->capture_default_str();
  cmd->callback([f, cmd] {
    for (const auto* opt : cmd->get_options())
      if (opt->count() > 0) f->given.insert(opt->get_name());
    try {
      runTrain(*f);
    } catch (const Error& e) {
      int rank = launcherRank();
      if (rank == 0) throw;
      if (!trainingStarted) throw Error("");  // rank 0 reports the same finding
      throw Error(fmt::format("graphc: rank {}: {}", rank, e.what()));
    }
  });
}

}  // namespace graphc::cli
