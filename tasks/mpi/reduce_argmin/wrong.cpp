// WRONG on purpose: reduces the rank-local index instead of the global one. Correct at np=1;
// the planted minimum lies outside rank 0's block for np >= 2, so it fails at np=2, 3 and 4.
#include <mpi.h>

#include <vector>

int index_of_min(std::vector<double> const& x) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::size_t n = x.size();
  const std::size_t begin = n * rank / size, end = n * (rank + 1) / size;
  struct {
    double value;
    int index;
  } local{1e300, 0}, best{};
  for (std::size_t i = begin; i < end; ++i) {
    if (x[i] < local.value) {
      local.value = x[i];
      local.index = static_cast<int>(i - begin);
    }
  }
  MPI_Allreduce(&local, &best, 1, MPI_DOUBLE_INT, MPI_MINLOC, MPI_COMM_WORLD);
  return best.index;
}
