// Each rank selects the min(k, block size) largest values of its block, sorted descending; rank 0
// gathers these candidate lists and keeps the k largest of their union (a multiset: ties kept).
#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <functional>
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
    std::partial_sort(all.begin(), all.begin() + k, all.end(), std::greater<int>());
    all.resize(k);
    result = all;
  }
}
