// tests/RuntimeTests.cpp — checkpoints, the trainer, state carry-over, generation.
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <sys/wait.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <thread>

#include "TestUtil.h"
#include "graph/Verifier.h"
#include "models/Model.h"
#include "runtime/Checkpoint.h"
#include "runtime/Export.h"
#include "runtime/Generator.h"
#include "runtime/ProgramWeights.h"
#include "runtime/Initializers.h"
#include "graph/FileIO.h"
#include "runtime/Trainer.h"

using namespace graphc;

namespace {

std::string scratchPath(const std::string& name) { return std::string(GRAPHC_SCRATCH_DIR) + "/" + name; }

std::string readFile(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TrainOptions tinyOptions(int64_t vocab) {
  TrainOptions o;
  o.model = ModelConfig{4, 5, 16, vocab, 1};
  o.seed = 11;
  return o;
}

}  // namespace

TEST_CASE("checkpoint: save and load round trip") {
  Checkpoint c;
  c.tensors["w"] = Tensor::f32({2, 3}, {1, 2, 3, 4, 5, 6});
  c.tensors["b"] = Tensor::f32({3}, {-1, 0.5f, 1e-8f});
  c.metadata["model"] = "rnn-scratch";
  std::string p = scratchPath("ckpt.safetensors");
  saveCheckpoint(p, c);
  std::string bytes = readFile(p);
  uint64_t headerLen;
  std::memcpy(&headerLen, bytes.data(), 8);
  CHECK(headerLen % 8 == 0);
  CHECK(bytes.size() == 8 + headerLen + 9 * 4);
  CHECK(bytes.substr(8, headerLen).find("\"__metadata__\":{\"model\":\"rnn-scratch\"}") != std::string::npos);
  Checkpoint back = loadCheckpoint(p);
  CHECK(back.metadata == c.metadata);
  CHECK(back.tensors.at("w").f32Vector() == c.tensors.at("w").f32Vector());
  CHECK(back.tensors.at("b").shape() == Shape{3});
  CHECK(!std::filesystem::exists(p + ".tmp"));
}

TEST_CASE("checkpoint: truncated and corrupted files are refused") {
  Checkpoint c;
  c.tensors["w"] = Tensor::f32({4}, {1, 2, 3, 4});
  std::string p = scratchPath("ckpt2.safetensors");
  saveCheckpoint(p, c);
  std::string bytes = readFile(p);
  auto withBytes = [&](const std::string& b) {
    std::string q = scratchPath("bad.safetensors");
    std::ofstream(q, std::ios::binary) << b;
    return q;
  };
  CHECK_THROWS_WITH_AS(loadCheckpoint(withBytes(bytes.substr(0, bytes.size() - 3))),
                       doctest::Contains("tensor 'w' has data offsets outside the file"), Error);
  CHECK_THROWS_WITH_AS(loadCheckpoint(withBytes(bytes.substr(0, 5))), doctest::Contains("not a safetensors checkpoint"),
                       Error);
  CHECK_THROWS_WITH_AS(loadCheckpoint(withBytes(bytes.substr(0, 20))), doctest::Contains("truncated"), Error);
  std::string corrupt = bytes;
  corrupt[9] = '#';
  CHECK_THROWS_WITH_AS(loadCheckpoint(withBytes(corrupt)), doctest::Contains("not valid JSON"), Error);
  CHECK_THROWS_WITH_AS(loadCheckpoint(scratchPath("none.safetensors")), doctest::Contains("cannot open"), Error);
  CHECK_THROWS_AS(saveCheckpoint("/nonexistent-dir/x.safetensors", c), Error);
}

TEST_CASE("trainer: a tiny model's perplexity falls, and the same seed repeats exactly") {
  Corpus corpus = loadCorpus(GRAPHC_DATA_FILE, 2000);
  const ModelDef& m = findModel("rnn-scratch");
  for (IterKind kind : {IterKind::Sequential, IterKind::Random}) {
    TrainOptions o = tinyOptions(corpus.vocab.size());
    o.iter = kind;
    Trainer a(m, o, corpus), b(m, o, corpus);
    std::vector<double> pa, pb;
    for (int e = 0; e < 6; ++e) {
      pa.push_back(a.trainEpoch().perplexity);
      pb.push_back(b.trainEpoch().perplexity);
    }
    CHECK(pa == pb);
    CHECK(pa.back() < pa.front());
    CHECK(pa.front() < 30.0);
  }
}

TEST_CASE("trainer: too little data, a diverging loss") {
  Corpus corpus = loadCorpus(GRAPHC_DATA_FILE, 20);
  const ModelDef& m = findModel("rnn-scratch");
  CHECK_THROWS_WITH_AS(Trainer(m, tinyOptions(corpus.vocab.size()), corpus), doctest::Contains("too few for one minibatch"),
                       Error);
  Corpus more = loadCorpus(GRAPHC_DATA_FILE, 2000);
  TrainOptions o = tinyOptions(more.vocab.size());
  o.optimizer.learningRate = 1e38;
  o.optimizer.clipNorm = 0;
  Trainer t(m, o, more);
  CHECK_THROWS_WITH_AS(
      [&] {
        for (int e = 0; e < 5; ++e) t.trainEpoch();
      }(),
      doctest::Contains("training diverged: the loss is"), Error);
}

TEST_CASE("generator: the prefix is kept, greedy decoding is deterministic") {
  Corpus corpus = loadCorpus(GRAPHC_DATA_FILE, 2000);
  const ModelDef& m = findModel("rnn-scratch");
  TrainOptions o = tinyOptions(corpus.vocab.size());
  Trainer t(m, o, corpus);
  for (int e = 0; e < 3; ++e) t.trainEpoch();
  Generator g(m, o.model, t.params(), corpus.vocab);
  std::string a = g.generate("time traveller", 20), b = g.generate("time traveller", 20);
  CHECK(a == b);
  CHECK(a.rfind("time traveller", 0) == 0);
  CHECK(a.size() >= 34);
  CHECK(g.generate("the", 0) == "the");
  CHECK(g.generate("time", 30, 1.0, 1) == g.generate("time", 30, 1.0, 1));
  TensorMap missing = t.params();
  missing.erase("W_hh");
  CHECK_THROWS_WITH_AS(Generator(m, o.model, missing, corpus.vocab), "the parameters have no 'W_hh' for model rnn-scratch",
                       Error);
}

TEST_CASE("generator: the compiled program agrees with the interpreter, alone and in batches, for every model") {
  Corpus corpus = loadCorpus(GRAPHC_DATA_FILE, 2000);
  for (auto [name, layers] : {std::pair{"rnn-scratch", 1}, {"rnn", 1}, {"gru", 1}, {"lstm", 2}}) {
    CAPTURE(name);
    const ModelDef& m = findModel(name);
    TrainOptions o = tinyOptions(corpus.vocab.size());
    o.model.numLayers = layers;
    Trainer t(m, o, corpus);
    for (int e = 0; e < 2; ++e) t.trainEpoch();
    Generator jit(m, o.model, t.params(), corpus.vocab, "jit", {scratchPath("test-jit-cache"), true});
    Generator interp(m, o.model, t.params(), corpus.vocab, "interp");
    for (double temperature : {0.0, 0.8}) {
      CAPTURE(temperature);
      std::string one = jit.generate("time traveller", 40, temperature, 5);
      CHECK(one == interp.generate("time traveller", 40, temperature, 5));
      // Rows of a batch, with prefixes of different lengths, are the same as alone (row r: seed + r).
      std::vector<std::string> prefixes = {"the", "time traveller", "x"};
      std::vector<std::string> rows = jit.generateBatch(prefixes, 30, temperature, 7);
      REQUIRE(rows.size() == 3);
      for (size_t r = 0; r < 3; ++r) CHECK(rows[r] == jit.generate(prefixes[r], 30, temperature, 7 + r));
      CHECK(rows == interp.generateBatch(prefixes, 30, temperature, 7));
    }
    // Top-k, top-p and the repetition penalty choose alike in the program and the reference, alone and batched.
    graphc_sampling filtered{0.9, 5, 0.9, 1.3};
    std::vector<std::string> prefixes = {"the", "time traveller", "x"};
    std::vector<std::string> rows = jit.generateBatch(prefixes, 30, filtered, 11);
    CHECK(rows == interp.generateBatch(prefixes, 30, filtered, 11));
    CHECK(rows[1] == jit.generateBatch({prefixes[1]}, 30, filtered, 12).front());
    CHECK(rows[1] != jit.generate(prefixes[1], 30, 0.9, 12));
    CHECK_THROWS_WITH_AS(jit.generateBatch(prefixes, 3, graphc_sampling{1, 1000, 1, 1}, 0),
                         doctest::Contains("--top-k 1000: must be in 0.."), Error);
    // The step copies nothing out of the params: merged gate weights are prepared once.
    Generator::ProgramFacts facts = jit.programFacts(3);
    CHECK(facts.paramCopyBytesPerStep == 0);
    CHECK((facts.preparedBytes > 0) == (std::string(name) == "gru" || std::string(name) == "lstm"));
    // New params reach the compiled program (and what is prepared from them).
    t.trainEpoch();
    jit.setParams(t.params());
    interp.setParams(t.params());
    CHECK(jit.generate("time", 30) == interp.generate("time", 30));
  }
}

TEST_CASE("export: a library that needs a feature this CPU lacks refuses to start, with a message") {
  Corpus corpus = loadCorpus(GRAPHC_DATA_FILE, 2000);
  const ModelDef& m = findModel("rnn-scratch");
  TrainOptions o = tinyOptions(corpus.vocab.size());
  Trainer t(m, o, corpus);
  std::string dir = scratchPath("test-export-cpu");
  std::filesystem::remove_all(dir);
  ExportOptions e;
  e.dir = dir;
  e.name = "picky";
  e.cpuFeatures = int64_t(1) << 62;  // a bit no CPU reports: the check must refuse
  exportLibrary(m, o.model, t.params(), corpus.vocab, e);
  std::string build = fmt::format("cd {} && cc example.c libpicky.a -lm -o example && ./example >out.txt 2>err.txt", dir);
  int rc = std::system(build.c_str());
  CHECK(WIFEXITED(rc));
  CHECK(WEXITSTATUS(rc) == 1);
  CHECK(readFile(dir + "/err.txt").find("example: this library was built for CPU '") == 0);
  CHECK(readFile(dir + "/out.txt").empty());
  // The same without the fake feature runs.
  e.cpuFeatures = -1;
  exportLibrary(m, o.model, t.params(), corpus.vocab, e);
  rc = std::system(build.c_str());
  CHECK(rc == 0);
  CHECK(readFile(dir + "/out.txt").rfind("time traveller", 0) == 0);
  CHECK_THROWS_WITH_AS(exportLibrary(m, o.model, TensorMap{}, corpus.vocab, e), "the parameters have no 'W_xh'", Error);
}

TEST_CASE("files: safe writes replace files, not devices, links' targets or directories; reads are bounded") {
  namespace fs = std::filesystem;
  std::string dir = std::string(GRAPHC_SCRATCH_DIR) + "/test-files";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string target = dir + "/out.txt", victim = dir + "/victim.txt", link = dir + "/link.txt";
  writeFileSafely(target, "one");
  writeFileSafely(target, "two");
  CHECK(readFileBounded(target, 100, "the file") == "two");
  // A symlink at the target is replaced by the file; what it pointed at is untouched.
  writeFileSafely(victim, "precious");
  fs::create_symlink(victim, link);
  writeFileSafely(link, "new");
  CHECK(fs::is_regular_file(fs::symlink_status(link)));
  CHECK(readFileBounded(victim, 100, "the file") == "precious");
  // A directory is refused; a FIFO no one reads is an error, not a hang, and stays a FIFO.
  CHECK_THROWS_WITH_AS(writeFileSafely(dir, "x", "the output"), doctest::Contains("it is a directory"), Error);
  std::string fifo = dir + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(writeFileSafely(fifo, "x", "the output"), doctest::Contains("FIFO that no one reads"), Error);
  CHECK(fs::is_fifo(fifo));
  // A block device and a socket are refused, not replaced by a file (were replaced).
  std::string block = dir + "/block";
  if (::mknod(block.c_str(), S_IFBLK | 0600, makedev(7, 200)) == 0) {  // needs root, as in CI
    CHECK_THROWS_WITH_AS(writeFileSafely(block, "x", "the checkpoint"), doctest::Contains("it is a block device"), Error);
    CHECK(fs::is_block_file(block));
    CHECK_THROWS_WITH_AS(checkWritable(block, "the checkpoint"), doctest::Contains("it is a block device"), Error);
  }
  std::string socketPath = dir + "/socket";
  int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socketPath.c_str());
  REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  CHECK_THROWS_WITH_AS(writeFileSafely(socketPath, "x", "the metrics"), doctest::Contains("it is a socket"), Error);
  CHECK(fs::is_socket(socketPath));
  ::close(sock);
  fs::remove(socketPath);
  fs::remove(block);
  // A replaced file keeps its mode (a 0600 checkpoint stayed 0600, not the umask's 0644).
  std::string privateFile = dir + "/private.safetensors";
  writeFileSafely(privateFile, "one");
  fs::permissions(privateFile, fs::perms::owner_read | fs::perms::owner_write);
  writeFileSafely(privateFile, "two");
  CHECK((fs::status(privateFile).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
  // No temporary is left behind.
  int leftovers = 0;
  for (const auto& e : fs::directory_iterator(dir)) leftovers += e.path().string().find(".tmp") != std::string::npos;
  CHECK(leftovers == 0);
  // Concurrent writers of one path: the file is one of them, whole.
  std::string big1(1 << 20, 'a'), big2(1 << 20, 'b');
  std::thread t1([&] { for (int i = 0; i < 5; ++i) writeFileSafely(target, big1); });
  std::thread t2([&] { for (int i = 0; i < 5; ++i) writeFileSafely(target, big2); });
  t1.join();
  t2.join();
  std::string final = readFileBounded(target, 2 << 20, "the file");
  CHECK((final == big1 || final == big2));
  // Reads: devices, FIFOs and oversized files are refused before a byte is read.
  CHECK_THROWS_WITH_AS(readFileBounded("/dev/zero", 100, "the data file"),
                       "/dev/zero: error: the data file is not a regular file", Error);
  CHECK_THROWS_WITH_AS(readFileBounded(fifo, 100, "the data file"), doctest::Contains("not a regular file"), Error);
  CHECK_THROWS_WITH_AS(readFileBounded(target, 100, "the data file"),
                       doctest::Contains("the data file is 1 MiB, more than the 100 bytes graphc reads"), Error);
}

TEST_CASE("checkpoint: hostile headers are refused, each with its reason") {
  std::string dir = std::string(GRAPHC_SCRATCH_DIR) + "/test-hostile";
  std::filesystem::create_directories(dir);
  // A safetensors file from a header text and a data size.
  auto craft = [&](const std::string& name, const std::string& header, size_t data) {
    std::string path = dir + "/" + name + ".safetensors";
    uint64_t n = header.size();
    std::string bytes(reinterpret_cast<const char*>(&n), 8);
    bytes += header + std::string(data, '\0');
    writeFileSafely(path, bytes);
    return path;
  };
  const std::string t = R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  CHECK(loadCheckpoint(craft("good", "{" + t + "}", 8)).tensors.at("t").size() == 2);
  CHECK_THROWS_WITH_AS(loadCheckpoint(craft("trailing", "{" + t + "}", 12)), doctest::Contains("4 bytes after the last tensor"),
                       Error);
  CHECK_THROWS_WITH_AS(loadCheckpoint(craft("duplicate", "{" + t + "," + t + "}", 8)),
                       doctest::Contains("names a key twice"), Error);
  CHECK_THROWS_WITH_AS(
      loadCheckpoint(craft("dupmeta", R"({"__metadata__":{"a":"1"},"__metadata__":{"a":"2"},)" + t + "}", 8)),
      doctest::Contains("names a key twice"), Error);
  CHECK_THROWS_WITH_AS(
      loadCheckpoint(craft("overlap", "{" + t + R"(,"u":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)),
      doctest::Contains("two tensors share bytes"), Error);
  CHECK_THROWS_WITH_AS(loadCheckpoint(craft("fraction", R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}})", 8)),
                       doctest::Contains("not whole numbers"), Error);
  // A dimension too big for any integer is read by JSON as a float: refused, not converted (UBSan, fuzzing).
  for (const char* dim : {"7e117", "2.0", "-1e300"})
    CHECK_THROWS_WITH_AS(
        loadCheckpoint(craft("float-dim", fmt::format(R"({{"t":{{"dtype":"F32","shape":[{}],"data_offsets":[0,8]}}}})", dim), 8)),
        doctest::Contains("a shape that is not whole numbers"), Error);
  // A zero-size tensor loads (and nothing is copied into its null buffer).
  CHECK(loadCheckpoint(craft("empty-zero", R"({"t":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})", 0))
            .tensors.at("t")
            .size() == 0);
}

TEST_CASE("trainer: stopped mid-epoch, snapshotted and restored into a new trainer, it continues bit for bit") {
  Corpus corpus = loadCorpus(GRAPHC_DATA_FILE, 3000);
  TrainOptions o;
  o.model = ModelConfig{4, 6, 24, corpus.vocab.size(), 1};
  o.optimizer.kind = "adam";  // optimizer state must carry over too
  o.optimizer.learningRate = 0.01;
  o.engineOptions.cacheDir = std::string(GRAPHC_SCRATCH_DIR) + "/test-jit-cache";
  for (IterKind iter : {IterKind::Sequential, IterKind::Random}) {
    o.iter = iter;
    Trainer straight(findModel("rnn-scratch"), o, corpus);
    std::vector<double> want;
    straight.onStep = [&](double l) { want.push_back(l); };
    for (int e = 0; e < 3; ++e) straight.trainEpoch();

    Trainer first(findModel("rnn-scratch"), o, corpus);
    std::vector<double> got;
    std::atomic<bool> stop{false};
    first.onStep = [&](double l) {
      got.push_back(l);
      if (got.size() == 5) stop = true;  // inside the first or second epoch, not at its end
    };
    EpochReport r = first.trainEpoch(&stop);
    while (r.complete) r = first.trainEpoch(&stop);
    REQUIRE_FALSE(r.complete);
    Trainer::Snapshot snap = first.snapshot();
    Trainer second(findModel("rnn-scratch"), o, corpus);
    second.restore(snap);
    second.onStep = [&](double l) { got.push_back(l); };
    while (second.epochsDone() < 3) second.trainEpoch();
    CHECK(got == want);
    TensorMap a = straight.params(), b = second.params();
    for (const auto& [name, t] : a) CHECK(t.f32Vector() == b.at(name).f32Vector());
  }
}

TEST_CASE("program weights: a param of the wrong dtype or shape is refused with its name, never packed (issue 25.2)") {
  const ModelDef& m = findModel("lstm");
  ModelConfig c;
  c.vocab = 28;
  c.hidden = 16;
  c = withModelDefaults(m, c);
  GenerationGraphs graphs = buildGenerationGraphs(m, c, targetFor("host"), 1);
  Rng rng(1);
  TensorMap params = initializeParams(buildModelGraph(m, c), rng);
  CHECK_NOTHROW(programWeights(graphs, params));
  for (const char* name : {"output.kernel", "layer0.hi.kernel"}) {  // packed directly; prepared, then packed
    CAPTURE(name);
    TensorMap bad = params;
    const Tensor& t = params.at(name);
    bad[name] = Tensor::i32(t.type().shape, std::vector<int32_t>(size_t(t.size()), 7));
    CHECK_THROWS_WITH_AS(programWeights(graphs, bad), doctest::Contains((std::string("parameter '") + name + "' is i32").c_str()),
                         Error);
    bad[name] = Tensor::f32({3}, {1, 2, 3});
    CHECK_THROWS_WITH_AS(programWeights(graphs, bad), doctest::Contains((std::string("parameter '") + name + "' is f32[3]").c_str()),
                         Error);
  }
}

TEST_CASE("trainer: the initial params are the model's, drawn in declaration order whatever the passes reorder (25.14)") {
  Corpus corpus = loadCorpus(GRAPHC_DATA_FILE, 2000);
  for (const char* name : {"gru", "lstm", "rnn-scratch"}) {
    CAPTURE(name);
    const ModelDef& m = findModel(name);
    TrainOptions o = tinyOptions(corpus.vocab.size());
    o.model.numLayers = std::string(name) == "rnn-scratch" ? 1 : 2;
    o.model = withModelDefaults(m, o.model);
    Trainer t(m, o, corpus);
    Rng rng(o.seed);
    TensorMap drawn = initializeParams(buildModelGraph(m, o.model), rng);  // as `generate --untrained` draws them
    TensorMap params = t.params();
    REQUIRE(params.size() == drawn.size());
    for (const auto& [param, value] : drawn) {
      CAPTURE(param);
      CHECK(params.at(param).f32Vector() == value.f32Vector());
    }
  }
}
