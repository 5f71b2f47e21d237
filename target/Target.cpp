// target/Target.cpp — a Target from the host or an LLVM CPU name. The vector
// width and register count are LLVM's own answers (its cost model for a
// function tagged with the CPU), so any CPU LLVM knows gets a sensible tile.
#include "target/Target.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <llvm/Analysis/TargetTransformInfo.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/Triple.h>
#include <mutex>
#include <sched.h>
#include <unistd.h>

#include "target/TargetMachine.h"
#include "graph/Error.h"

namespace graphc {
namespace {

std::string hostFeatureString() {
  std::string features;
  for (const auto& f : llvm::sys::getHostCPUFeatures()) {
    if (!features.empty()) features += ',';
    features += (f.second ? "+" : "-") + f.first().str();
  }
  return features;
}

// Asks LLVM's cost model about a function tagged for the target.
void fillVectorFacts(Target& t) {
  auto tm = createTargetMachine(t);
  llvm::LLVMContext ctx;
  llvm::Module m("probe", ctx);
  auto* fn = llvm::Function::Create(llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), false),
                                    llvm::Function::ExternalLinkage, "probe", m);
  const llvm::MCSubtargetInfo* sti = tm->getMCSubtargetInfo();
  t.hasFma = sti->checkFeatures("+fma");
  bool avx512 = sti->checkFeatures("+avx512f");
  fn->addFnAttr("target-cpu", t.cpu);
  if (!t.features.empty()) fn->addFnAttr("target-features", t.features);
  if (avx512) fn->addFnAttr("prefer-vector-width", "512");
  llvm::TargetTransformInfo tti = tm->getTargetTransformInfo(*fn);
  t.vectorBits = int(tti.getRegisterBitWidth(llvm::TargetTransformInfo::RGK_FixedWidthVector).getFixedValue());
  if (t.vectorBits < 128) t.vectorBits = 128;  // LLVM legalizes 128-bit vectors on any target
  t.vectorRegisters = int(tti.getNumberOfRegisters(tti.getRegisterClassForType(true)));
  if (t.vectorRegisters < 8) t.vectorRegisters = 8;
  if (auto l1 = tti.getCacheSize(llvm::TargetTransformInfo::CacheLevel::L1D)) t.l1Bytes = *l1;
  if (auto l2 = tti.getCacheSize(llvm::TargetTransformInfo::CacheLevel::L2D)) t.l2Bytes = *l2;
}

// AMD's Zen cores ("znver1" .. "znver5") issue integer and vector work from separate schedulers.
void fillPortFacts(Target& t) { t.integerSharesFmaPorts = t.cpu.rfind("znver", 0) != 0; }

void fillHostCaches(Target& t) {
  if (long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE); l1 > 0) t.l1Bytes = l1;
  if (long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE); l2 > 0) t.l2Bytes = l2;
  if (long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE); l3 > 0) t.l3Bytes = l3;
}

}  // namespace

ProductTile chooseTile(int vectorRegisters) {
  ProductTile tile;
  tile.vectors = 2;
  // Two registers for the panel row, one for a broadcast of A; the rest accumulate.
  int rows = (vectorRegisters - tile.vectors - 1) / tile.vectors;
  tile.rows = std::clamp(rows, 1, 12);
  return tile;
}

std::string Target::describe() const {
  return fmt::format("{}{}: {}-bit vectors x {} registers{}, product tile {}x{}, L1 {} KiB, L2 {} KiB{}", cpu,
                     isHost ? " (host)" : "", vectorBits, vectorRegisters, hasFma ? ", FMA" : "", tile.rows,
                     panelWidth(), l1Bytes >> 10, l2Bytes >> 10,
                     isHost ? fmt::format(", {} usable CPU{}", cores, cores == 1 ? "" : "s") : "");
}

const Target& hostTarget() {
  static const Target host = [] {
    initializeLlvmTargets();
    Target t;
    t.name = "host";
    t.triple = llvm::sys::getProcessTriple();
    t.cpu = llvm::sys::getHostCPUName().str();
    t.features = hostFeatureString();
    t.isHost = true;
    fillVectorFacts(t);
    fillPortFacts(t);
    fillHostCaches(t);
    t.cores = usableCpus();
    t.tile = chooseTile(t.vectorRegisters);
    return t;
  }();
  return host;
}

Target targetFor(const std::string& cpuName) {
  if (cpuName.empty() || cpuName == "host" || cpuName == "native") return hostTarget();
  initializeLlvmTargets();
  Target t;
  t.name = cpuName;
  t.triple = llvm::sys::getProcessTriple();
  std::string error;
  const llvm::Target* llvmTarget = llvm::TargetRegistry::lookupTarget(t.triple, error);
  if (!llvmTarget) throw Error(fmt::format("llvm: no target for {}: {}", t.triple, error));
  std::unique_ptr<llvm::MCSubtargetInfo> sti(llvmTarget->createMCSubtargetInfo(t.triple, "", ""));
  if (!sti || !sti->isCPUStringValid(cpuName))
    throw Error(fmt::format("--target-cpu: '{}' is not a CPU LLVM knows for {} (try host, x86-64-v3, znver3, "
                            "sapphirerapids; `llc-19 -mcpu=help` lists them all)",
                            cpuName, t.triple));
  // A 32-bit CPU (i386, pentium4) for this 64-bit triple made LLVM abort ("64-bit code requested on a
  // subtarget that doesn't support it"): refused here, with the reason.
  std::unique_ptr<llvm::MCSubtargetInfo> cpuInfo(llvmTarget->createMCSubtargetInfo(t.triple, cpuName, ""));
  if (llvm::Triple(t.triple).isArch64Bit() && llvm::Triple(t.triple).isX86() && !cpuInfo->checkFeatures("+64bit"))
    throw Error(fmt::format("--target-cpu: '{}' is a 32-bit CPU; graphc generates 64-bit code for {} (try "
                            "x86-64, x86-64-v3, znver3, sapphirerapids)",
                            cpuName, t.triple));
  t.cpu = cpuName;
  t.isHost = false;
  fillVectorFacts(t);
  fillPortFacts(t);
  t.cores = 1;
  t.tile = chooseTile(t.vectorRegisters);
  return t;
}

bool isSystemFeature(const std::string& feature) {
  // An operating system's instructions (protection keys, cache and TLB control, waits) and others reached
  // only through their intrinsics: LLVM never emits them for arithmetic, and hypervisors hide several (a
  // Zen 5 VM reports no mwaitx, pku, rdpru or wbnoinvd, which `znver3` implies).
  static const char* const kSystem[] = {"clzero", "cldemote", "enqcmd",  "hreset",   "invpcid", "movdir64b",
                                        "movdiri", "mwaitx",   "pconfig", "pku",      "ptwrite", "rdpid",
                                        "rdpru",   "serialize", "sgx",    "shstk",    "tsxldtrk", "uintr",
                                        "waitpkg", "wbnoinvd"};
  return std::find(std::begin(kSystem), std::end(kSystem), feature) != std::end(kSystem);
}

bool runsOnHost(const Target& target) {
  if (target.isHost) return true;
  if (target.triple != hostTarget().triple) return false;
  // Every instruction-set feature the target's CPU implies must be one the
  // host reports (the host's list holds no tuning flags, so those are ignored),
  // but for system ones, which generated code never uses.
  auto tm = createTargetMachine(target);
  const llvm::MCSubtargetInfo* sti = tm->getMCSubtargetInfo();
  const auto hostFeatures = llvm::sys::getHostCPUFeatures();
  for (const llvm::SubtargetFeatureKV& kv : sti->getAllProcessorFeatures()) {
    if (!sti->getFeatureBits().test(kv.Value) || isSystemFeature(kv.Key)) continue;
    auto it = hostFeatures.find(kv.Key);
    if (it != hostFeatures.end() && !it->second) return false;
  }
  return true;
}

int usableCpus() {
  int cpus = 0;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) cpus = CPU_COUNT(&set);
  if (cpus <= 0) cpus = int(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  // cgroup v2: "QUOTA PERIOD" or "max PERIOD".
  std::ifstream quota("/sys/fs/cgroup/cpu.max");
  std::string q;
  double period = 0;
  if (quota >> q >> period && q != "max" && period > 0) {
    double limit = std::strtod(q.c_str(), nullptr) / period;
    if (limit > 0) cpus = std::min(cpus, std::max(1, int(std::ceil(limit))));
  }
  return std::max(1, cpus);
}

}  // namespace graphc
