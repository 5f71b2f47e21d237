// runtime/ExportFiles.cpp — see ExportFiles.h.
#include "runtime/ExportFiles.h"

#include <cctype>
#include <fmt/format.h>

#include "codegen/portable/program.h"
#include "graph/Version.h"

namespace graphc {
namespace {

std::string featureList(int64_t mask) {
  static const char* const names[] = GRAPHC_CPU_FEATURE_NAMES;
  std::string out;
  for (int i = 0; i < GRAPHC_CPU_FEATURE_COUNT; ++i)
    if (mask & (int64_t(1) << i)) out += (out.empty() ? "" : " ") + std::string(names[i]);
  return out.empty() ? "baseline x86-64" : out;
}

// Text from outside (a path, a CPU name) as it may appear inside a C comment
// or string literal: printable ASCII only, every other byte as an octal
// escape (three digits: nothing after it can extend it), and no character that
// could end the comment or the literal ("*/" becomes "*\057") or form a trigraph.
std::string cSafe(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char ch = static_cast<unsigned char>(text[i]);
    bool endsComment = ch == '/' && i > 0 && text[i - 1] == '*';
    bool startsComment = ch == '*' && i > 0 && text[i - 1] == '/';
    if (ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\' || ch == '?' || endsComment || startsComment) out += fmt::format("\\{:03o}", ch);
    else out += char(ch);
  }
  return out;
}

}  // namespace

std::string headerText(const std::string& n, const ModelDef& model, const ModelConfig& c, const Vocab& vocab,
                       const Target& target, int64_t features, int64_t maxTokenBytes, const std::string& source,
                       bool weightsFile) {
  std::string guard = n;
  for (char& ch : guard) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  return fmt::format(R"(/* {n}.h — a character-level language model as a C library, made by
 * `graphc export` (graphc {version}) from {source}.
 *
 * Model {model}: hidden {hidden}, {layers} layer(s), a vocabulary of {vocab} tokens.
 * Built for CPU "{cpu}" (uses: {features}); on a CPU without those,
 * {n}_create() returns NULL and {n}_last_error() says what is missing.
 * Link: cc your.c lib{n}.a -lm   (needs only libc and libm), or with
 * pkg-config (PKG_CONFIG_PATH=THIS_DIR: `pkg-config --cflags --libs {n}`) or
 * CMake (find_package({n} PATHS THIS_DIR) and the target {n}::{n}).
 *
 * A generator holds the model's state (and its own copy of the weights); use
 * each from one thread at a time. Text is UTF-8; a character outside the
 * vocabulary is the token <unk>. Generation is exactly `graphc generate`'s:
 * the same prefix, length, temperature and seed give the same text.
 */
#ifndef {guard}_H
#define {guard}_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {{
#endif

#define {guard}_TARGET_CPU "{cpu}"
#define {guard}_VOCAB_SIZE {vocab}
/* The longest token's text in bytes ("<unk>"): size generate()'s buffer by it. */
#define {guard}_MAX_TOKEN_BYTES {maxTokenBytes}
/* The weights file {n}_load_weights() must map before any generator is made
 * ("": the weights are inside the library). */
#define {guard}_WEIGHTS_FILE "{weightsFile}"

typedef struct {n}_generator {n}_generator;

/* With {guard}_WEIGHTS_FILE: maps that file (any path to it) read-only, after
 * checking it is this library's (size and hash); 1, or 0 with the reason in
 * {n}_last_error(). Call it once, before create or init. */
int {n}_load_weights(const char* path);
/* A generator with the state at zero, or NULL (see {n}_last_error()). */
{n}_generator* {n}_create(void);
void {n}_destroy({n}_generator* g);
/* The same in a buffer the caller owns (at least {n}_state_size() bytes,
 * any alignment); {n}_destroy() is then not needed. */
size_t {n}_state_size(void);
{n}_generator* {n}_init(void* buffer, size_t size);

/* The state back to zero; the pending token is dropped. */
void {n}_reset({n}_generator* g);
/* Warms the state up on text, as `graphc generate --prefix`: every character
 * but the last is stepped; the last is where generation starts. */
void {n}_feed({n}_generator* g, const char* text, size_t length);
/* n tokens from the pending token (the last fed or generated) into out as
 * NUL-terminated text: greedy argmax when temperature <= 0, else sampled from
 * softmax(logits / temperature) with the random stream of `seed`. Returns the
 * bytes written, or -1 when nothing was fed or capacity < n * {guard}_MAX_TOKEN_BYTES + 1. */
long {n}_generate({n}_generator* g, size_t n, double temperature, uint64_t seed, char* out, size_t capacity);
/* How generate_sampled chooses, as `graphc generate --temperature --top-k
 * --top-p --repetition-penalty`: the penalty (1: off) divides a positive
 * logit, multiplies a negative one, of every token among the last 64 fed or
 * generated; then only the top_k largest logits (0: off; ties with the k-th
 * stay) and, of those, the most likely tokens holding top_p of the mass (1:
 * off) are drawn from. No sort of the vocabulary. */
typedef struct {n}_sampling {{
  double temperature;        /* <= 0: greedy */
  int64_t top_k;             /* 0..{guard}_VOCAB_SIZE */
  double top_p;              /* (0, 1] */
  double repetition_penalty; /* > 0 */
}} {n}_sampling;
/* generate with those settings; -1 also when one is out of range. */
long {n}_generate_sampled({n}_generator* g, size_t n, const {n}_sampling* sampling, uint64_t seed, char* out,
                          size_t capacity);
/* Threads for the products of every generator of this library, the caller
 * included (default 1: no threads are started); returns how many it got. Idle
 * threads sleep. The text does not depend on the number. */
int {n}_set_threads(int threads);
/* One step on a token id; returns the logits ({guard}_VOCAB_SIZE floats,
 * valid until the next call) and drops the pending token. NULL (and no step)
 * for an id outside 0..{guard}_VOCAB_SIZE-1. */
const float* {n}_step({n}_generator* g, int token);

int {n}_vocab_size(void);
/* The id of a one-byte character (0, <unk>, if it is not in the vocabulary), and a token's text (NULL if out of range). */
int {n}_token_id(unsigned char byte);
/* The id of the character `text` starts with, UTF-8 aware (a multi-byte character
 * that is a token, else its first byte's token), as feed() reads it; *used gets
 * its length in bytes. -1 for empty text. */
int {n}_token_of(const char* text, size_t length, size_t* used);
const char* {n}_token_text(int id);

/* The CPU check: 1 if this CPU runs the library, else 0 with the reason in last_error. */
int {n}_cpu_supported(void);
const char* {n}_target_cpu(void);
const char* {n}_last_error(void);

#ifdef __cplusplus
}}
#endif

#endif
)",
                     fmt::arg("n", n), fmt::arg("guard", guard), fmt::arg("version", GRAPHC_VERSION),
                     fmt::arg("source", source.empty() ? "a model in memory" : cSafe(source)), fmt::arg("model", cSafe(model.name)),
                     fmt::arg("hidden", c.hidden), fmt::arg("layers", c.numLayers), fmt::arg("vocab", vocab.size()),
                     fmt::arg("cpu", cSafe(target.cpu)), fmt::arg("features", featureList(features)),
                     fmt::arg("maxTokenBytes", maxTokenBytes), fmt::arg("weightsFile", weightsFile ? n + ".weights" : ""));
}

std::string exampleText(const std::string& n) {
  std::string guard = n;
  for (char& ch : guard) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  return fmt::format(R"(/* example.c — continue a prefix with the exported model, as `graphc generate` does.
 * Build: cc example.c lib{n}.a -lm -o example
 * Run:   ./example ["PREFIX" [LENGTH [TEMPERATURE [SEED [THREADS]]]]]   (default: "time traveller" 50 0 0 1)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "{n}.h"

int main(int argc, char** argv) {{
  const char* prefix = argc > 1 ? argv[1] : "time traveller";
  long length = argc > 2 ? atol(argv[2]) : 50;
  double temperature = argc > 3 ? atof(argv[3]) : 0.0;
  uint64_t seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 0;
  int threads = argc > 5 ? atoi(argv[5]) : 1;
  if (prefix[0] == 0 || length < 0 || (size_t)length > (SIZE_MAX - 1) / {guard}_MAX_TOKEN_BYTES) {{
    fprintf(stderr, "example: the prefix must not be empty and the length not negative nor absurd\n");
    return 2;
  }}
  if ({guard}_WEIGHTS_FILE[0] && !{n}_load_weights({guard}_WEIGHTS_FILE)) {{  /* run it from the library's directory */
    fprintf(stderr, "example: %s\n", {n}_last_error());
    return 1;
  }}
  {n}_generator* g = {n}_create();
  if (!g) {{
    fprintf(stderr, "example: %s\n", {n}_last_error());
    return 1;
  }}
  {n}_set_threads(threads);
  size_t capacity = (size_t)length * {guard}_MAX_TOKEN_BYTES + 1;
  char* text = malloc(capacity);
  if (!text) return 1;
  {n}_feed(g, prefix, strlen(prefix));
  if ({n}_generate(g, (size_t)length, temperature, seed, text, capacity) < 0) {{
    fprintf(stderr, "example: %s\n", {n}_last_error());
    return 1;
  }}
  printf("%s%s\n", prefix, text);
  free(text);
  {n}_destroy(g);
  return 0;
}}
)",
                     fmt::arg("n", n), fmt::arg("guard", guard));
}

std::string pkgConfigText(const std::string& n) {
  return fmt::format(R"(# {n}.pc — the model exported by graphc, for pkg-config: PKG_CONFIG_PATH=THIS_DIR pkg-config --cflags --libs {n}
prefix=${{pcfiledir}}

Name: {n}
Description: a language model exported by graphc {version} (C API in {n}.h)
Version: {version}
Cflags: -I${{prefix}}
Libs: ${{prefix}}/lib{n}.a -lm
)",
                     fmt::arg("n", n), fmt::arg("version", GRAPHC_VERSION));
}

std::string cmakeConfigText(const std::string& n) {
  return fmt::format(R"(# {n}Config.cmake — the model exported by graphc {version}, for CMake:
#   find_package({n} REQUIRED PATHS THIS_DIR NO_DEFAULT_PATH)
#   target_link_libraries(your_program PRIVATE {n}::{n})
if(NOT TARGET {n}::{n})
  add_library({n}::{n} STATIC IMPORTED)
  set_target_properties({n}::{n} PROPERTIES
    IMPORTED_LOCATION "${{CMAKE_CURRENT_LIST_DIR}}/lib{n}.a"
    INTERFACE_INCLUDE_DIRECTORIES "${{CMAKE_CURRENT_LIST_DIR}}"
    INTERFACE_LINK_LIBRARIES m)
endif()
)",
                     fmt::arg("n", n), fmt::arg("version", GRAPHC_VERSION));
}

}  // namespace graphc
