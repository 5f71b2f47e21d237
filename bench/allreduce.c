// bench/allreduce.c — the MPI_Allreduce of one training step's gradients
// alone: N floats summed in place over the ranks, REPEATS times; rank 0 prints
// the median milliseconds per call. Built and run by bench/bench.py with mpicc/mpirun.
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int compare(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  long n = argc > 1 ? atol(argv[1]) : 291356;
  int repeats = argc > 2 ? atoi(argv[2]) : 200;
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  float* data = malloc(sizeof(float) * (size_t)n);
  double* ms = malloc(sizeof(double) * (size_t)repeats);
  if (!data || !ms || n <= 0 || n > (1L << 30) || repeats <= 0) MPI_Abort(MPI_COMM_WORLD, 2);
  for (long i = 0; i < n; ++i) data[i] = 1e-3f * (float)(i % 1000);
  for (int warm = 0; warm < 10; ++warm) MPI_Allreduce(MPI_IN_PLACE, data, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  for (int r = 0; r < repeats; ++r) {
    MPI_Barrier(MPI_COMM_WORLD);  // time the transfer, not the ranks' arrival
    double start = MPI_Wtime();
    MPI_Allreduce(MPI_IN_PLACE, data, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    ms[r] = (MPI_Wtime() - start) * 1e3;
  }
  qsort(ms, (size_t)repeats, sizeof(double), compare);
  if (rank == 0) printf("%.4f\n", ms[repeats / 2]);
  free(data);
  free(ms);
  MPI_Finalize();
  return 0;
}
