// WRONG on purpose: every rank runs Kadane on its own block and the answers are combined with
// MPI_MAX, which misses every subarray that crosses a block boundary. Right at np=1; the driver
// plants the best subarray across the block boundaries of np = 2, 3 and 4, so it fails there.
#include <mpi.h>

#include <climits>
#include <cstddef>
#include <vector>

long long max_subarray_sum(std::vector<int> const& x) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::size_t n = x.size();
  const std::size_t lo = n * rank / size, hi = n * (rank + 1) / size;
  long long best = LLONG_MIN, ending = 0;
  for (std::size_t i = lo; i < hi; ++i) {
    ending = (i > lo && ending > 0) ? ending + x[i] : static_cast<long long>(x[i]);
    if (ending > best) best = ending;
  }
  long long global = 0;
  MPI_Allreduce(&best, &global, 1, MPI_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
  return global;
}
