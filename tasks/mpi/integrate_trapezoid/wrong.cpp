// WRONG on purpose: each rank integrates n / p intervals and the n % p leftover intervals at the
// right end of [a, b] are never integrated. n = 400000 is divisible by 1, 2 and 4 but not by 3,
// and the edge case n = 2 leaves every interval over at np=3 and np=4: fails at np=3 and np=4.
#include <mpi.h>

#include <cmath>

namespace {
double f(double x) { return std::sin(x) * std::exp(-x / 5.0) + x * x / 10.0; }
}  // namespace

double integrate_trapezoid(double a, double b, long long n) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const double h = (b - a) / static_cast<double>(n);
  const long long chunk = n / size;
  const long long first = rank * chunk;
  double sum = 0.0;
  for (long long i = first; i < first + chunk; ++i) {
    const double x0 = a + static_cast<double>(i) * h, x1 = a + static_cast<double>(i + 1) * h;
    sum += 0.5 * (f(x0) + f(x1));
  }
  double total = 0.0;
  MPI_Allreduce(&sum, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return h * total;
}
