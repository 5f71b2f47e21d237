// graph/Error.h — the one exception type graphc code throws for user-facing errors.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace graphc {

// A user-facing error. The message is one line and complete: it already names
// the place (file:line:col, the flag, the value) and what is wrong.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A name that is not one of the known ones (a model, a pass, a hyperparameter):
// the message lists them; the command line adds the nearest as a did-you-mean.
class UnknownNameError : public Error {
 public:
  UnknownNameError(const std::string& message, std::string name, std::vector<std::string> known)
      : Error(message), name_(std::move(name)), known_(std::move(known)) {}
  const std::string& name() const { return name_; }
  const std::vector<std::string>& known() const { return known_; }

 private:
  std::string name_;
  std::vector<std::string> known_;
};

// Text from outside (a file's bytes, a flag's value) made safe to show in a
// one-line message: control bytes (newlines, terminal escapes) become \xHH,
// and past `maxChars` it is cut with "...".
std::string escapeForMessage(const std::string& text, size_t maxChars = 64);

// A position in a source text; line and col are 1-based, 0 means unknown.
struct SourceLoc {
  int line = 0;
  int col = 0;
  bool known() const { return line > 0; }
};

}  // namespace graphc
