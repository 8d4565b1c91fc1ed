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
  MPI_Exscan(&sum, &offset, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) offset = 0.0;  // MPI_Exscan leaves rank 0's result undefined.
  for (double& v : local) v += offset;
  if (rank == 0) output.resize(n);
  MPI_Gatherv(local.data(), counts[rank], MPI_DOUBLE, rank == 0 ? output.data() : nullptr,
              counts.data(), displs.data(), MPI_DOUBLE, 0, MPI_COMM_WORLD);
}
