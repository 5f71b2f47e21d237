// runtime/JitEngine.h — the compiled engine: fuse and plan the graph, compile
// it to native code, run it over one arena.
#pragma once

#include "codegen/Jit.h"
#include "runtime/Engine.h"

namespace graphc {

class JitEngine : public Engine {
 public:
  JitEngine(const Graph& g, const JitOptions& options);
  ~JitEngine() override;
  TensorMap run(TensorMap& vars) override;
  void setResident(const std::vector<std::string>& names, bool take = false) override;
  void readResident(TensorMap& vars, const std::vector<std::string>* only = nullptr) const override;
  void discardExcept(const std::vector<std::string>& names) override;


  const CompileReport& report() const { return report_; }
  const Graph& planned() const { return planned_; }
  int64_t arenaBytes() const { return arenaBytes_; }

 private:
  struct Slot {
    std::string name;
    TensorType type;
    int64_t offset;
    bool resident = false;  // copied once, then left in the arena
    bool loaded = false;
  };
  Tensor read(const Slot& s) const;

  Graph planned_;
  CompileReport report_;
  std::unique_ptr<CompiledGraph> code_;
  char* arena_ = nullptr;         // 2 MiB aligned, inside the mapping
  void* mapping_ = nullptr;       // what mmap gave (munmap'ed whole)
  size_t mappingBytes_ = 0;
  int64_t arenaBytes_ = 0;
  bool takeResident_ = false;     // setResident's `take`
  std::vector<Slot> leaves_, outputs_, updates_;
  std::vector<size_t> updateLeaf_;  // updates_[u] writes leaves_[updateLeaf_[u]]
};

// The graph the JIT runs: `g` lowered for the target (driver/Pipeline.h).
Graph planForJit(const Graph& g, const Target& target = hostTarget());

}  // namespace graphc
