// Driver for stencil_jacobi_2d: every rank gets the grid; output is checked on rank 0 only.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  const std::size_t n = WB_N;
  wb::Rng rng(WB_SEED);
  const std::vector<double> grid = rng.doubles(n * n, 0.0, 10.0);

  std::vector<double> want, got;
  jacobi_2d(grid, got, n, WB_STEPS);
  std::string error;
  if (wb::rank() == 0) {
    ref::jacobi_2d(grid, want, n, WB_STEPS);
    error = wb::compare("output", got, want, 1e-9, 1e-9);
  }
  if (wb::verdict(error)) {
    const double tc = wb::time_parallel([&] {
      std::vector<double> out;
      jacobi_2d(grid, out, n, WB_STEPS);
      wb::keep(out);
    });
    const double tr = wb::time_serial([&] {
      std::vector<double> out;
      ref::jacobi_2d(grid, out, n, WB_STEPS);
      wb::keep(out);
    });
    wb::report_times(tc, tr);
  }
  MPI_Finalize();
  return 0;
}
