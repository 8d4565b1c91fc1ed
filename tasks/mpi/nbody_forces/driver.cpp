// Driver for nbody_forces: bodies uniform in [-1, 1]^2 with masses in [0.5, 2]; body n - 1
// (n >= 3) sits exactly on body 1. Outputs start with garbage of the wrong size; checked on rank
// 0 only. Terms of the sums reach ~1e4 and cancel, so the absolute tolerance is set from that
// scale (another summation order, or each pair computed once for both bodies, differs by ~1e-10).
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  wb::Rng rng(t.seed());
  const std::size_t n = static_cast<std::size_t>(WB_N);
  std::vector<double> x = rng.doubles(n, -1.0, 1.0);
  std::vector<double> y = rng.doubles(n, -1.0, 1.0);
  const std::vector<double> m = rng.doubles(n, 0.5, 2.0);
  if (n >= 3) {
    x[n - 1] = x[1];
    y[n - 1] = y[1];
  }
  std::vector<double> fx(2, -7.0), fy(5, -7.0);  // garbage of the wrong size
  t.run([&] { nbody_forces(x, y, m, fx, fy); }, [&] { ref::nbody_forces(x, y, m, fx, fy); },
        wb::root_only);
  t.check("fx", fx, 1e-9, 1e-7);
  t.check("fy", fy, 1e-9, 1e-7);
}
