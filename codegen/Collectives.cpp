// codegen/Collectives.cpp — see Collectives.h. The installed sum lives with
// the kernels (kernels/runtime_kernels.h), whose all_reduce applies it.
#include "codegen/Collectives.h"

#include "kernels/runtime_kernels.h"

namespace graphc {

void allReduceSum(float* data, int64_t n) {
  if (AllReduceSum fn = graphc_all_reduce()) fn(data, n);
}

void setAllReduceSum(AllReduceSum fn) { graphc_set_all_reduce(fn); }

}  // namespace graphc
