// graph/Lexer.h — the textual IR's tokens: identifiers, %values, @graphs,
// strings, numbers and punctuation, each with its line and column; a bad
// character is one "file:line:col: error: ..." line. Internal to the parser.
#pragma once

#include <cctype>
#include <fmt/format.h>
#include <string>
#include <string_view>

#include "graph/Error.h"
#include "graph/Graph.h"

namespace graphc::textir {

enum class Tok { End, Ident, ValueName, GraphName, String, Number, Punct };

struct Token {
  Tok kind = Tok::End;
  std::string text;  // identifier / name without sigil / string contents / number / punct char
  SourceLoc loc;
};

inline bool isNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; }

inline std::string describeChar(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", u);
}

class Lexer {
 public:
  Lexer(std::string_view text, const std::string& file) : text_(text), file_(file) {}

  [[noreturn]] void fail(SourceLoc loc, const std::string& msg) const {
    throw Error(fmt::format("{}:{}:{}: error: {}", file_, loc.line, loc.col, msg));
  }

  Token next() {
    skipSpaceAndComments();
    Token t;
    t.loc = {line_, col_};
    if (pos_ >= text_.size()) return t;
    char c = text_[pos_];
    if (c == '%' || c == '@') {
      advance();
      std::string name = takeWhile(isNameChar);
      if (name.empty()) fail(t.loc, fmt::format("expected a name after '{}'", c));
      t.kind = c == '%' ? Tok::ValueName : Tok::GraphName;
      t.text = name;
    } else if (c == '"') {
      t.kind = Tok::String;
      t.text = lexString(t.loc);
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+') {
      t.kind = Tok::Number;
      t.text = lexNumber(t.loc);
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      t.kind = Tok::Ident;
      t.text = takeWhile(isNameChar);
    } else if (std::string_view("=(){}[],:").find(c) != std::string_view::npos) {
      t.kind = Tok::Punct;
      t.text = std::string(1, c);
      advance();
    } else {
      fail(t.loc, fmt::format("unexpected character {}", describeChar(c)));
    }
    return t;
  }

 private:
  void advance() {
    if (text_[pos_] == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
    ++pos_;
  }
  void skipSpaceAndComments() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        advance();
      } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/') {
        while (pos_ < text_.size() && text_[pos_] != '\n') advance();
      } else {
        break;
      }
    }
  }
  template <typename Pred>
  std::string takeWhile(Pred p) {
    size_t start = pos_;
    while (pos_ < text_.size() && p(text_[pos_])) advance();
    return std::string(text_.substr(start, pos_ - start));
  }
  std::string lexString(SourceLoc loc) {
    advance();  // opening quote
    std::string s;
    for (;;) {
      if (pos_ >= text_.size() || text_[pos_] == '\n') fail(loc, "unterminated string");
      char c = text_[pos_];
      advance();
      if (c == '"') return s;
      if (c == '\\') {
        if (pos_ >= text_.size()) fail(loc, "unterminated string");
        c = text_[pos_];
        advance();
        if (c == 'n') c = '\n';
        else if (c == 't') c = '\t';
        else if (c == 'x') {  // \xHH, as the printer writes control bytes
          auto hex = [&](char h) -> int {
            if (h >= '0' && h <= '9') return h - '0';
            if (h >= 'a' && h <= 'f') return h - 'a' + 10;
            if (h >= 'A' && h <= 'F') return h - 'A' + 10;
            return -1;
          };
          int hi = pos_ < text_.size() ? hex(text_[pos_]) : -1;
          int lo = pos_ + 1 < text_.size() ? hex(text_[pos_ + 1]) : -1;
          if (hi < 0 || lo < 0) fail(loc, "\\x in a string needs two hex digits");
          advance();
          advance();
          c = char(hi * 16 + lo);
        }
      }
      s += c;
    }
  }
  std::string lexNumber(SourceLoc loc) {
    size_t start = pos_;
    if (text_[pos_] == '-' || text_[pos_] == '+') advance();
    // "-inf" / "nan" spellings of floats.
    if (pos_ < text_.size() && std::isalpha(static_cast<unsigned char>(text_[pos_]))) {
      takeWhile(isNameChar);
    } else {
      auto isNumChar = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.'; };
      takeWhile(isNumChar);
      if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
        advance();
        if (pos_ < text_.size() && (text_[pos_] == '-' || text_[pos_] == '+')) advance();
        takeWhile(isNumChar);
      }
    }
    std::string s(text_.substr(start, pos_ - start));
    if (s == "-" || s == "+") fail(loc, fmt::format("expected a number after '{}'", s));
    return s;
  }

  std::string_view text_;
  const std::string& file_;
  size_t pos_ = 0;
  int line_ = 1, col_ = 1;
};

}  // namespace graphc::textir
