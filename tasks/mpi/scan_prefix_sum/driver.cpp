// Driver for scan_prefix_sum: every rank gets x; output is checked on rank 0 only.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  wb::Rng rng(t.seed());
  const std::vector<double> x = rng.doubles(WB_N, -1.0, 1.0);
  std::vector<double> output;
  t.run([&] { prefix_sum(x, output); }, [&] { ref::prefix_sum(x, output); }, wb::root_only);
  t.check("output", output, 1e-9, 1e-9);
}
