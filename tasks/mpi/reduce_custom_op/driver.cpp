// Driver for reduce_custom_op (maximum subarray sum). For n >= 8 the values are small integers
// with a slightly negative mean, except in a planted stretch [3n/10, 7n/10) with a positive
// mean: the best subarray then lies around that stretch and crosses every block boundary at
// np = 2, 3 and 4, so combining only per-block answers fails. For n < 8 (the edge cases) every
// value is negative, so the answer is the largest element (not 0, the empty subarray). Every
// rank's return value is checked.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  const std::size_t n = WB_N;
  wb::Rng rng(t.seed());
  std::vector<int> x(n);
  if (n < 8) {
    for (int& v : x) v = static_cast<int>(rng.integer(-50, -1));
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      const bool planted = i >= 3 * n / 10 && i < 7 * n / 10;
      x[i] = planted ? static_cast<int>(rng.integer(-9, 10)) : static_cast<int>(rng.integer(-10, 9));
    }
  }
  long long best = -7;
  t.run([&] { best = max_subarray_sum(x); }, [&] { best = ref::max_subarray_sum(x); },
        wb::every_rank);
  t.check("max_subarray_sum(x)", best);
}
