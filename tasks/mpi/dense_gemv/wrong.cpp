// WRONG on purpose: every rank takes m / size rows and gathers them with MPI_Gather, so the last
// m % size rows of y stay 0. m = 1000 is divisible by 1, 2 and 4, not by 3: fails at np=3 only.
#include <mpi.h>

#include <cstddef>
#include <vector>

void gemv(std::vector<double> const& A, std::vector<double> const& x, std::vector<double>& y,
          std::size_t m, std::size_t n) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::size_t chunk = m / size;
  std::vector<double> local(chunk);
  for (std::size_t i = 0; i < chunk; ++i) {
    const std::size_t row = rank * chunk + i;
    double sum = 0.0;
    for (std::size_t j = 0; j < n; ++j) sum += A[row * n + j] * x[j];
    local[i] = sum;
  }
  if (rank == 0) y.assign(m, 0.0);
  MPI_Gather(local.data(), static_cast<int>(chunk), MPI_DOUBLE, rank == 0 ? y.data() : nullptr,
             static_cast<int>(chunk), MPI_DOUBLE, 0, MPI_COMM_WORLD);
}
