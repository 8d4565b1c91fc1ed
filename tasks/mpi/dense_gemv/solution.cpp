#include <mpi.h>

#include <cstddef>
#include <vector>

void gemv(std::vector<double> const& A, std::vector<double> const& x, std::vector<double>& y,
          std::size_t m, std::size_t n) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::vector<int> counts(size), displs(size);
  for (int r = 0; r < size; ++r) {
    displs[r] = static_cast<int>(m * r / size);
    counts[r] = static_cast<int>(m * (r + 1) / size) - displs[r];
  }
  std::vector<double> local(counts[rank]);
  for (int i = 0; i < counts[rank]; ++i) {
    const std::size_t row = static_cast<std::size_t>(displs[rank] + i);
    double sum = 0.0;
    for (std::size_t j = 0; j < n; ++j) sum += A[row * n + j] * x[j];
    local[i] = sum;
  }
  if (rank == 0) y.resize(m);
  MPI_Gatherv(local.data(), counts[rank], MPI_DOUBLE, rank == 0 ? y.data() : nullptr,
              counts.data(), displs.data(), MPI_DOUBLE, 0, MPI_COMM_WORLD);
}
