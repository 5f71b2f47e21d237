// codegen/GenerationProgram.cpp — see GenerationProgram.h: the step graph's
// module, the tables codegen/portable/program.h describes, the portable
// runtime's bitcode linked in, and the symbols a caller may see.
#include "codegen/GenerationProgram.h"

#include "codegen/PerfMap.h"

#include <fmt/format.h>
#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/Linker/Linker.h>
#include <llvm/Object/ArchiveWriter.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/raw_ostream.h>
#include <cstring>
#include <set>

#include "codegen/ModuleBuilder.h"
#include "codegen/RuntimeKernels.h"
#include "target/TargetMachine.h"
#include "codegen/portable/program.h"

// The portable runtime's bitcode, compiled from kernels/*.c and codegen/portable/*.c by the
// build (CMakeLists.txt: graphc_portable_bitcode).
extern const unsigned char graphc_portable_runtime_bitcode[];
extern const size_t graphc_portable_runtime_bitcode_size;
extern const unsigned char graphc_portable_api_bitcode[];
extern const size_t graphc_portable_api_bitcode_size;

namespace graphc {

int64_t requiredCpuFeatures(const Target& target) {
  static const char* const names[] = GRAPHC_CPU_FEATURE_NAMES;
  auto tm = createTargetMachine(target);
  const llvm::MCSubtargetInfo* sti = tm->getMCSubtargetInfo();
  int64_t mask = 0;
  for (int i = 0; i < GRAPHC_CPU_FEATURE_COUNT; ++i)
    if (sti->checkFeatures(std::string("+") + names[i])) mask |= int64_t(1) << i;
  return mask;
}

namespace {

// The program's functions a JIT caller looks up.
const char* const kProgramFunctions[] = {"graphc_program_reset",        "graphc_program_step",
                                         "graphc_program_seed",         "graphc_program_generate",
                                         "graphc_team_set_threads",    "graphc_team_stop"};
// The API's functions (codegen/portable/api.c), exported as <prefix>_<name>.
const char* const kApiFunctions[] = {"last_error", "target_cpu", "cpu_features", "cpu_supported", "state_size",
                                     "init", "create", "destroy", "reset", "vocab_size", "token_id", "token_text",
                                     "step", "feed", "generate", "generate_sampled", "set_threads", "load_weights",
                                     "token_of"};
// Those that run before the CPU is known to have the target's features: they
// are built for a baseline x86-64 whatever the target.
const char* const kBaselineFunctions[] = {"graphc_api_cpu_features", "graphc_api_cpu_supported", "graphc_api_create",
                                          "graphc_api_init"};

int64_t offsetOf(const Graph& g, ValueId v) { return attr::offset(g.node(v).attrs); }
int64_t bytesOf(const Graph& g, ValueId v) { return g.type(v).numElements() * 4; }

// codegen/portable/program.h's graphc_program_layout, and the weights blob.
struct Layout {
  std::vector<int64_t> fields;
  std::vector<char> weights;
};

Layout layoutFor(const Graph& g, const ProgramTables& tables, const Target& target) {
  ValueId x = g.findValue("X");
  if (x < 0 || g.node(x).op != OpKind::Input || g.type(x).dtype != DType::I32 || g.type(x).rank() != 2 ||
      g.type(x).shape[1] != 1)
    throw Error("generation program: the step graph needs an input X : i32[batch, 1]");
  ValueId logits = g.findOutput("logits");
  int64_t batch = g.type(x).shape[0];
  if (logits < 0 || g.type(logits).rank() != 2 || g.type(logits).shape[0] != batch)
    throw Error("generation program: the step graph needs an output \"logits\" : f32[batch, vocab]");
  int64_t vocab = g.type(logits).shape[1];
  if (int64_t(tables.tokens.size()) != vocab)
    throw Error(fmt::format("generation program: {} tokens for {} logits", tables.tokens.size(), vocab));
  if (batch > GRAPHC_MAX_BATCH)
    throw Error(fmt::format("generation program: at most {} rows at once, asked for {}", GRAPHC_MAX_BATCH, batch));
  int64_t maxTokenBytes = 1;
  for (const auto& t : tables.tokens) maxTokenBytes = std::max<int64_t>(maxTokenBytes, int64_t(t.size()));

  Layout l;
  std::vector<int64_t> updates, state, params;
  for (const auto& u : g.updates) updates.insert(updates.end(), {offsetOf(g, u.target), offsetOf(g, u.value), bytesOf(g, u.value)});
  for (ValueId s : g.nodesOf(OpKind::State)) state.insert(state.end(), {offsetOf(g, s), bytesOf(g, s)});
  if (!tables.weights.empty()) {
    for (ValueId p : g.nodesOf(OpKind::Param)) {
      const Node& n = g.node(p);
      auto it = tables.weights.find(n.name);
      if (it == tables.weights.end() || int64_t(it->second.size()) != bytesOf(g, p))
        throw Error(fmt::format("generation program: no {} bytes of weights for param %{}", bytesOf(g, p), n.name));
      size_t at = (l.weights.size() + 63) / 64 * 64;
      l.weights.resize(at);
      l.weights.insert(l.weights.end(), it->second.begin(), it->second.end());
      params.insert(params.end(), {offsetOf(g, p), bytesOf(g, p), int64_t(at)});
    }
  }
  l.fields.resize(GRAPHC_LAYOUT_HEADER);
  l.fields[GRAPHC_LAYOUT_VERSION] = GRAPHC_PROGRAM_VERSION;
  l.fields[GRAPHC_LAYOUT_ARENA_BYTES] = attr::arenaBytes(g.attrs);
  l.fields[GRAPHC_LAYOUT_BATCH] = batch;
  l.fields[GRAPHC_LAYOUT_VOCAB] = vocab;
  l.fields[GRAPHC_LAYOUT_INPUT_OFFSET] = offsetOf(g, x);
  l.fields[GRAPHC_LAYOUT_LOGITS_OFFSET] = offsetOf(g, logits);
  l.fields[GRAPHC_LAYOUT_CPU_FEATURES] = tables.cpuFeatures >= 0 ? tables.cpuFeatures : requiredCpuFeatures(target);
  l.fields[GRAPHC_LAYOUT_NUM_UPDATES] = int64_t(updates.size() / 3);
  l.fields[GRAPHC_LAYOUT_NUM_STATE] = int64_t(state.size() / 2);
  l.fields[GRAPHC_LAYOUT_NUM_PARAMS] = int64_t(params.size() / 3);
  l.fields[GRAPHC_LAYOUT_MAX_TOKEN_BYTES] = maxTokenBytes;
  l.fields[GRAPHC_LAYOUT_CONTEXT] = g.attrs.count(attr::key::context) ? attr::context(g.attrs) : 0;
  for (const auto* part : {&updates, &state, &params}) l.fields.insert(l.fields.end(), part->begin(), part->end());
  return l;
}

void addConstant(llvm::Module& m, const std::string& name, llvm::Constant* init, unsigned align = 0) {
  auto* global = new llvm::GlobalVariable(m, init->getType(), true, llvm::GlobalValue::ExternalLinkage, init, name);
  if (align) global->setAlignment(llvm::Align(align));
}

void addTables(llvm::Module& m, const Graph& g, const ProgramTables& tables, const Target& target) {
  llvm::LLVMContext& ctx = m.getContext();
  Layout l = layoutFor(g, tables, target);
  addConstant(m, "graphc_program_layout", llvm::ConstantDataArray::get(ctx, llvm::ArrayRef<int64_t>(l.fields)));
  std::string text;
  std::vector<int32_t> at;
  for (const auto& t : tables.tokens) {
    at.push_back(int32_t(text.size()));
    text += t;
    text.push_back('\0');
  }
  at.push_back(int32_t(text.size()));
  addConstant(m, "graphc_program_tokens", llvm::ConstantDataArray::getString(ctx, text, false));
  addConstant(m, "graphc_program_token_at", llvm::ConstantDataArray::get(ctx, llvm::ArrayRef<int32_t>(at)));
  addConstant(m, "graphc_program_byte_token",
                       llvm::ConstantDataArray::get(ctx, llvm::ArrayRef<int32_t>(tables.byteToken.data(), 256)));
  addConstant(m, "graphc_program_target", llvm::ConstantDataArray::getString(ctx, target.cpu, true));
  std::vector<uint8_t> weights(l.weights.begin(), l.weights.end());
  std::vector<int64_t> file = {0, 0};
  if (tables.weightsInFile) {
    file = {int64_t(weights.size()), int64_t(graphc_weights_hash(weights.data(), weights.size()))};
    weights.clear();
  }
  if (weights.empty()) weights.push_back(0);  // a zero-length array is legal but confuses some linkers' tools
  addConstant(m, "graphc_program_weights", llvm::ConstantDataArray::get(ctx, llvm::ArrayRef<uint8_t>(weights)),
                       64);
  addConstant(m, "graphc_program_weights_file", llvm::ConstantDataArray::get(ctx, llvm::ArrayRef<int64_t>(file)));
}

}  // namespace

std::string programWeightsFile(const Graph& g, const ProgramTables& tables, const Target& target) {
  std::vector<char> blob = layoutFor(g, tables, target).weights;
  std::string file(GRAPHC_WEIGHTS_HEADER, '\0');
  uint64_t header[2] = {uint64_t(blob.size()),
                        graphc_weights_hash(reinterpret_cast<const unsigned char*>(blob.data()), blob.size())};
  std::memcpy(file.data(), GRAPHC_WEIGHTS_MAGIC, 8);
  std::memcpy(file.data() + 8, header, sizeof header);  // x86-64: little-endian
  file.append(blob.begin(), blob.end());
  return file;
}

namespace {

std::unique_ptr<llvm::Module> parseBitcode(llvm::LLVMContext& ctx, const unsigned char* data, size_t size,
                                           const char* what) {
  llvm::MemoryBufferRef buffer(llvm::StringRef(reinterpret_cast<const char*>(data), size), what);
  auto parsed = llvm::parseBitcodeFile(buffer, ctx);
  if (!parsed) throw Error(fmt::format("llvm: reading the {}: {}", what, llvm::toString(parsed.takeError())));
  return std::move(*parsed);
}

void linkBitcode(llvm::Module& m, const unsigned char* data, size_t size, const char* what) {
  std::unique_ptr<llvm::Module> runtime = parseBitcode(m.getContext(), data, size, what);
  runtime->setDataLayout(m.getDataLayout());
  runtime->setTargetTriple(m.getTargetTriple());
  if (llvm::Linker::linkModules(m, std::move(runtime))) throw Error(fmt::format("llvm: linking the {}", what));
}

// Every definition not in `visible` becomes internal, so two exported models
// link into one program and LLVM may inline and drop what is unused.
void internalizeExcept(llvm::Module& m, const std::set<std::string>& visible) {
  for (llvm::GlobalValue& v : m.global_values()) {
    if (v.isDeclaration() || visible.count(v.getName().str())) continue;
    v.setLinkage(llvm::GlobalValue::InternalLinkage);
  }
}

}  // namespace

std::unique_ptr<llvm::Module> buildGenerationModule(llvm::LLVMContext& ctx, const Graph& g, const ProgramTables& tables,
                                                    const Target& target, const std::string& apiPrefix) {
  CodegenOptions options;
  options.blockK = false;
  std::unique_ptr<llvm::Module> m = buildModule(ctx, g, target, options);
  auto tm = createTargetMachine(target);
  m->setDataLayout(tm->createDataLayout());
  m->setTargetTriple(tm->getTargetTriple().str());
  addTables(*m, g, tables, target);
  linkBitcode(*m, graphc_portable_runtime_bitcode, graphc_portable_runtime_bitcode_size, "portable runtime");
  std::set<std::string> visible;
  if (apiPrefix.empty()) {
    visible.insert(std::begin(kProgramFunctions), std::end(kProgramFunctions));
  } else {
    linkBitcode(*m, graphc_portable_api_bitcode, graphc_portable_api_bitcode_size, "portable API");
    for (const char* name : kApiFunctions) {
      llvm::Function* f = m->getFunction(std::string("graphc_api_") + name);
      if (!f) throw Error(fmt::format("generation program: the portable API lacks graphc_api_{}", name));
      f->setName(apiPrefix + "_" + name);
      visible.insert(apiPrefix + "_" + name);
    }
  }
  // A runtime kernel the graph calls and the portable runtime does not define
  // would be an undefined symbol in the library, or C++ in the JIT's program.
  for (llvm::Function& f : *m)
    if (f.isDeclaration() && f.getName().starts_with("graphc_"))
      throw Error(fmt::format("generation program: the step graph calls {}, which the portable runtime lacks",
                              f.getName().str()));
  internalizeExcept(*m, visible);
  setTargetAttributes(*m, *tm, target);
  for (llvm::Function& f : *m) f.removeFnAttr("tune-cpu");
  if (!apiPrefix.empty())
    for (const char* name : kBaselineFunctions) {
      std::string exported = apiPrefix + "_" + std::string(name).substr(std::string("graphc_api_").size());
      llvm::Function* f = m->getFunction(exported);
      f->addFnAttr("target-cpu", "x86-64");
      f->addFnAttr("target-features", "+cx8,+fxsr,+mmx,+sse,+sse2,+x87");
      f->removeFnAttr("prefer-vector-width");
    }
  std::string problems;
  llvm::raw_string_ostream os(problems);
  if (llvm::verifyModule(*m, &os)) throw Error(fmt::format("generation program: invalid LLVM IR: {}", os.str()));
  return m;
}

CompiledProgram::~CompiledProgram() {
  if (stopThreads) stopThreads();  // the workers run this code: stop them before it is unloaded
  releaseJit(jit_);
}

std::unique_ptr<CompiledProgram> CompiledProgram::compile(const Graph& g, const ProgramTables& tables,
                                                          const JitOptions& options, CompileReport* report) {
  CompileReport local;
  checkRunsOnHost(options.target);
  auto start = std::chrono::steady_clock::now();
  auto ctx = std::make_unique<llvm::LLVMContext>();
  auto m = buildGenerationModule(*ctx, g, tables, options.target);
  std::unique_ptr<CompiledProgram> p(new CompiledProgram());
  p->jit_ = compileAndLoad(std::move(ctx), std::move(m), options, report ? *report : local, start);
  p->reset = reinterpret_cast<decltype(p->reset)>(lookupSymbol(*p->jit_, "graphc_program_reset"));
  p->step = reinterpret_cast<decltype(p->step)>(lookupSymbol(*p->jit_, "graphc_program_step"));
  p->seed = reinterpret_cast<decltype(p->seed)>(lookupSymbol(*p->jit_, "graphc_program_seed"));
  p->generate = reinterpret_cast<decltype(p->generate)>(lookupSymbol(*p->jit_, "graphc_program_generate"));
  p->setThreads = reinterpret_cast<decltype(p->setThreads)>(lookupSymbol(*p->jit_, "graphc_team_set_threads"));
  p->stopThreads = reinterpret_cast<decltype(p->stopThreads)>(lookupSymbol(*p->jit_, "graphc_team_stop"));
  return p;
}

std::string emitGenerationObject(const Graph& g, const ProgramTables& tables, const Target& target,
                                 const std::string& apiPrefix) {
  llvm::LLVMContext ctx;
  auto m = buildGenerationModule(ctx, g, tables, target, apiPrefix);
  auto tm = createTargetMachine(target, /*positionIndependent=*/true);
  optimize(*m, *tm);
  return emitMachineCode(*m, *tm, llvm::CodeGenFileType::ObjectFile);
}

std::vector<std::string> portableKernelMismatches() {
  llvm::LLVMContext ctx;
  std::unique_ptr<llvm::Module> m =
      parseBitcode(ctx, graphc_portable_runtime_bitcode, graphc_portable_runtime_bitcode_size, "portable runtime");
  std::vector<std::string> problems;
  for (const auto& [name, fn] : runtimeKernelSymbols()) {
    (void)fn;
    llvm::Function* f = m->getFunction(name);
    if (!f || f->isDeclaration()) {
      problems.push_back(fmt::format("{}: not in the portable runtime", name));
      continue;
    }
    const std::vector<RuntimeParam>& want = *runtimeKernelParams(name);
    if (f->arg_size() != want.size()) {
      problems.push_back(fmt::format("{}: {} parameters, RuntimeKernels.def gives {}", name, f->arg_size(), want.size()));
      continue;
    }
    for (size_t k = 0; k < want.size(); ++k) {
      llvm::Type* t = f->getArg(unsigned(k))->getType();
      bool fits = want[k] == RuntimeParam::Ptr ? t->isPointerTy()
                  : want[k] == RuntimeParam::I64 ? t->isIntegerTy(64)
                                                 : t->isIntegerTy(32);
      if (!fits) problems.push_back(fmt::format("{}: parameter {} has another type than RuntimeKernels.def's", name, k));
    }
  }
  return problems;
}

std::string staticLibraryOf(const std::string& memberName, const std::string& object) {
  std::vector<llvm::NewArchiveMember> members;
  members.emplace_back(llvm::MemoryBufferRef(object, memberName));
  members.back().MemberName = memberName;
  auto archive = llvm::writeArchiveToBuffer(members, llvm::SymtabWritingMode::NormalSymtab,
                                            llvm::object::Archive::K_GNU, /*Deterministic=*/true, /*Thin=*/false);
  if (!archive) throw Error(fmt::format("llvm: writing the static library: {}", llvm::toString(archive.takeError())));
  return std::string((*archive)->getBufferStart(), (*archive)->getBufferSize());
}

}  // namespace graphc
