// WRONG on purpose: sorts each block and gathers the sorted blocks without merging them. Right at
// np=1 (one block); fails at np=2, 3 and 4.
#include <mpi.h>

#include <algorithm>
#include <vector>

void sort_ints(std::vector<int> const& x, std::vector<int>& sorted) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::size_t n = x.size();
  std::vector<int> counts(size), displs(size);
  for (int r = 0; r < size; ++r) {
    displs[r] = static_cast<int>(n * r / size);
    counts[r] = static_cast<int>(n * (r + 1) / size) - displs[r];
  }
  std::vector<int> local(x.begin() + displs[rank], x.begin() + displs[rank] + counts[rank]);
  std::sort(local.begin(), local.end());
  if (rank == 0) sorted.resize(n);
  MPI_Gatherv(local.data(), counts[rank], MPI_INT, rank == 0 ? sorted.data() : nullptr,
              counts.data(), displs.data(), MPI_INT, 0, MPI_COMM_WORLD);
}
