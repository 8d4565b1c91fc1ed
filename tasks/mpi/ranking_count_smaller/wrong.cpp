// WRONG on purpose: blocks of n / size elements gathered with MPI_Gather; the last n % size
// entries are never computed. n = 4002 is divisible by 1, 2 and 3 but not 4: fails at np=4 only.
#include <mpi.h>

#include <vector>

void count_smaller(std::vector<double> const& x, std::vector<int>& counts) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::size_t chunk = x.size() / size;
  std::vector<int> local(chunk);
  for (std::size_t i = 0; i < chunk; ++i) {
    const double xi = x[rank * chunk + i];
    int c = 0;
    for (double v : x) c += v < xi;
    local[i] = c;
  }
  if (rank == 0) counts.assign(x.size(), 0);
  MPI_Gather(local.data(), static_cast<int>(chunk), MPI_INT, rank == 0 ? counts.data() : nullptr,
             static_cast<int>(chunk), MPI_INT, 0, MPI_COMM_WORLD);
}
