// runtime/Export.cpp — see Export.h. The object is the generation program for
// the export's target; the text files come from runtime/ExportFiles.h.
#include "runtime/Export.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <set>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen/GenerationProgram.h"
#include "codegen/portable/program.h"
#include "graph/FileIO.h"
#include "graph/Version.h"
#include "runtime/ExportFiles.h"
#include "runtime/ProgramWeights.h"

namespace graphc {
namespace {

namespace fs = std::filesystem;

// Into an existing directory, all or nothing: each file there is first moved
// aside into `staging`, then the new ones move in; a failure on the way puts
// every old file back (an export that failed at its last file had replaced the
// others). What else the directory holds stays.
void replaceFilesIn(const fs::path& dir, const fs::path& staging,
                    const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<std::pair<fs::path, fs::path>> setAside;  // (its place, where it waits)
  std::vector<fs::path> placed;
  try {
    for (const auto& [name, bytes] : files) {
      fs::path target = dir / name;
      fs::file_status st = fs::symlink_status(target);
      if (!fs::exists(st)) continue;
      if (fs::is_directory(st))
        throw Error(fmt::format("{}: error: cannot write the library there: {} is a directory", dir.string(), name));
      fs::path aside = staging / (".old." + name);
      fs::rename(target, aside);
      setAside.emplace_back(target, aside);
    }
    for (const auto& [name, bytes] : files) {
      fs::rename(staging / name, dir / name);
      placed.push_back(dir / name);
    }
  } catch (...) {
    std::error_code ec;
    for (const fs::path& p : placed) fs::remove(p, ec);
    for (const auto& [target, aside] : setAside) fs::rename(aside, target, ec);
    throw;
  }
  std::error_code ec;
  fs::remove_all(staging, ec);
}

// libNAME.so from NAME.o (position-independent, every symbol but NAME_* internal)
// with the system's C compiler driver, as `cc -shared` would by hand.
void linkSharedLibrary(const fs::path& staging, const std::string& name) {
  const char* cc = std::getenv("CC");
  std::string driver = cc && *cc ? cc : "cc";
  std::string out = (staging / ("lib" + name + ".so")).string(), object = (staging / (name + ".o")).string();
  std::string soname = "-Wl,-soname,lib" + name + ".so";
  std::vector<std::string> args = {driver, "-shared", "-o", out, object, soname, "-Wl,--no-undefined", "-lm"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, driver.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
    throw Error(fmt::format("--shared: cannot run the C compiler driver '{}' to link lib{}.so (install gcc, or set CC)",
                            driver, name));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error(fmt::format("--shared: '{} -shared' failed to link lib{}.so (exit {})", driver, name,
                            WIFEXITED(status) ? WEXITSTATUS(status) : -1));
}

}  // namespace

bool isCIdentifier(const std::string& name) {
  static const std::set<std::string> keywords = {
      "auto",  "break",  "case",    "char",   "const",    "continue", "default",  "do",     "double", "else",
      "enum",  "extern", "float",   "for",    "goto",     "if",       "inline",   "int",    "long",   "register",
      "restrict", "return", "short", "signed", "sizeof", "static",   "struct",   "switch", "typedef", "union",
      "unsigned", "void", "volatile", "while", "bool",   "true",     "false",    "_Bool"};
  if (name.empty() || name.size() > 64 || keywords.count(name)) return false;
  // A letter first: with a leading _ the include guard (_NAME_H) and the
  // functions would be identifiers C reserves (the C library's _STDINT_H ...).
  if (!std::isalpha(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

void checkLibraryName(const std::string& name) {
  if (!isCIdentifier(name))
    throw Error(fmt::format("graphc export: error: --name '{}' is not a C identifier (letters, digits and _, "
                            "starting with a letter, not a C keyword, at most 64 characters)",
                            escapeForMessage(name)));
}

std::vector<std::string> exportLibrary(const ModelDef& model, const ModelConfig& config, const TensorMap& params,
                                       const Vocab& vocab, const ExportOptions& o) {
  checkLibraryName(o.name);
  if (o.dir.empty()) throw Error("-o DIR is required: the directory to write the library into");
  if (fs::exists(o.dir) && !fs::is_directory(o.dir))
    throw Error(fmt::format("{}: error: exists and is not a directory", o.dir));
  Target target = targetFor(o.targetCpu);

  auto stage = [&](const char* what) {
    if (o.onStage) o.onStage(what);
  };
  // The program at batch 1, as `graphc generate` compiles it.
  stage("building the generation program");
  ModelConfig c = withModelDefaults(model, config);
  GenerationGraphs graphs = buildGenerationGraphs(model, c, target, 1);
  const Graph& lowered = graphs.step;
  ProgramTables tables = programTablesFor(vocab);
  stage("preparing the weights");
  tables.weights = programWeights(graphs, params);
  tables.cpuFeatures = o.cpuFeatures;
  tables.weightsInFile = o.weightsFile;
  stage("compiling the program to machine code (LLVM)");
  std::string object = emitGenerationObject(lowered, tables, target, o.name);
  int64_t features = o.cpuFeatures >= 0 ? o.cpuFeatures : requiredCpuFeatures(target);
  int64_t maxTokenBytes = 1;
  for (const auto& t : vocab.tokens()) maxTokenBytes = std::max<int64_t>(maxTokenBytes, int64_t(t.size()));

  std::vector<std::pair<std::string, std::string>> files = {
      {o.name + ".h", headerText(o.name, model, c, vocab, target, features, maxTokenBytes, o.source, o.weightsFile)},
      {o.name + ".o", object},
      {"lib" + o.name + ".a", staticLibraryOf(o.name + ".o", object)},
      {"example.c", exampleText(o.name)},
      {o.name + ".pc", pkgConfigText(o.name)},
      {o.name + "Config.cmake", cmakeConfigText(o.name)},
  };
  stage("writing the files");
  if (o.weightsFile) files.push_back({o.name + ".weights", programWeightsFile(lowered, tables, target)});
  // Everything goes to a fresh directory beside DIR, then moves in: a failure
  // on the way leaves no partial DIR.
  fs::path dir = fs::absolute(o.dir).lexically_normal();
  if (dir.filename().empty()) dir = dir.parent_path();
  fs::path staging = dir.parent_path() / fmt::format(".{}.export-{}", dir.filename().string(), getpid());
  std::error_code ec;
  fs::remove_all(staging, ec);
  if (!fs::create_directory(staging, ec))
    throw Error(fmt::format("{}: error: cannot write the library there: {}", o.dir,
                            ec ? ec.message() : "cannot create a directory beside it"));
  std::vector<std::string> written;
  try {
    for (const auto& [name, bytes] : files) writeFileSafely((staging / name).string(), bytes, name);
    if (o.sharedLibrary) {
      stage("linking the shared library");
      linkSharedLibrary(staging, o.name);
      files.push_back({"lib" + o.name + ".so", ""});
    }
    if (!fs::exists(dir)) fs::rename(staging, dir);
    else replaceFilesIn(dir, staging, files);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(staging, ec);
    throw Error(fmt::format("{}: error: cannot write the library there: {}", o.dir, e.code().message()));
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }
  for (const auto& [name, bytes] : files) written.push_back((dir / name).string());
  return written;
}

}  // namespace graphc
