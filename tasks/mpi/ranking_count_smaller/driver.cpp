// Driver for ranking_count_smaller: values are whole numbers in [0, 500) so ties are common and
// `<` vs `<=` matters; checked on rank 0 only.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  wb::Rng rng(WB_SEED);
  std::vector<double> x(WB_N);
  for (double& v : x) v = static_cast<double>(rng.integer(0, 499));

  std::vector<int> want, got;
  count_smaller(x, got);
  std::string error;
  if (wb::rank() == 0) {
    ref::count_smaller(x, want);
    error = wb::compare_exact("counts", got, want);
  }
  if (wb::verdict(error)) {
    const double tc = wb::time_parallel([&] {
      std::vector<int> out;
      count_smaller(x, out);
      wb::keep(out);
    });
    const double tr = wb::time_serial([&] {
      std::vector<int> out;
      ref::count_smaller(x, out);
      wb::keep(out);
    });
    wb::report_times(tc, tr);
  }
  MPI_Finalize();
  return 0;
}
