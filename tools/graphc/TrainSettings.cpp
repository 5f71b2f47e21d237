// tools/graphc/TrainSettings.cpp — see TrainFlags.h.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "graph/Error.h"
#include "tools/graphc/TrainFlags.h"

namespace graphc::cli {
namespace {

// The flag each setting comes from.
const std::map<std::string, std::string> kSettingFlags = {
    {"model", "--model"},         {"hidden", "--hidden"},       {"num_layers", "--num-layers"},
    {"batch_size", "--batch-size"}, {"num_steps", "--num-steps"}, {"optimizer", "--optimizer"},
    {"lr", "--lr"},               {"clip", "--clip"},           {"momentum", "--momentum"},
    {"iter", "--iter"},           {"seed", "--seed"},           {"max_tokens", "--max-tokens"},
    {"text", "--text"},           {"settings", "--set"},       {"val_fraction", "--val-fraction"},
    {"min_count", "--min-count"}, {"weight_decay", "--weight-decay"}, {"lr_schedule", "--lr-schedule"},
    {"lr_decay_rate", "--lr-decay-rate"}, {"warmup", "--warmup"}, {"min_lr", "--min-lr"},
    {"lr_factor", "--lr-factor"}, {"lr_patience", "--lr-patience"}, {"early_stop", "--early-stop"},
    {"beta1", "--beta1"},         {"beta2", "--beta2"},         {"epoch_steps", "--epoch-steps"}};

// A setting a --resume checkpoint recorded. Settings added after the first
// checkpoints default to the value every run had before they existed
// (checkpoints from before --text were all d2l's cleaning); others must be there.
std::string recordedSetting(const std::map<std::string, std::string>& meta, const std::string& key,
                            const std::string& path) {
  static const std::map<std::string, std::string> kBefore = {
      {"text", "d2l"},        {"settings", "{}"},   {"val_fraction", "0"}, {"min_count", "1"},
      {"beta1", "0.9"},       {"beta2", "0.999"},    {"epoch_steps", "0"},
      {"weight_decay", "0"},  {"lr_schedule", "constant"}, {"lr_decay_rate", "0"}, {"warmup", "0"},
      {"min_lr", "0"},        {"lr_factor", "0.25"}, {"lr_patience", "1"},  {"early_stop", "0"}};
  if (auto it = meta.find(key); it != meta.end()) return it->second;
  if (auto it = kBefore.find(key); it != kBefore.end()) return it->second;
  throw Error(fmt::format("{}: error: the checkpoint does not record '{}'", path, key));
}

// The settings a --resume checkpoint recorded, read strictly: each is a
// number in the range its flag accepts ("16junk", -1 or 1e999 name the key).
void readResumedSettings(const std::map<std::string, std::string>& meta, TrainFlags& f) {
  auto bad = [&](const std::string& key, const std::string& v, const std::string& what) {
    return Error(fmt::format("{}: error: the checkpoint's {} is '{}', not {}", f.resume, key, escapeForMessage(v), what));
  };
  auto text = [&](const std::string& key) { return recordedSetting(meta, key, f.resume); };
  auto whole = [&](const std::string& key, uint64_t lo, uint64_t hi) {
    std::string v = text(key);
    uint64_t x = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (ec != std::errc() || end != v.data() + v.size() || x < lo || x > hi)
      throw bad(key, v, fmt::format("a whole number in {}..{}", lo, hi));
    return x;
  };
  auto number = [&](const std::string& key, double lo, double hi) {
    std::string v = text(key);
    double x = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (ec != std::errc() || end != v.data() + v.size() || !std::isfinite(x) || x < lo || x > hi)
      throw bad(key, v, fmt::format("a number in [{}, {}]", lo, hi));
    return x;
  };
  auto oneOf = [&](const std::string& key, const std::vector<std::string>& allowed) {
    std::string v = text(key);
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end())
      throw bad(key, v, fmt::format("one of {}", fmt::join(allowed, ", ")));
    return v;
  };
  constexpr uint64_t kMany = uint64_t(1) << 40;
  f.model = text("model");
  f.config.hidden = int64_t(whole("hidden", 1, 1 << 14));
  f.config.numLayers = int64_t(whole("num_layers", 1, 16));
  f.config.batchSize = int64_t(whole("batch_size", 1, 1 << 16));
  f.config.numSteps = int64_t(whole("num_steps", 1, 1 << 12));
  f.optimizer.kind = oneOf("optimizer", {"sgd", "momentum", "adam", "adamw"});
  f.optimizer.learningRate = number("lr", 1e-38, 3e38);
  f.optimizer.clipNorm = number("clip", 0, 3e38);
  f.optimizer.momentum = number("momentum", 0, 1);
  f.optimizer.beta1 = number("beta1", 0, 0.999999);
  f.optimizer.beta2 = number("beta2", 0, 0.999999);
  f.iter = oneOf("iter", {"sequential", "random", "windows"});
  f.epochSteps = int64_t(whole("epoch_steps", 0, kMany));
  f.text = oneOf("text", {"d2l", "chars", "words"});
  f.minCount = int64_t(whole("min_count", 1, kMany));
  f.optimizer.weightDecay = number("weight_decay", 0, 1e3);
  f.schedule.kind = oneOf("lr_schedule", {"constant", "inverse-time", "cosine", "plateau"});
  f.schedule.decayRate = number("lr_decay_rate", 0, 1e6);
  f.schedule.warmup = int64_t(whole("warmup", 0, kMany));
  f.schedule.minLr = number("min_lr", 0, 3e38);
  f.schedule.factor = number("lr_factor", 1e-38, 0.999999);
  f.schedule.patience = int64_t(whole("lr_patience", 1, 1 << 30));
  f.earlyStop = int64_t(whole("early_stop", 0, 1 << 30));
  try {
    f.config.settings = nlohmann::json::parse(text("settings")).get<std::map<std::string, double>>();
  } catch (const std::exception&) {
    throw bad("settings", text("settings"), "a JSON object of numbers");
  }
  f.seed = whole("seed", 0, UINT64_MAX);
  f.maxTokens = int64_t(whole("max_tokens", 0, kMany));
  f.valFraction = number("val_fraction", 0, 0.9);
}

}  // namespace

std::string settingFlag(const std::string& key) {
  auto it = kSettingFlags.find(key);
  return it != kSettingFlags.end() ? it->second : key;
}

std::map<std::string, std::string> runSettings(const TrainFlags& f) {
  return {{"model", f.model},
          {"hidden", std::to_string(f.config.hidden)},
          {"num_layers", std::to_string(f.config.numLayers)},
          {"batch_size", std::to_string(f.config.batchSize)},
          {"num_steps", std::to_string(f.config.numSteps)},
          {"optimizer", f.optimizer.kind},
          {"lr", fmt::format("{}", f.optimizer.learningRate)},
          {"clip", fmt::format("{}", f.optimizer.clipNorm)},
          {"momentum", fmt::format("{}", f.optimizer.momentum)},
          {"beta1", fmt::format("{}", f.optimizer.beta1)},
          {"beta2", fmt::format("{}", f.optimizer.beta2)},
          {"iter", f.iter},
          {"epoch_steps", std::to_string(f.epochSteps)},
          {"seed", std::to_string(f.seed)},
          {"max_tokens", std::to_string(f.maxTokens)},
          {"val_fraction", fmt::format("{}", f.valFraction)},
          {"text", f.text},
          {"min_count", std::to_string(f.minCount)},
          {"weight_decay", fmt::format("{}", f.optimizer.weightDecay)},
          {"lr_schedule", f.schedule.kind},
          {"lr_decay_rate", fmt::format("{}", f.schedule.decayRate)},
          {"warmup", std::to_string(f.schedule.warmup)},
          {"min_lr", fmt::format("{}", f.schedule.minLr)},
          {"lr_factor", fmt::format("{}", f.schedule.factor)},
          {"lr_patience", std::to_string(f.schedule.patience)},
          {"early_stop", std::to_string(f.earlyStop)},
          {"settings", nlohmann::json(f.config.settings).dump()}};
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
    std::string text = recordedSetting(meta, key, f.resume);
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
  auto settingsObject = [](const nlohmann::json& v) {
    return v.is_object() && std::all_of(v.begin(), v.end(), [](const nlohmann::json& x) { return x.is_number(); });
  };
  TrainFlags given = f;
  for (const auto& [key, flag] : kSettingFlags) {
    std::string recorded = recordedSetting(meta, key, f.resume);
    std::string mine = runSettings(given).at(key);
    if (key == "settings") {  // each --set given must agree with what the checkpoint recorded
      auto recordedSettings = json(key, "a JSON object of numbers", settingsObject).get<std::map<std::string, double>>();
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
