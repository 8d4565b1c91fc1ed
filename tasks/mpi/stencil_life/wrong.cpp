// WRONG on purpose: the halo row sent to the rank below is the block's FIRST row, not its last
// (a copy-paste slip). Right at np=1 (no neighbours) and when every block with a rank below it
// holds one row (the small edge grids); fails at np=2, 3 and 4 on the 200 x 200 grid.
#include <mpi.h>

#include <cstddef>
#include <vector>

void game_of_life(std::vector<int>& rows, std::size_t n, int generations) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  auto rows_of = [&](int r) { return n * (r + 1) / size - n * r / size; };
  const std::size_t m = rows_of(rank);
  if (m == 0) return;
  int up = MPI_PROC_NULL, down = MPI_PROC_NULL;
  for (int r = rank - 1; r >= 0 && up == MPI_PROC_NULL; --r)
    if (rows_of(r) > 0) up = r;
  for (int r = rank + 1; r < size && down == MPI_PROC_NULL; ++r)
    if (rows_of(r) > 0) down = r;

  // Local row i (0..m-1) is buffer row i + 1; rows 0 and m + 1 are the ghosts (dead by default).
  const int cnt = static_cast<int>(n);
  std::vector<int> cur((m + 2) * n, 0), next((m + 2) * n, 0);
  for (std::size_t k = 0; k < m * n; ++k) cur[n + k] = rows[k];
  for (int g = 0; g < generations; ++g) {
    MPI_Sendrecv(&cur[n], cnt, MPI_INT, up, 0, &cur[(m + 1) * n], cnt, MPI_INT, down, 0,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Sendrecv(&cur[n], cnt, MPI_INT, down, 1, &cur[0], cnt, MPI_INT, up, 1,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    for (std::size_t i = 1; i <= m; ++i) {
      for (std::size_t j = 0; j < n; ++j) {
        int live = 0;
        for (std::size_t a = i - 1; a <= i + 1; ++a) {
          const int* row = &cur[a * n];
          if (j > 0) live += row[j - 1];
          live += row[j];
          if (j + 1 < n) live += row[j + 1];
        }
        const int self = cur[i * n + j];
        live -= self;
        next[i * n + j] = (live == 3 || (self && live == 2)) ? 1 : 0;
      }
    }
    cur.swap(next);
  }
  for (std::size_t k = 0; k < m * n; ++k) rows[k] = cur[n + k];
}
