// passes/PassOptions.h — options given to a pass in a pipeline string, as
// MLIR spells them: `pack-weights{panel-width=32}`,
// `train-step{optimizer=adam,lr=0.001}`. Each pass declares the keys it takes;
// anything else is an error naming the pass and the keys it knows.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace graphc {

class PassOptions {
 public:
  PassOptions() = default;
  PassOptions(std::string pass, std::map<std::string, std::string> values)
      : pass_(std::move(pass)), values_(std::move(values)) {}

  // Throws unless every given key is one of `known`.
  void allowOnly(const std::vector<std::string>& known) const;

  bool has(const std::string& key) const { return values_.count(key) != 0; }
  std::string getString(const std::string& key, const std::string& fallback) const;
  int64_t getInt(const std::string& key, int64_t fallback) const;
  double getDouble(const std::string& key, double fallback) const;
  // "a=1,b=x" in key order, for printing a pipeline back.
  std::string str() const;

 private:
  std::string pass_;
  std::map<std::string, std::string> values_;
};

struct PassSpec {
  std::string name;
  PassOptions options;
};

// Splits "a,b{k=v,k2=v2},c" into pass specs; throws on unbalanced braces,
// an option without '=', or a repeated key.
std::vector<PassSpec> parsePipeline(const std::string& text);

}  // namespace graphc
