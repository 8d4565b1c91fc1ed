// Driver for reduce_argmin. The minimum is planted twice, in the last quarter of x, so a
// candidate that returns a rank-local index or the last occurrence is caught.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  wb::Rng rng(WB_SEED);
  std::vector<double> x = rng.doubles(WB_N, 0.0, 100.0);
  x[3 * WB_N / 4 + 5] = -1.0;
  x[WB_N - 3] = -1.0;

  const int want = ref::index_of_min(x);
  const int got = index_of_min(x);
  if (wb::verdict(wb::compare_exact("index_of_min(x)", got, want))) {
    const double tc = wb::time_parallel([&] { wb::keep(index_of_min(x)); });
    const double tr = wb::time_serial([&] { wb::keep(ref::index_of_min(x)); });
    wb::report_times(tc, tr);
  }
  MPI_Finalize();
  return 0;
}
