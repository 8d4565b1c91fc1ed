// Driver for integrate_trapezoid: a in [0, 2], b = a + [4, 10] from the seed (f > 0 on most of
// [a, b], so the integral is far from 0 and a relative tolerance means something). Every rank's
// return value is checked. Tolerance: the n + 1 terms are O(1..15) and mostly positive, so any
// summation order (per-rank partial sums, pairwise, x += h stepping) stays within ~n * eps ~ 1e-10
// relative of the serial sum; rtol 1e-8 leaves room for that, while one missing or doubled
// interval changes the result by ~h * f / integral ~ 1 / n = 2.5e-6 relative at n = 400000.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  const long long n = WB_N;
  wb::Rng rng(t.seed());
  const double a = rng.uniform(0.0, 2.0);
  const double b = a + rng.uniform(4.0, 10.0);
  double result = -7.0;
  t.run([&] { result = integrate_trapezoid(a, b, n); },
        [&] { result = ref::integrate_trapezoid(a, b, n); }, wb::every_rank);
  t.check("integrate_trapezoid(a=" + wb::str(a) + ", b=" + wb::str(b) + ", n=" + wb::str(n) + ")",
          result, 1e-8, 1e-12);
}
