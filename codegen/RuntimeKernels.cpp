// codegen/RuntimeKernels.cpp — see RuntimeKernels.h. The kernels themselves
// are kernels/*.c; this file checks at compile time that their C declarations
// have the parameters RuntimeKernels.def gives (the bitcode's are checked when
// it is linked: codegen/GenerationProgram.cpp).
#include "codegen/RuntimeKernels.h"

#include <map>
#include <type_traits>

namespace graphc {

std::vector<std::pair<std::string, void*>> runtimeKernelSymbols() {
  return {
#define GRAPHC_RUNTIME_KERNEL(Name, ...) {#Name, reinterpret_cast<void*>(&Name)},
#include "kernels/RuntimeKernels.def"
#undef GRAPHC_RUNTIME_KERNEL
  };
}

namespace {

// Each declaration's parameters against the table's kinds, at compile time.
template <typename T>
constexpr RuntimeParam paramKind() {
  if constexpr (std::is_pointer_v<T>) return RuntimeParam::Ptr;
  else if constexpr (sizeof(T) == 8) return RuntimeParam::I64;
  else return RuntimeParam::I32;
}
template <typename... Params>
constexpr bool declaredAs(void (*)(Params...), std::initializer_list<RuntimeParam> kinds) {
  RuntimeParam declared[] = {paramKind<Params>()...};
  if (kinds.size() != sizeof...(Params)) return false;
  size_t i = 0;
  for (RuntimeParam k : kinds)
    if (declared[i++] != k) return false;
  return true;
}
using enum RuntimeParam;
#define GRAPHC_RUNTIME_KERNEL(Name, ...)                 \
  static_assert(declaredAs(&Name, {__VA_ARGS__}),      \
                #Name " is declared with other parameters than kernels/RuntimeKernels.def says");
#include "kernels/RuntimeKernels.def"
#undef GRAPHC_RUNTIME_KERNEL

}  // namespace

const std::vector<RuntimeParam>* runtimeKernelParams(const std::string& name) {
  static const std::map<std::string, std::vector<RuntimeParam>> table = {
#define GRAPHC_RUNTIME_KERNEL(Name, ...) {#Name, {__VA_ARGS__}},
#include "kernels/RuntimeKernels.def"
#undef GRAPHC_RUNTIME_KERNEL
  };
  auto it = table.find(name);
  return it == table.end() ? nullptr : &it->second;
}

std::string graphc_rt_take_error() {
  char text[256];
  return graphc_kernel_take_error(text, sizeof text) ? std::string(text) : std::string();
}

}  // namespace graphc
