// Driver for reduce_dot_product: every rank gets x, y; every rank's return value is checked.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  wb::Rng rng(t.seed());
  const std::vector<double> x = rng.doubles(WB_N, -1.0, 1.0);
  const std::vector<double> y = rng.doubles(WB_N, -1.0, 1.0);
  double result = 0.0;
  t.run([&] { result = dot_product(x, y); }, [&] { result = ref::dot_product(x, y); },
        wb::every_rank);
  t.check("dot_product(x, y)", result, 1e-9, 1e-9);
}
