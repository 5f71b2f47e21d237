// tools/graphc/TrainSettings.cpp — see TrainFlags.h.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "graph/Error.h"
#include "driver/Pipeline.h"
#include "tools/graphc/TrainFlags.h"

namespace graphc::cli {
namespace {

// A run setting: recorded in every checkpoint under `key`, given by `flag`,
// printed and read back strictly by the row (a number in the range its flag
// accepts, or one of its choices: "16junk", -1 or 1e999 name the key). A
// setting added after the first checkpoints has `before`, the value every
// run had before it existed (checkpoints from before --text were all d2l's
// cleaning); the others must be recorded. A new setting is its flag
// (TrainCommand.cpp) and one row below.
struct RunSetting {
  const char* key;
  const char* flag;
  std::function<std::string(const TrainFlags&)> print;
  // Reads `text` into the flags; returns "" or what the text must be.
  std::function<std::string(TrainFlags&, const std::string& text)> read;
  std::optional<std::string> before = std::nullopt;
};

template <typename T>
using Field = T& (*)(TrainFlags&);

template <typename T>
RunSetting whole(const char* key, const char* flag, Field<T> field, uint64_t lo, uint64_t hi,
                 std::optional<std::string> before = std::nullopt) {
  return {key, flag, [field](const TrainFlags& f) { return std::to_string(field(const_cast<TrainFlags&>(f))); },
          [field, lo, hi](TrainFlags& f, const std::string& v) {
            uint64_t x = 0;
            auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
            if (ec != std::errc() || end != v.data() + v.size() || x < lo || x > hi)
              return fmt::format("a whole number in {}..{}", lo, hi);
            field(f) = T(x);
            return std::string();
          },
          std::move(before)};
}

RunSetting number(const char* key, const char* flag, Field<double> field, double lo, double hi,
                  std::optional<std::string> before = std::nullopt) {
  return {key, flag, [field](const TrainFlags& f) { return fmt::format("{}", field(const_cast<TrainFlags&>(f))); },
          [field, lo, hi](TrainFlags& f, const std::string& v) {
            double x = 0;
            auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
            if (ec != std::errc() || end != v.data() + v.size() || !std::isfinite(x) || x < lo || x > hi)
              return fmt::format("a number in [{}, {}]", lo, hi);
            field(f) = x;
            return std::string();
          },
          std::move(before)};
}

// One of `allowed`, or any text when it is empty.
RunSetting choice(const char* key, const char* flag, Field<std::string> field, std::vector<std::string> allowed,
                  std::optional<std::string> before = std::nullopt) {
  return {key, flag, [field](const TrainFlags& f) { return field(const_cast<TrainFlags&>(f)); },
          [field, allowed](TrainFlags& f, const std::string& v) {
            if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), v) == allowed.end())
              return fmt::format("one of {}", fmt::join(allowed, ", "));
            field(f) = v;
            return std::string();
          },
          std::move(before)};
}

constexpr uint64_t kMany = uint64_t(1) << 40;

const std::vector<RunSetting>& runSettingTable() {
  static const std::vector<RunSetting> table = {
      choice("model", "--model", [](TrainFlags& f) -> std::string& { return f.model; }, {}),
      whole<int64_t>("hidden", "--hidden", [](TrainFlags& f) -> int64_t& { return f.config.hidden; }, 1, 1 << 14),
      whole<int64_t>("num_layers", "--num-layers", [](TrainFlags& f) -> int64_t& { return f.config.numLayers; }, 1, 16),
      whole<int64_t>("batch_size", "--batch-size", [](TrainFlags& f) -> int64_t& { return f.config.batchSize; }, 1, 1 << 16),
      whole<int64_t>("num_steps", "--num-steps", [](TrainFlags& f) -> int64_t& { return f.config.numSteps; }, 1, 1 << 12),
      choice("optimizer", "--optimizer", [](TrainFlags& f) -> std::string& { return f.optimizer.kind; },
             {"sgd", "momentum", "adam", "adamw"}),
      number("lr", "--lr", [](TrainFlags& f) -> double& { return f.optimizer.learningRate; }, 1e-38, 3e38),
      number("clip", "--clip", [](TrainFlags& f) -> double& { return f.optimizer.clipNorm; }, 0, 3e38),
      number("momentum", "--momentum", [](TrainFlags& f) -> double& { return f.optimizer.momentum; }, 0, 1),
      number("beta1", "--beta1", [](TrainFlags& f) -> double& { return f.optimizer.beta1; }, 0, 0.999999, "0.9"),
      number("beta2", "--beta2", [](TrainFlags& f) -> double& { return f.optimizer.beta2; }, 0, 0.999999, "0.999"),
      choice("iter", "--iter", [](TrainFlags& f) -> std::string& { return f.iter; }, {"sequential", "random", "windows"}),
      whole<int64_t>("epoch_steps", "--epoch-steps", [](TrainFlags& f) -> int64_t& { return f.epochSteps; }, 0, kMany, "0"),
      whole<uint64_t>("seed", "--seed", [](TrainFlags& f) -> uint64_t& { return f.seed; }, 0, UINT64_MAX),
      whole<int64_t>("max_tokens", "--max-tokens", [](TrainFlags& f) -> int64_t& { return f.maxTokens; }, 0, kMany),
      number("val_fraction", "--val-fraction", [](TrainFlags& f) -> double& { return f.valFraction; }, 0, 0.9, "0"),
      choice("text", "--text", [](TrainFlags& f) -> std::string& { return f.text; }, {"d2l", "chars", "words"}, "d2l"),
      whole<int64_t>("min_count", "--min-count", [](TrainFlags& f) -> int64_t& { return f.minCount; }, 1, kMany, "1"),
      number("weight_decay", "--weight-decay", [](TrainFlags& f) -> double& { return f.optimizer.weightDecay; }, 0, 1e3,
             "0"),
      choice("lr_schedule", "--lr-schedule", [](TrainFlags& f) -> std::string& { return f.schedule.kind; },
             {"constant", "inverse-time", "cosine", "plateau"}, "constant"),
      number("lr_decay_rate", "--lr-decay-rate", [](TrainFlags& f) -> double& { return f.schedule.decayRate; }, 0, 1e6,
             "0"),
      whole<int64_t>("warmup", "--warmup", [](TrainFlags& f) -> int64_t& { return f.schedule.warmup; }, 0, kMany, "0"),
      number("min_lr", "--min-lr", [](TrainFlags& f) -> double& { return f.schedule.minLr; }, 0, 3e38, "0"),
      number("lr_factor", "--lr-factor", [](TrainFlags& f) -> double& { return f.schedule.factor; }, 1e-38, 0.999999,
             "0.25"),
      whole<int64_t>("lr_patience", "--lr-patience", [](TrainFlags& f) -> int64_t& { return f.schedule.patience; }, 1,
                     1 << 30, "1"),
      choice("fused_loss", "--fused-loss", [](TrainFlags& f) -> std::string& { return f.fusedLoss; }, kFusedLossChoices,
             "off"),
      whole<int64_t>("early_stop", "--early-stop", [](TrainFlags& f) -> int64_t& { return f.earlyStop; }, 0, 1 << 30, "0"),
      {"settings", "--set", [](const TrainFlags& f) { return nlohmann::json(f.config.settings).dump(); },
       [](TrainFlags& f, const std::string& v) {
         try {
           f.config.settings = nlohmann::json::parse(v).get<std::map<std::string, double>>();
           return std::string();
         } catch (const std::exception&) {
           return std::string("a JSON object of numbers");
         }
       },
       "{}"},
  };
  return table;
}

// A setting a --resume checkpoint recorded (or, for one added since, the value before it existed).
std::string recordedSetting(const std::map<std::string, std::string>& meta, const RunSetting& s,
                            const std::string& path) {
  if (auto it = meta.find(s.key); it != meta.end()) return it->second;
  if (s.before) return *s.before;
  throw Error(fmt::format("{}: error: the checkpoint does not record '{}'", path, s.key));
}

// The settings a --resume checkpoint recorded, read strictly.
void readResumedSettings(const std::map<std::string, std::string>& meta, TrainFlags& f) {
  for (const RunSetting& s : runSettingTable()) {
    std::string text = recordedSetting(meta, s, f.resume);
    if (std::string what = s.read(f, text); !what.empty())
      throw Error(fmt::format("{}: error: the checkpoint's {} is '{}', not {}", f.resume, s.key, escapeForMessage(text), what));
  }
}

}  // namespace

std::string settingFlag(const std::string& key) {
  for (const RunSetting& s : runSettingTable())
    if (key == s.key) return s.flag;
  return key;
}

std::map<std::string, std::string> runSettings(const TrainFlags& f) {
  std::map<std::string, std::string> settings;
  for (const RunSetting& s : runSettingTable()) settings[s.key] = s.print(f);
  return settings;
}

std::string bestCheckpointPath(const std::string& save) {
  const std::string ext = ".safetensors";
  if (save.size() > ext.size() && save.compare(save.size() - ext.size(), ext.size(), ext) == 0)
    return save.substr(0, save.size() - ext.size()) + ".best" + ext;
  return save + ".best";
}
std::vector<EpochReport> resumeSettings(const Checkpoint& ckpt, TrainFlags& f) {
  std::vector<EpochReport> history;
  const auto& meta = ckpt.metadata;
  auto it = meta.find("training_state");
  if (it == meta.end() || it->second != "1")
    throw Error(fmt::format("{}: error: not a training checkpoint (it holds parameters only; train with --save or "
                            "--checkpoint-every to write one that resumes)",
                            f.resume));
  // A JSON-valued record, read strictly: anything but `what` names the key (a raw JSON exception did).
  auto json = [&](const std::string& key, const char* what, auto valid) {
    auto it = meta.find(key);
    if (it == meta.end()) throw Error(fmt::format("{}: error: the checkpoint does not record '{}'", f.resume, key));
    std::string text = it->second;
    try {
      nlohmann::json value = nlohmann::json::parse(text);
      if (valid(value)) return value;
    } catch (const nlohmann::json::exception&) {
    }
    throw Error(fmt::format("{}: error: the checkpoint's {} is '{}', not {}", f.resume, key, escapeForMessage(text), what));
  };
  auto numbersOrNulls = [](const nlohmann::json& v) {
    return v.is_array() && std::all_of(v.begin(), v.end(), [](const nlohmann::json& x) { return x.is_number() || x.is_null(); });
  };
  TrainFlags given = f;
  const std::map<std::string, std::string> mySettings = runSettings(given);
  for (const RunSetting& s : runSettingTable()) {
    const std::string key = s.key, flag = s.flag;
    std::string recorded = recordedSetting(meta, s, f.resume);
    const std::string& mine = mySettings.at(key);
    if (key == "settings") {  // each --set given must agree with what the checkpoint recorded
      TrainFlags recordedFlags;
      if (std::string what = s.read(recordedFlags, recorded); !what.empty())
        throw Error(fmt::format("{}: error: the checkpoint's {} is '{}', not {}", f.resume, key, escapeForMessage(recorded), what));
      const auto& recordedSettings = recordedFlags.config.settings;
      for (const auto& [name, value] : given.config.settings)
        if (!recordedSettings.count(name) || recordedSettings.at(name) != value)
          throw Error(fmt::format("--set {}={} but the checkpoint was trained with {} (drop the flag to resume)", name,
                                  value, recordedSettings.count(name) ? fmt::format("{}={}", name, recordedSettings.at(name))
                                                                      : "no such setting"));
      continue;
    }
    if (f.given.count(flag) && mine != recorded && !(key == "hidden" && given.config.hidden == 0) &&
        !(key == "num_layers" && given.config.numLayers == 0))
      throw Error(fmt::format("{}: {} but the checkpoint was trained with {} (drop the flag to resume)", flag,
                              escapeForMessage(mine), escapeForMessage(recorded)));
  }
  readResumedSettings(meta, f);
  // Per-epoch series; older checkpoints lack some (their fields stay empty in the metrics).
  auto series = [&](const char* key) {
    std::vector<double> values;
    if (meta.count(key))
      for (const auto& v : json(key, "a JSON list of numbers", numbersOrNulls))
        values.push_back(v.is_number() ? v.get<double>() : NAN);
    return values;
  };
  auto at = [](const std::vector<double>& values, size_t i) { return i < values.size() ? values[i] : NAN; };
  const std::vector<double> valPerplexities = series("val_perplexities"), gradNorms = series("grad_norms"),
                            learningRates = series("learning_rates"), valEstimates = series("val_estimate_losses");
  auto perplexities = [](const nlohmann::json& v) {
    return v.is_array() && std::all_of(v.begin(), v.end(), [](const nlohmann::json& x) {
             return x.is_number() && std::isfinite(x.get<double>()) && x.get<double>() >= 1;
           });
  };
  for (const auto& row : json("perplexities", "a JSON list of perplexities (finite, >= 1)", perplexities)) {
    EpochReport r;
    const size_t i = history.size();
    r.epoch = int64_t(i) + 1;
    r.perplexity = row.get<double>();
    r.loss = std::log(r.perplexity);
    r.valPerplexity = at(valPerplexities, i);
    r.gradNorm = at(gradNorms, i);
    r.learningRate = at(learningRates, i);
    r.valEstimateLoss = at(valEstimates, i);
    r.tokensPerSec = std::nan("");  // wall-clock numbers stay out of checkpoints: they would not repeat
    r.seconds = std::nan("");
    history.push_back(r);
  }
  return history;
}

}  // namespace graphc::cli
