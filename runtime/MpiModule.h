// runtime/MpiModule.h — the entry points of the MPI module (libgraphc_mpi.so,
// mpi/MpiWorld.cpp), which runtime/MpiModule.cpp loads for a distributed run.
#pragma once

namespace graphc {
class Communicator;
}

extern "C" {
// Initializes MPI (once per process) and joins MPI_COMM_WORLD; the caller owns
// the result. Throws graphc::Error.
graphc::Communicator* graphc_mpi_join(double timeoutSeconds);
// Ends MPI after a successful run.
void graphc_mpi_finish();
}
