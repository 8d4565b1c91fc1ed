// Driver for dense_gemv: every rank gets A and x; y is checked on rank 0 only.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  const std::size_t m = WB_M, n = WB_N;
  wb::Rng rng(WB_SEED);
  const std::vector<double> A = rng.doubles(m * n, -1.0, 1.0);
  const std::vector<double> x = rng.doubles(n, -1.0, 1.0);

  std::vector<double> want, got;
  gemv(A, x, got, m, n);
  std::string error;
  if (wb::rank() == 0) {
    ref::gemv(A, x, want, m, n);
    error = wb::compare("y", got, want, 1e-9, 1e-9);
  }
  if (wb::verdict(error)) {
    const double tc = wb::time_parallel([&] {
      std::vector<double> y;
      gemv(A, x, y, m, n);
      wb::keep(y);
    });
    const double tr = wb::time_serial([&] {
      std::vector<double> y;
      ref::gemv(A, x, y, m, n);
      wb::keep(y);
    });
    wb::report_times(tc, tr);
  }
  MPI_Finalize();
  return 0;
}
