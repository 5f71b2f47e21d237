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
};

constexpr std::array kOps = {
#define GRAPHC_OP(Enum, Name, Arity, Traits, Fusion, Lowering) OpInfo{Name, Arity, Traits, Fusion, Lowering},
#include "graph/Op.def"
#undef GRAPHC_OP
};

}  // namespace

std::string_view opName(OpKind k) { return kOps[size_t(k)].name; }
int opArity(OpKind k) { return kOps[size_t(k)].arity; }
unsigned opTraits(OpKind k) { return kOps[size_t(k)].traits; }
FusionClass opFusion(OpKind k) { return kOps[size_t(k)].fusion; }
LoweringKind opLowering(OpKind k) { return kOps[size_t(k)].lowering; }

std::optional<OpKind> opFromName(std::string_view name) {
  for (size_t i = 0; i < kOps.size(); ++i)
    if (kOps[i].name == name) return OpKind(i);
  return std::nullopt;
}

}  // namespace graphc
