// WRONG on purpose: each rank's offset is only its left neighbour's block total, not the sum of
// all blocks to its left. Right at np=1 and np=2 (one block to the left at most); fails at 3, 4.
#include <mpi.h>

#include <vector>

void prefix_sum(std::vector<double> const& x, std::vector<double>& output) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int n = static_cast<int>(x.size());
  std::vector<int> counts(size), displs(size);
  for (int r = 0; r < size; ++r) {
    displs[r] = static_cast<int>(static_cast<long long>(n) * r / size);
    counts[r] = static_cast<int>(static_cast<long long>(n) * (r + 1) / size) - displs[r];
  }
  std::vector<double> local(counts[rank]);
  double sum = 0.0;
  for (int i = 0; i < counts[rank]; ++i) {
    sum += x[displs[rank] + i];
    local[i] = sum;
  }
  double offset = 0.0;
  const int right = rank + 1 < size ? rank + 1 : MPI_PROC_NULL;
  const int left = rank > 0 ? rank - 1 : MPI_PROC_NULL;
  MPI_Sendrecv(&sum, 1, MPI_DOUBLE, right, 0, &offset, 1, MPI_DOUBLE, left, 0, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
  for (double& v : local) v += offset;
  if (rank == 0) output.resize(n);
  MPI_Gatherv(local.data(), counts[rank], MPI_DOUBLE, rank == 0 ? output.data() : nullptr,
              counts.data(), displs.data(), MPI_DOUBLE, 0, MPI_COMM_WORLD);
}
