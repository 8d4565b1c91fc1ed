// WRONG on purpose: blocks of n / size bodies gathered with MPI_Gather, so the forces on the last
// n % size bodies stay 0. n = 2001 is divisible by 1 and 3 but not by 2 or 4 (and the edge case
// n = 3 leaves a remainder at np=2 and 4 too): fails at np=2 and 4.
#include <mpi.h>

#include <cmath>
#include <vector>

void nbody_forces(std::vector<double> const& x, std::vector<double> const& y,
                  std::vector<double> const& m, std::vector<double>& fx,
                  std::vector<double>& fy) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const double eps = 0.01;
  const std::size_t n = x.size();
  const std::size_t chunk = n / size;
  std::vector<double> lx(chunk), ly(chunk);
  for (std::size_t a = 0; a < chunk; ++a) {
    const std::size_t i = rank * chunk + a;
    for (std::size_t j = 0; j < n; ++j) {
      if (j == i) continue;
      const double dx = x[j] - x[i], dy = y[j] - y[i];
      const double r2 = dx * dx + dy * dy + eps * eps;
      const double f = m[i] * m[j] / std::pow(r2, 1.5);
      lx[a] += f * dx;
      ly[a] += f * dy;
    }
  }
  if (rank == 0) {
    fx.assign(n, 0.0);
    fy.assign(n, 0.0);
  }
  MPI_Gather(lx.data(), static_cast<int>(chunk), MPI_DOUBLE, rank == 0 ? fx.data() : nullptr,
             static_cast<int>(chunk), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  MPI_Gather(ly.data(), static_cast<int>(chunk), MPI_DOUBLE, rank == 0 ? fy.data() : nullptr,
             static_cast<int>(chunk), MPI_DOUBLE, 0, MPI_COMM_WORLD);
}
