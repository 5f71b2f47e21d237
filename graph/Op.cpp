// graph/Op.cpp — tables generated from Op.def.
#include "graph/Op.h"

#include <array>

namespace graphc {
namespace {

struct OpInfo {
  std::string_view name;
  int arity;
  unsigned traits;
  FusionClass fusion;
  LoweringKind lowering;
  std::string_view attributes;
};

constexpr std::array kOps = {
#define GRAPHC_OP(Enum, Name, Arity, Traits, Fusion, Lowering, Attributes) \
  OpInfo{Name, Arity, Traits, Fusion, Lowering, Attributes},
#include "graph/Op.def"
#undef GRAPHC_OP
};

}  // namespace

std::string_view opName(OpKind k) { return kOps[size_t(k)].name; }
int opArity(OpKind k) { return kOps[size_t(k)].arity; }
unsigned opTraits(OpKind k) { return kOps[size_t(k)].traits; }
FusionClass opFusion(OpKind k) { return kOps[size_t(k)].fusion; }
LoweringKind opLowering(OpKind k) { return kOps[size_t(k)].lowering; }
std::string_view opAttrNames(OpKind k) { return kOps[size_t(k)].attributes; }

bool opTakesAttr(OpKind k, std::string_view name) {
  if (name == "offset") return true;
  std::string_view list = kOps[size_t(k)].attributes;
  for (size_t at = 0; at < list.size();) {
    size_t end = list.find(' ', at);
    if (end == std::string_view::npos) end = list.size();
    if (list.substr(at, end - at) == name) return true;
    at = end + 1;
  }
  return false;
}

std::optional<OpKind> opFromName(std::string_view name) {
  for (size_t i = 0; i < kOps.size(); ++i)
    if (kOps[i].name == name) return OpKind(i);
  return std::nullopt;
}

}  // namespace graphc
