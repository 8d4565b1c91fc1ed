// Driver for scan_prefix_sum: every rank gets x; output is checked on rank 0 only.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  wb::Rng rng(WB_SEED);
  const std::vector<double> x = rng.doubles(WB_N, -1.0, 1.0);

  std::vector<double> want, got;
  prefix_sum(x, got);
  std::string error;
  if (wb::rank() == 0) {
    ref::prefix_sum(x, want);
    error = wb::compare("output", got, want, 1e-9, 1e-9);
  }
  if (wb::verdict(error)) {
    const double tc = wb::time_parallel([&] {
      std::vector<double> out;
      prefix_sum(x, out);
      wb::keep(out);
    });
    const double tr = wb::time_serial([&] {
      std::vector<double> out;
      ref::prefix_sum(x, out);
      wb::keep(out);
    });
    wb::report_times(tc, tr);
  }
  MPI_Finalize();
  return 0;
}
