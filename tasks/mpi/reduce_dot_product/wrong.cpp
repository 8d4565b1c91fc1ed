// WRONG on purpose: every rank takes n / size elements, so the last n % size are never summed.
// n = 100000 is divisible by 1, 2 and 4 but not by 3: this fails at np=3 only.
#include <mpi.h>

#include <vector>

double dot_product(std::vector<double> const& x, std::vector<double> const& y) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::size_t chunk = x.size() / size;
  double local = 0.0;
  for (std::size_t i = rank * chunk; i < (rank + 1) * chunk; ++i) local += x[i] * y[i];
  double total = 0.0;
  MPI_Allreduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return total;
}
