// WRONG on purpose: each rank expands the frontier vertices among its n / size vertex ids, so the
// last n % size vertices are never expanded. n = 30002 is divisible by 1 and 2 but not by 3 or 4,
// and vertex n - 1 is the only way to a pendant vertex: fails at np=3 and 4.
#include <mpi.h>

#include <algorithm>
#include <vector>

void bfs_levels(std::vector<int> const& row_ptr, std::vector<int> const& col_idx,
                std::vector<int>& levels) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int n = static_cast<int>(row_ptr.size()) - 1;
  const int chunk = n / size;
  const int lo = rank * chunk, hi = lo + chunk;
  levels.assign(n, -1);
  levels[0] = 0;
  std::vector<int> next(n);
  for (int depth = 0;; ++depth) {
    std::fill(next.begin(), next.end(), 0);
    for (int v = lo; v < hi; ++v) {
      if (levels[v] != depth) continue;
      for (int k = row_ptr[v]; k < row_ptr[v + 1]; ++k)
        if (levels[col_idx[k]] == -1) next[col_idx[k]] = 1;
    }
    MPI_Allreduce(MPI_IN_PLACE, next.data(), n, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    bool grew = false;
    for (int w = 0; w < n; ++w) {
      if (next[w] && levels[w] == -1) {
        levels[w] = depth + 1;
        grew = true;
      }
    }
    if (!grew) break;
  }
}
