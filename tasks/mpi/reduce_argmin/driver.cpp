// Driver for reduce_argmin. The minimum is planted twice, in the last quarter of x, so a
// candidate that returns a rank-local index or the last occurrence is caught; every rank's
// return value is checked.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  wb::Rng rng(t.seed());
  std::vector<double> x = rng.doubles(WB_N, 0.0, 100.0);
  x[3 * WB_N / 4 + 5] = -1.0;
  x[WB_N - 3] = -1.0;
  int index = -1;
  t.run([&] { index = index_of_min(x); }, [&] { index = ref::index_of_min(x); },
        wb::every_rank);
  t.check("index_of_min(x)", index);
}
