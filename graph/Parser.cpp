// graph/Parser.cpp — text -> Graph. A hand-written lexer and recursive-descent
// parser; every error is one "file:line:col: error: ..." line.
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <unordered_map>

#include "graph/Constant.h"
#include "graph/FileIO.h"
#include "graph/Lexer.h"
#include "graph/TextIR.h"
#include "graph/Verifier.h"

namespace graphc {
namespace {

using namespace textir;

// A node as written, before names are resolved.
struct RawNode {
  Node node;
  std::vector<std::pair<std::string, SourceLoc>> operandNames;
};
struct RawRef {
  std::string name;
  SourceLoc loc;
};

class Parser {
 public:
  Parser(std::string_view text, const std::string& file) : lex_(text, file), file_(file) { tok_ = lex_.next(); }

  Graph parse() {
    if (tok_.kind == Tok::End) lex_.fail(tok_.loc, "empty input: expected 'graph @name {'");
    expectIdent("graph");
    if (tok_.kind != Tok::GraphName) failHere("expected the graph name '@name'");
    std::string name = tok_.text;
    take();
    Attrs attrs;
    if (isIdent("attributes")) {
      take();
      attrs = parseAttrDict();
    }
    expectPunct("{");
    Graph g = parseScope();
    g.name = name;
    g.attrs = std::move(attrs);
    if (tok_.kind != Tok::End) failHere(fmt::format("unexpected {} after the end of the graph", describe(tok_)));
    verify(g);
    return g;
  }

 private:
  // Statements up to and including the closing '}', with names resolved in
  // this scope (a fused body has a scope of its own).
  Graph parseScope() {
    Graph g;
    g.sourceName = file_;
    std::vector<RawNode> raw;
    std::vector<std::tuple<std::string, RawRef, SourceLoc>> outputs;  // name, value, where
    std::vector<std::tuple<RawRef, RawRef, SourceLoc>> updates;       // target, value, where
    for (;;) {
      if (isPunct("}")) {
        take();
        break;
      }
      if (tok_.kind == Tok::End) failHere("unexpected end of input: expected a statement or '}'");
      if (tok_.kind == Tok::ValueName) {
        raw.push_back(parseNode());
      } else if (isIdent("output")) {
        SourceLoc loc = tok_.loc;
        take();
        if (tok_.kind != Tok::String) failHere("expected the output name as a string");
        std::string name = tok_.text;
        take();
        expectPunct("=");
        outputs.emplace_back(name, parseRef(), loc);
      } else if (isIdent("update")) {
        SourceLoc loc = tok_.loc;
        take();
        RawRef target = parseRef();
        expectPunct("=");
        RawRef value = parseRef();
        updates.emplace_back(target, value, loc);
      } else {
        failHere(fmt::format("expected '%name = op ...', 'output', 'update' or '}}', got {}", describe(tok_)));
      }
    }

    // Resolve names: duplicates, undefined values, uses before definition.
    std::unordered_map<std::string, size_t> defined;
    for (size_t i = 0; i < raw.size(); ++i) {
      auto [it, fresh] = defined.emplace(raw[i].node.name, i);
      if (!fresh) {
        SourceLoc first = raw[it->second].node.loc;
        lex_.fail(raw[i].node.loc, fmt::format("redefinition of %{} (first defined at {}:{})", raw[i].node.name,
                                               first.line, first.col));
      }
    }
    auto resolve = [&](const std::string& name, SourceLoc loc, size_t user) -> ValueId {
      auto it = defined.find(name);
      if (it == defined.end()) lex_.fail(loc, fmt::format("use of undefined value %{}", name));
      if (it->second >= user)
        lex_.fail(loc, fmt::format("%{} is used before its definition at line {} (cycle or wrong order)", name,
                                   raw[it->second].node.loc.line));
      return ValueId(it->second);
    };
    for (size_t i = 0; i < raw.size(); ++i) {
      for (auto& [name, loc] : raw[i].operandNames) raw[i].node.operands.push_back(resolve(name, loc, i));
      g.add(std::move(raw[i].node));
    }
    for (auto& [name, value, loc] : outputs) g.outputs.push_back({name, resolve(value.name, value.loc, raw.size()), loc});
    for (auto& [target, value, loc] : updates)
      g.updates.push_back({resolve(target.name, target.loc, raw.size()), resolve(value.name, value.loc, raw.size()), loc});
    return g;
  }

  Attrs parseAttrDict() {
    Attrs attrs;
    expectPunct("{");
    parseList("}", [&] {
      if (tok_.kind != Tok::Ident) failHere(fmt::format("expected an attribute name, got {}", describe(tok_)));
      std::string key = tok_.text;
      SourceLoc keyLoc = tok_.loc;
      take();
      expectPunct("=");
      if (attrs.count(key)) lex_.fail(keyLoc, fmt::format("attribute '{}' given twice", key));
      attrs[key] = parseAttrValue();
    });
    return attrs;
  }

  RawNode parseNode() {
    RawNode r;
    r.node.name = tok_.text;
    r.node.loc = tok_.loc;
    take();
    expectPunct("=");
    if (tok_.kind != Tok::Ident) failHere(fmt::format("expected an op name, got {}", describe(tok_)));
    auto op = opFromName(tok_.text);
    if (!op) failHere(fmt::format("unknown op '{}'", tok_.text));
    r.node.op = *op;
    take();
    if (isPunct("(")) {
      take();
      parseList(")", [&] {
        RawRef ref = parseRef();
        r.operandNames.emplace_back(ref.name, ref.loc);
      });
    }
    if (isPunct("{")) r.node.attrs = parseAttrDict();
    expectPunct(":");
    r.node.type = parseType();
    if (r.node.op == OpKind::Constant) roundParsedConstant(r.node);
    if (isPunct("{")) {  // a fused kernel's body
      if (r.node.op != OpKind::Fused) failHere(fmt::format("only 'fused' has a body, not '{}'", opName(r.node.op)));
      take();
      if (++depth_ > 2) failHere("fused bodies nest too deeply");
      r.node.body = std::make_shared<Graph>(parseScope());
      --depth_;
      r.node.body->name = "body";
    }
    return r;
  }

  AttrValue parseAttrValue() {
    if (tok_.kind == Tok::String) {
      std::string s = tok_.text;
      take();
      return s;
    }
    if (isPunct("[")) {
      take();
      std::vector<int64_t> list;
      parseList("]", [&] { list.push_back(parseInt("a list element")); });
      return list;
    }
    if (tok_.kind == Tok::Number || (tok_.kind == Tok::Ident && (tok_.text == "nan" || tok_.text == "inf"))) {
      const std::string& s = tok_.text;
      bool isFloat = s.find_first_of(".eEn") != std::string::npos;
      if (!isFloat) return parseInt("an integer");
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (end != s.c_str() + s.size()) failHere(fmt::format("malformed number '{}'", s));
      take();
      return d;
    }
    failHere(fmt::format("expected an attribute value, got {}", describe(tok_)));
  }

  int64_t parseInt(const char* what) {
    if (tok_.kind != Tok::Number) failHere(fmt::format("expected {}, got {}", what, describe(tok_)));
    const std::string& s = tok_.text;
    const char* begin = s.c_str() + (s[0] == '+' ? 1 : 0);
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(begin, s.c_str() + s.size(), v);
    if (ec == std::errc::result_out_of_range) failHere(fmt::format("integer '{}' is out of range", s));
    if (ec != std::errc() || ptr != s.c_str() + s.size()) failHere(fmt::format("expected {}, got '{}'", what, s));
    take();
    return v;
  }

  TensorType parseType() {
    TensorType t;
    if (isIdent("f32")) t.dtype = DType::F32;
    else if (isIdent("i32")) t.dtype = DType::I32;
    else failHere(fmt::format("expected a type such as f32[2,3], got {}", describe(tok_)));
    take();
    expectPunct("[");
    parseList("]", [&] {
      SourceLoc loc = tok_.loc;
      int64_t d = parseInt("a dimension");
      if (d < 0) lex_.fail(loc, fmt::format("negative dimension {}", d));
      if (d > kMaxElements) lex_.fail(loc, fmt::format("dimension {} is too large (limit 2^34 elements)", d));
      t.shape.push_back(d);
      if (t.shape.size() > 8) lex_.fail(loc, "rank above 8 is not supported");
    });
    return t;
  }

  RawRef parseRef() {
    if (tok_.kind != Tok::ValueName) failHere(fmt::format("expected a value '%name', got {}", describe(tok_)));
    RawRef r{tok_.text, tok_.loc};
    take();
    return r;
  }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::End: return "end of input";
      case Tok::Ident: return fmt::format("'{}'", t.text);
      case Tok::ValueName: return fmt::format("'%{}'", t.text);
      case Tok::GraphName: return fmt::format("'@{}'", t.text);
      case Tok::String: return fmt::format("string \"{}\"", t.text);
      case Tok::Number: return fmt::format("number {}", t.text);
      case Tok::Punct: return fmt::format("'{}'", t.text);
    }
    return "?";
  }

  // "item, item, ..." up to and including `close`; the list may be empty.
  template <typename Item>
  void parseList(const char* close, Item item) {
    if (!isPunct(close)) {
      item();
      while (isPunct(",")) {
        take();
        item();
      }
    }
    expectPunct(close);
  }

  void take() { tok_ = lex_.next(); }
  bool isPunct(const char* p) const { return tok_.kind == Tok::Punct && tok_.text == p; }
  bool isIdent(const char* p) const { return tok_.kind == Tok::Ident && tok_.text == p; }
  void expectPunct(const char* p) {
    if (!isPunct(p)) failHere(fmt::format("expected '{}', got {}", p, describe(tok_)));
    take();
  }
  void expectIdent(const char* p) {
    if (!isIdent(p)) failHere(fmt::format("expected '{}', got {}", p, describe(tok_)));
    take();
  }
  [[noreturn]] void failHere(const std::string& msg) const { lex_.fail(tok_.loc, msg); }

  Lexer lex_;
  std::string file_;
  int depth_ = 0;
  Token tok_;
};

}  // namespace

Graph parseGraph(std::string_view text, const std::string& sourceName) {
  return Parser(text, sourceName).parse();
}

// Text IR files are small (the seed step prints as 50 KiB, a 20,000-step one
// as 27 MB). The bound keeps parsing a hostile file under 1 GiB: a graph
// costs about 20 bytes per byte of its densest text (one-line nodes: 25 MB
// took 552 MB to parse and print, measured), so 32 MiB, not 256.
constexpr uint64_t kMaxIrBytes = uint64_t(32) << 20;

Graph parseGraphFile(const std::string& path) {
  std::string text;
  if (path == "-") {
    // Standard input, documented: read in blocks up to the same limit.
    char block[1 << 16];
    while (std::cin.read(block, sizeof block) || std::cin.gcount() > 0) {
      text.append(block, size_t(std::cin.gcount()));
      if (text.size() > kMaxIrBytes)
        throw Error(fmt::format("<stdin>: error: the IR is more than the {} graphc reads", formatBytes(kMaxIrBytes)));
    }
    return parseGraph(text, "<stdin>");
  }
  return parseGraph(readFileBounded(path, kMaxIrBytes, "the IR file"), path);
}

}  // namespace graphc
