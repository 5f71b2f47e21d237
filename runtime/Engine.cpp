// runtime/Engine.cpp — engines by name.
#include "runtime/Engine.h"

#include <fmt/format.h>

#include "runtime/Interpreter.h"
#include "runtime/JitEngine.h"

namespace graphc {

std::unique_ptr<Engine> createEngine(const std::string& kind, const Graph& g, const EngineOptions& options) {
  if (kind == "interp") return std::make_unique<Interpreter>(g);
  if (kind == "jit")
    return std::make_unique<JitEngine>(
        g, JitOptions{options.cacheDir, options.useCache, targetFor(options.targetCpu), CodegenOptions{options.reroll}});
  throw Error(fmt::format("unknown engine '{}' (known: jit, interp)", kind));
}

}  // namespace graphc
