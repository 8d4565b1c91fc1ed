// Driver for sort_integers: every rank gets x (with many duplicates); checked on rank 0 only.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  wb::Rng rng(WB_SEED);
  const std::vector<int> x = rng.ints(WB_N, -20000, 20000);

  std::vector<int> want, got;
  sort_ints(x, got);
  std::string error;
  if (wb::rank() == 0) {
    ref::sort_ints(x, want);
    error = wb::compare_exact("sorted", got, want);
  }
  if (wb::verdict(error)) {
    const double tc = wb::time_parallel([&] {
      std::vector<int> out;
      sort_ints(x, out);
      wb::keep(out);
    });
    const double tr = wb::time_serial([&] {
      std::vector<int> out;
      ref::sort_ints(x, out);
      wb::keep(out);
    });
    wb::report_times(tc, tr);
  }
  MPI_Finalize();
  return 0;
}
