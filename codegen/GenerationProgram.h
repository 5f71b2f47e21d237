// codegen/GenerationProgram.h — generation as one compiled program: the
// model's one-step graph (fused and planned, its products over packed params)
// plus the portable runtime (codegen/portable/: the loop over tokens, argmax
// and sampling, the kernels) linked in as bitcode, optimized together for one
// target. The JIT runs it for `graphc generate`; `graphc export` writes the
// same module, with the weights as constants and a C API, as a static library.
// Both run the same code, so they give the same text byte for byte.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "codegen/Jit.h"
#include "codegen/portable/sampling.h"
#include "target/Target.h"
#include "graph/Graph.h"

namespace graphc {

// The x86 features (codegen/portable/program.h's GRAPHC_CPU_* bits) code for
// `target` may use: what an exported library checks for before it runs.
int64_t requiredCpuFeatures(const Target& target);

// What the program needs besides the graph: the vocabulary, and for an
// exported library the bytes of every param of the graph (packed params
// already packed), which the library copies into its arena on creation.
struct ProgramTables {
  std::vector<std::string> tokens;  // id order; tokens[0] is "<unk>"
  std::array<int32_t, 256> byteToken{};  // byte -> id, 0 for unknown bytes
  std::map<std::string, std::vector<char>> weights;  // empty: the caller fills the arena
  // The GRAPHC_CPU_* bits the library checks for; -1: what the target needs
  // (tests set bits no CPU has, to see the refusal).
  int64_t cpuFeatures = -1;
  // The weights go to a separate file (programWeightsFile) the library maps
  // with NAME_load_weights, not into the object.
  bool weightsInFile = false;
};

// The separate weights file of a program whose tables say weightsInFile
// (codegen/portable/program.h: GRAPHC_WEIGHTS_MAGIC): header, then the blob.
std::string programWeightsFile(const Graph& g, const ProgramTables& tables, const Target& target);

// The graph must be a one-step graph (input "X" i32[batch, 1], output
// "logits" f32[batch, vocab]) after fuse and plan. apiPrefix != "": the
// module also holds the C API of codegen/portable/api.c as apiPrefix_create,
// ... (everything else internal). Throws graphc::Error when the graph calls a
// runtime kernel the portable runtime lacks.
std::unique_ptr<llvm::Module> buildGenerationModule(llvm::LLVMContext& ctx, const Graph& g, const ProgramTables& tables,
                                                    const Target& target, const std::string& apiPrefix = "");

// The program compiled for this process (runtime/Generator.cpp uses it).
class CompiledProgram {
 public:
  static std::unique_ptr<CompiledProgram> compile(const Graph& g, const ProgramTables& tables,
                                                  const JitOptions& options, CompileReport* report = nullptr);
  ~CompiledProgram();

  // codegen/portable/program.h's functions, on an arena laid out as the graph's plan.
  void (*reset)(char* arena) = nullptr;
  void (*step)(char* arena, const int32_t* tokens) = nullptr;
  void (*seed)(uint64_t seed, uint64_t* rng) = nullptr;
  void (*generate)(char* arena, const int32_t* prefix, const int64_t* lens, int64_t stride, int64_t n,
                   const graphc_sampling* sampling, uint64_t* rng, int32_t* out) = nullptr;
  int (*setThreads)(int threads) = nullptr;  // the caller included; the results do not depend on it
  void (*stopThreads)() = nullptr;

 private:
  CompiledProgram() = default;
  std::unique_ptr<llvm::orc::LLJIT> jit_;
};

// The exported library's object file (position-independent), for `target`.
std::string emitGenerationObject(const Graph& g, const ProgramTables& tables, const Target& target,
                                 const std::string& apiPrefix);

// A static library (GNU ar, with a symbol table) holding one object file.
// Where the runtime kernels' bitcode (kernels/*.c, as compiled into this
// build) disagrees with kernels/RuntimeKernels.def: a kernel
// missing, or a parameter of another LLVM type than the .def's kind. One
// line each; empty when they agree.
std::vector<std::string> portableKernelMismatches();

std::string staticLibraryOf(const std::string& memberName, const std::string& object);

}  // namespace graphc
