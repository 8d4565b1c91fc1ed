// WRONG on purpose: every rank takes n / size rows and the last n % size rows are never updated
// (nor received as a halo). n = 128 is divisible by 1, 2 and 4 but not 3: fails at np=3 only.
#include <mpi.h>

#include <cstddef>
#include <vector>

void jacobi_2d(std::vector<double> const& grid, std::vector<double>& output, std::size_t n,
               int steps) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::size_t rows = n / size, r0 = rows * rank;
  const int up = rank > 0 ? rank - 1 : MPI_PROC_NULL;
  const int down = rank + 1 < size ? rank + 1 : MPI_PROC_NULL;
  const int w = static_cast<int>(n);
  std::vector<double> cur((rows + 2) * n, 0.0);
  for (std::size_t i = 0; i < (rows + 2) * n; ++i) {
    const long long g = static_cast<long long>(r0 * n + i) - w;  // global index of cur[i]
    if (g >= 0 && g < static_cast<long long>(n * n)) cur[i] = grid[g];
  }
  std::vector<double> next(cur);
  for (int s = 0; s < steps; ++s) {
    MPI_Sendrecv(&cur[n], w, MPI_DOUBLE, up, 0, &cur[(rows + 1) * n], w, MPI_DOUBLE, down, 0,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Sendrecv(&cur[rows * n], w, MPI_DOUBLE, down, 1, &cur[0], w, MPI_DOUBLE, up, 1,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    for (std::size_t i = 1; i <= rows; ++i) {
      const std::size_t g = r0 + i - 1;
      if (g == 0 || g + 1 == n) continue;
      for (std::size_t j = 1; j + 1 < n; ++j) {
        next[i * n + j] = (cur[i * n + j] + cur[(i - 1) * n + j] + cur[(i + 1) * n + j] +
                           cur[i * n + j - 1] + cur[i * n + j + 1]) /
                          5.0;
      }
    }
    cur.swap(next);
  }
  if (rank == 0) output = grid;  // rows nobody owns keep their initial values
  MPI_Gather(&cur[n], static_cast<int>(rows * n), MPI_DOUBLE, rank == 0 ? output.data() : nullptr,
             static_cast<int>(rows * n), MPI_DOUBLE, 0, MPI_COMM_WORLD);
}
