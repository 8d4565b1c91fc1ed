#include <mpi.h>

#include <cmath>
#include <vector>

// Each rank computes the forces on a block of the bodies (against all bodies); rank 0 gathers
// the blocks with MPI_Gatherv.
void nbody_forces(std::vector<double> const& x, std::vector<double> const& y,
                  std::vector<double> const& m, std::vector<double>& fx,
                  std::vector<double>& fy) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const double eps2 = 1e-4;
  const long long n = static_cast<long long>(x.size());
  std::vector<int> counts(size), displs(size);
  for (int r = 0; r < size; ++r) {
    displs[r] = static_cast<int>(n * r / size);
    counts[r] = static_cast<int>(n * (r + 1) / size) - displs[r];
  }
  const int lo = displs[rank], mine = counts[rank];
  std::vector<double> lx(mine), ly(mine);
  for (int a = 0; a < mine; ++a) {
    const int i = lo + a;
    double sx = 0.0, sy = 0.0;
    for (long long j = 0; j < n; ++j) {
      const double dx = x[j] - x[i], dy = y[j] - y[i];
      const double s = dx * dx + dy * dy + eps2;  // j == i adds 0: dx = dy = 0
      const double w = m[j] / (s * std::sqrt(s));
      sx += w * dx;
      sy += w * dy;
    }
    lx[a] = m[i] * sx;
    ly[a] = m[i] * sy;
  }
  if (rank == 0) {
    fx.resize(n);
    fy.resize(n);
  }
  MPI_Gatherv(lx.data(), mine, MPI_DOUBLE, rank == 0 ? fx.data() : nullptr, counts.data(),
              displs.data(), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  MPI_Gatherv(ly.data(), mine, MPI_DOUBLE, rank == 0 ? fy.data() : nullptr, counts.data(),
              displs.data(), MPI_DOUBLE, 0, MPI_COMM_WORLD);
}
