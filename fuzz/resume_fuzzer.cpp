// fuzz/resume_fuzzer.cpp — libFuzzer harness: a --resume checkpoint's
// metadata, through what train reads from it (the run's settings, each epoch's
// record, the checks against the flags given). The input is lines KEY=VALUE
// laid over a valid checkpoint's metadata, so the search starts from a run
// that resumes. graphc::Error is the expected answer to bad input; anything
// else (a raw JSON or std exception, a crash, a sanitizer report) is a finding.
// Built and run by scripts/fuzz.sh.
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>

#include "graph/Error.h"
#include "tools/graphc/TrainFlags.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace graphc;
  Checkpoint ckpt;
  ckpt.metadata = {{"training_state", "1"}, {"model", "rnn-scratch"}, {"hidden", "16"}, {"num_layers", "1"},
                   {"batch_size", "4"}, {"num_steps", "5"}, {"optimizer", "sgd"}, {"lr", "1"}, {"clip", "1"},
                   {"momentum", "0.9"}, {"iter", "sequential"}, {"seed", "0"}, {"max_tokens", "2000"},
                   {"perplexities", "[20.5,15.25]"}, {"val_perplexities", "[null,30]"},
                   {"grad_norms", "[0.5,0.25]"}, {"learning_rates", "[1,1]"}, {"settings", "{}"}};
  std::string text(reinterpret_cast<const char*>(data), size);
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    at = end + 1;
    size_t eq = line.find('=');
    if (eq == std::string::npos) ckpt.metadata.erase(line);  // a line without '=' removes the key
    else ckpt.metadata[line.substr(0, eq)] = line.substr(eq + 1);
  }
  cli::TrainFlags flags;
  flags.resume = "fuzz.safetensors";
  try {
    std::vector<EpochReport> history = cli::resumeSettings(ckpt, flags);
    (void)history;
  } catch (const Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "not a graphc::Error: %s\n", e.what());
    std::abort();
  }
  return 0;
}
