#include <mpi.h>

#include <vector>

void count_smaller(std::vector<double> const& x, std::vector<int>& counts) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const long long n = static_cast<long long>(x.size());
  std::vector<int> sizes(size), displs(size);
  for (int r = 0; r < size; ++r) {
    displs[r] = static_cast<int>(n * r / size);
    sizes[r] = static_cast<int>(n * (r + 1) / size) - displs[r];
  }
  std::vector<int> local(sizes[rank]);
  for (int i = 0; i < sizes[rank]; ++i) {
    const double xi = x[displs[rank] + i];
    int c = 0;
    for (double v : x) c += v < xi;
    local[i] = c;
  }
  if (rank == 0) counts.resize(n);
  MPI_Gatherv(local.data(), sizes[rank], MPI_INT, rank == 0 ? counts.data() : nullptr,
              sizes.data(), displs.data(), MPI_INT, 0, MPI_COMM_WORLD);
}
