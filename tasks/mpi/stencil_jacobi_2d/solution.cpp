#include <mpi.h>

#include <cstddef>
#include <vector>

void jacobi_2d(std::vector<double> const& grid, std::vector<double>& output, std::size_t n,
               int steps) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::size_t r0 = n * rank / size, r1 = n * (rank + 1) / size, rows = r1 - r0;
  const int up = rank > 0 ? rank - 1 : MPI_PROC_NULL;
  const int down = rank + 1 < size ? rank + 1 : MPI_PROC_NULL;
  const int w = static_cast<int>(n);
  // Local rows 1..rows hold global rows r0..r1-1; rows 0 and rows+1 are the halo.
  std::vector<double> cur((rows + 2) * n, 0.0);
  for (std::size_t i = 0; i < rows * n; ++i) cur[n + i] = grid[r0 * n + i];
  std::vector<double> next(cur);
  for (int s = 0; s < steps; ++s) {
    MPI_Sendrecv(&cur[n], w, MPI_DOUBLE, up, 0, &cur[(rows + 1) * n], w, MPI_DOUBLE, down, 0,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Sendrecv(&cur[rows * n], w, MPI_DOUBLE, down, 1, &cur[0], w, MPI_DOUBLE, up, 1,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    for (std::size_t i = 1; i <= rows; ++i) {
      const std::size_t g = r0 + i - 1;
      if (g == 0 || g + 1 == n) continue;  // border rows stay as they are (copied in next)
      for (std::size_t j = 1; j + 1 < n; ++j) {
        next[i * n + j] = (cur[i * n + j] + cur[(i - 1) * n + j] + cur[(i + 1) * n + j] +
                           cur[i * n + j - 1] + cur[i * n + j + 1]) /
                          5.0;
      }
    }
    cur.swap(next);
  }
  std::vector<int> counts(size), displs(size);
  for (int r = 0; r < size; ++r) {
    displs[r] = static_cast<int>(n * r / size * n);
    counts[r] = static_cast<int>(n * (r + 1) / size * n) - displs[r];
  }
  if (rank == 0) output.resize(n * n);
  MPI_Gatherv(&cur[n], static_cast<int>(rows * n), MPI_DOUBLE,
              rank == 0 ? output.data() : nullptr, counts.data(), displs.data(), MPI_DOUBLE, 0,
              MPI_COMM_WORLD);
}
