// WRONG on purpose: rank 0 merges the ranks' sorted candidate lists with std::set_union, which
// keeps a value only as often as the list holding it most often: a tie split across two blocks
// collapses into one copy. Right at np=1 (nothing to merge) and at np=2 and np=4 (the planted
// ties share a block); fails at np=3.
#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <iterator>
#include <vector>

void top_k(std::vector<int> const& x, std::size_t k, std::vector<int>& result) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::size_t n = x.size();
  std::vector<int> local(x.begin() + n * rank / size, x.begin() + n * (rank + 1) / size);
  const std::size_t keep = std::min(k, local.size());
  std::partial_sort(local.begin(), local.begin() + keep, local.end(), std::greater<int>());
  local.resize(keep);

  int count = static_cast<int>(keep);
  std::vector<int> counts(size), displs(size);
  MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::vector<int> all;
  if (rank == 0) {
    int total = 0;
    for (int r = 0; r < size; ++r) {
      displs[r] = total;
      total += counts[r];
    }
    all.resize(total);
  }
  MPI_Gatherv(local.data(), count, MPI_INT, all.data(), counts.data(), displs.data(), MPI_INT, 0,
              MPI_COMM_WORLD);
  if (rank == 0) {
    std::vector<int> merged;
    for (int r = 0; r < size; ++r) {
      std::vector<int> next;
      std::set_union(merged.begin(), merged.end(), all.begin() + displs[r],
                     all.begin() + displs[r] + counts[r], std::back_inserter(next),
                     std::greater<int>());
      merged.swap(next);
    }
    merged.resize(k);
    result = merged;
  }
}
