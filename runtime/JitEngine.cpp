// runtime/JitEngine.cpp — copy leaves into the arena, call the entry, copy results out.
#include "runtime/JitEngine.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <sys/mman.h>

#include "codegen/RuntimeKernels.h"
#include "graph/Verifier.h"
#include "driver/Pipeline.h"

namespace graphc {

Graph planForJit(const Graph& g, const Target& target) { return lowerGraph(g, target); }

JitEngine::JitEngine(const Graph& g, const JitOptions& options) : planned_(lowerGraph(g, options.target)) {
  code_ = CompiledGraph::compile(planned_, options, &report_);
  arenaBytes_ = attr::arenaBytes(planned_.attrs);
  // Aligned to 2 MiB and advised as huge pages: the products walk the arena
  // in long strides (a transposed operand moves 2 KiB per k), and with 4 KiB
  // pages the TLB misses would cost more than the loads. (The planner needs
  // only 64-byte alignment.)
  constexpr size_t kHugePage = size_t(2) << 20;
  size_t bytes = (size_t(std::max<int64_t>(64, arenaBytes_)) + kHugePage - 1) / kHugePage * kHugePage;
  arena_ = static_cast<char*>(std::aligned_alloc(kHugePage, bytes));
  if (!arena_) throw Error(fmt::format("cannot allocate the {}-byte arena", arenaBytes_));
  madvise(arena_, bytes, MADV_HUGEPAGE);  // a hint: without transparent huge pages it changes nothing
  std::memset(arena_, 0, size_t(arenaBytes_));
  for (const Node& n : planned_.nodes)
    if (isSignature(n.op))
      leaves_.push_back({n.name, n.type, attr::offset(n.attrs)});
  for (const auto& o : planned_.outputs)
    outputs_.push_back({o.name, planned_.type(o.value), attr::offset(planned_.node(o.value).attrs)});
  for (const auto& u : planned_.updates) {
    updates_.push_back({planned_.node(u.target).name, planned_.type(u.value), attr::offset(planned_.node(u.value).attrs)});
    auto leaf = std::find_if(leaves_.begin(), leaves_.end(), [&](const Slot& l) { return l.name == updates_.back().name; });
    updateLeaf_.push_back(size_t(leaf - leaves_.begin()));  // an update's target is always a leaf
  }
}

JitEngine::~JitEngine() { std::free(arena_); }

void JitEngine::setResident(const std::vector<std::string>& names) {
  for (Slot& s : leaves_) {
    s.resident = std::find(names.begin(), names.end(), s.name) != names.end();
    s.loaded = false;
  }
}

TensorMap JitEngine::run(TensorMap& vars) {
  for (Slot& s : leaves_) {
    if (s.resident && s.loaded) continue;
    s.loaded = true;
    auto it = vars.find(s.name);
    if (it == vars.end()) throw Error(fmt::format("no value bound for %{}", s.name));
    if (it->second.type() != s.type)
      throw Error(fmt::format("%{} expects {}, got {}", s.name, str(s.type), str(it->second.type())));
    const void* src = s.type.dtype == DType::F32 ? static_cast<const void*>(it->second.f32())
                                                 : static_cast<const void*>(it->second.i32());
    std::memcpy(arena_ + s.offset, src, size_t(s.type.numElements()) * 4);
  }
  code_->entry()(arena_);
  if (std::string err = graphc_rt_take_error(); !err.empty()) throw Error(err);
  TensorMap out;
  for (const Slot& s : outputs_) out[s.name] = read(s);
  for (size_t u = 0; u < updates_.size(); ++u) {
    const Slot& s = updates_[u];
    // A resident leaf takes its update inside the arena: no copy out and back in.
    const Slot& leaf = leaves_[updateLeaf_[u]];
    if (leaf.resident) {
      if (leaf.offset != s.offset)
        std::memmove(arena_ + leaf.offset, arena_ + s.offset, size_t(s.type.numElements()) * 4);
    } else {
      vars[s.name] = read(s);
    }
  }
  return out;
}

Tensor JitEngine::read(const Slot& s) const {
  Tensor t(s.type);
  void* dst = s.type.dtype == DType::F32 ? static_cast<void*>(t.f32()) : static_cast<void*>(t.i32());
  std::memcpy(dst, arena_ + s.offset, size_t(s.type.numElements()) * 4);
  return t;
}

void JitEngine::readResident(TensorMap& vars) const {
  for (const Slot& s : leaves_) {
    if (!s.resident || !s.loaded) continue;
    // Into the tensor already there when it fits: fresh megabytes cost page faults at every call.
    auto it = vars.find(s.name);
    if (it == vars.end() || it->second.type() != s.type) {
      vars[s.name] = read(s);
      continue;
    }
    void* dst = s.type.dtype == DType::F32 ? static_cast<void*>(it->second.f32()) : static_cast<void*>(it->second.i32());
    std::memcpy(dst, arena_ + s.offset, size_t(s.type.numElements()) * 4);
  }
}

}  // namespace graphc
