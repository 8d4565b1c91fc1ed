#include <mpi.h>

#include <vector>

// Level-synchronous BFS: the current frontier (known to every rank) is split into blocks, each
// rank expands its block, and the newly found vertices are merged with MPI_Allgatherv.
void bfs_levels(std::vector<int> const& row_ptr, std::vector<int> const& col_idx,
                std::vector<int>& levels) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int n = static_cast<int>(row_ptr.size()) - 1;
  levels.assign(n, -1);
  levels[0] = 0;
  std::vector<int> frontier(1, 0), found, next, all;
  std::vector<int> counts(size), displs(size);
  for (int depth = 0; !frontier.empty(); ++depth) {
    const long long f = static_cast<long long>(frontier.size());
    const long long lo = f * rank / size, hi = f * (rank + 1) / size;
    found.clear();
    for (long long i = lo; i < hi; ++i) {
      const int v = frontier[i];
      for (int k = row_ptr[v]; k < row_ptr[v + 1]; ++k) {
        const int w = col_idx[k];
        if (levels[w] == -1) {
          levels[w] = -2;  // found here already: listed once
          found.push_back(w);
        }
      }
    }
    int mine = static_cast<int>(found.size());
    MPI_Allgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
    int total = 0;
    for (int r = 0; r < size; ++r) {
      displs[r] = total;
      total += counts[r];
    }
    all.resize(total);
    MPI_Allgatherv(found.data(), mine, MPI_INT, all.data(), counts.data(), displs.data(), MPI_INT,
                   MPI_COMM_WORLD);
    next.clear();
    for (int w : all) {
      if (levels[w] < 0) {
        levels[w] = depth + 1;
        next.push_back(w);
      }
    }
    frontier.swap(next);
  }
}
