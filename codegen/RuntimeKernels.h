// codegen/RuntimeKernels.h — codegen's view of the runtime kernels
// (kernels/runtime_kernels.h): the JIT's symbol table, each kernel's
// parameters as kernels/RuntimeKernels.def gives them, and their errors.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "kernels/runtime_kernels.h"

namespace graphc {

// Every kernel, by the name generated code calls it (from RuntimeKernels.def).
std::vector<std::pair<std::string, void*>> runtimeKernelSymbols();

// A runtime kernel's parameters as codegen passes them (RuntimeKernels.def).
enum class RuntimeParam { Ptr, I64, I32 };
// The parameters of the kernel called `name`, or nullptr when there is none.
const std::vector<RuntimeParam>* runtimeKernelParams(const std::string& name);

// The first error a kernel recorded since the last call, or "".
std::string graphc_rt_take_error();

}  // namespace graphc
