// WRONG on purpose: the halo is exchanged once, before the first step, so later steps use stale
// ghost cells. Right at np=1 (no neighbours); fails at np=2, 3 and 4.
#include <mpi.h>

#include <cstddef>
#include <vector>

void jacobi_1d(std::vector<double>& u, std::size_t n, int steps) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::size_t begin = n * rank / size;
  const std::size_t m = u.size();
  const int left = rank > 0 ? rank - 1 : MPI_PROC_NULL;
  const int right = rank + 1 < size ? rank + 1 : MPI_PROC_NULL;
  std::vector<double> cur(m + 2, 0.0), next(m + 2, 0.0);
  for (std::size_t i = 0; i < m; ++i) cur[i + 1] = u[i];
  MPI_Sendrecv(&cur[1], 1, MPI_DOUBLE, left, 0, &cur[m + 1], 1, MPI_DOUBLE, right, 0,
               MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  MPI_Sendrecv(&cur[m], 1, MPI_DOUBLE, right, 1, &cur[0], 1, MPI_DOUBLE, left, 1, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
  next[0] = cur[0];
  next[m + 1] = cur[m + 1];
  for (int s = 0; s < steps; ++s) {
    for (std::size_t i = 1; i <= m; ++i) {
      const std::size_t g = begin + i - 1;
      next[i] = (g == 0 || g + 1 == n) ? cur[i] : (cur[i - 1] + cur[i] + cur[i + 1]) / 3.0;
    }
    cur.swap(next);
  }
  for (std::size_t i = 0; i < m; ++i) u[i] = cur[i + 1];
}
