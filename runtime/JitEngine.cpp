// runtime/JitEngine.cpp — copy leaves into the arena, call the entry, copy results out.
#include "runtime/JitEngine.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

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
  // Mapped, not allocated and cleared: fresh anonymous pages read as zeros
  // and cost memory only once touched, so a trainer's params are not held
  // twice (its copies and the arena's) before the first step takes them in.
  constexpr size_t kHugePage = size_t(2) << 20;
  size_t bytes = (size_t(std::max<int64_t>(64, arenaBytes_)) + kHugePage - 1) / kHugePage * kHugePage;
  mappingBytes_ = bytes + kHugePage;
  mapping_ = mmap(nullptr, mappingBytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping_ == MAP_FAILED) {
    mapping_ = nullptr;
    throw Error(fmt::format("cannot allocate the {}-byte arena", arenaBytes_));
  }
  arena_ = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(mapping_) + kHugePage - 1) / kHugePage * kHugePage);
  madvise(arena_, bytes, MADV_HUGEPAGE);  // a hint: without transparent huge pages it changes nothing
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

JitEngine::~JitEngine() {
  if (mapping_) munmap(mapping_, mappingBytes_);
}

void JitEngine::setResident(const std::vector<std::string>& names, bool take) {
  takeResident_ = take;
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
    if (s.resident && takeResident_) vars.erase(it);
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

void JitEngine::discardExcept(const std::vector<std::string>& names) {
  // The kept slots' byte ranges, in order; every whole page between them goes back to the system.
  std::vector<std::pair<uintptr_t, uintptr_t>> kept;
  for (const Slot& s : leaves_)
    if (std::find(names.begin(), names.end(), s.name) != names.end())
      kept.push_back({uintptr_t(arena_ + s.offset), uintptr_t(arena_ + s.offset + s.type.numElements() * 4)});
  std::sort(kept.begin(), kept.end());
  const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  uintptr_t from = uintptr_t(arena_);
  auto discard = [&](uintptr_t begin, uintptr_t end) {
    begin = (begin + page - 1) / page * page;
    end = end / page * page;
    if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
  };
  for (const auto& [begin, end] : kept) {
    discard(from, begin);
    from = std::max(from, end);
  }
  discard(from, uintptr_t(arena_) + size_t(std::max<int64_t>(64, arenaBytes_)));
}

Tensor JitEngine::read(const Slot& s) const {
  Tensor t(s.type);
  void* dst = s.type.dtype == DType::F32 ? static_cast<void*>(t.f32()) : static_cast<void*>(t.i32());
  std::memcpy(dst, arena_ + s.offset, size_t(s.type.numElements()) * 4);
  return t;
}

void JitEngine::readResident(TensorMap& vars, const std::vector<std::string>* only) const {
  for (const Slot& s : leaves_) {
    if (!s.resident || !s.loaded) continue;
    if (only && std::find(only->begin(), only->end(), s.name) == only->end()) continue;
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
