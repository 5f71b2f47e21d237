// codegen/Collectives.h — where generated code and the interpreter reach the
// processes of a distributed run. The runtime installs the communicator's
// sum (MPI under mpirun); until then, and on one process, it is the identity.
#pragma once

#include <cstdint>

namespace graphc {

using AllReduceSum = void (*)(float* data, int64_t n);

// Sums data[0..n) over all processes in place (every process calls it with the same n).
void allReduceSum(float* data, int64_t n);
// nullptr: back to one process.
void setAllReduceSum(AllReduceSum fn);

}  // namespace graphc
