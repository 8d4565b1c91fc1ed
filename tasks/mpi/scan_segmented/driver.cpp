// Driver for scan_segmented: every rank gets x and flags; output is checked on rank 0 only.
// Traps: no segment head in the middle three fifths of x, so one segment spans a whole block at
// np=3 and two whole blocks at np=4 (a carry must pass through blocks without a head); short
// inputs (the edge cases, fewer elements than ranks among them) get dense heads instead.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  const std::size_t n = WB_N;
  wb::Rng rng(t.seed());
  const std::vector<double> x = rng.doubles(n, -1.0, 1.0);
  const long long one_in = n < 1000 ? 3 : 64;  // a head on average every one_in elements
  std::vector<int> flags(n, 0);
  for (std::size_t i = 0; i < n; ++i) flags[i] = rng.integer(1, one_in) == 1 ? 1 : 0;
  if (n >= 1000)
    for (std::size_t i = n / 5; i < 4 * n / 5; ++i) flags[i] = 0;
  if (n) flags[0] = 1;
  std::vector<double> output(5, -7.0);  // garbage on entry
  t.run([&] { segmented_prefix_sum(x, flags, output); },
        [&] { ref::segmented_prefix_sum(x, flags, output); }, wb::root_only);
  t.check("output", output, 1e-9, 1e-8);
}
