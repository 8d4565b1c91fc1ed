// Driver for reduce_dot_product: every rank gets x, y; every rank's return value is checked.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  wb::Rng rng(WB_SEED);
  const std::vector<double> x = rng.doubles(WB_N, -1.0, 1.0);
  const std::vector<double> y = rng.doubles(WB_N, -1.0, 1.0);

  const double want = ref::dot_product(x, y);
  const double got = dot_product(x, y);
  if (wb::verdict(wb::compare("dot_product(x, y)", got, want, 1e-9, 1e-9))) {
    const double tc = wb::time_parallel([&] { wb::keep(dot_product(x, y)); });
    const double tr = wb::time_serial([&] { wb::keep(ref::dot_product(x, y)); });
    wb::report_times(tc, tr);
  }
  MPI_Finalize();
  return 0;
}
