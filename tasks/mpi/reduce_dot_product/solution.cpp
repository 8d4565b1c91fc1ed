#include <mpi.h>

#include <vector>

double dot_product(std::vector<double> const& x, std::vector<double> const& y) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::size_t n = x.size();
  const std::size_t begin = n * rank / size, end = n * (rank + 1) / size;
  double local = 0.0;
  for (std::size_t i = begin; i < end; ++i) local += x[i] * y[i];
  double total = 0.0;
  MPI_Allreduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return total;
}
