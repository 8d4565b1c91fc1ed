// Driver for dense_gemv: every rank gets A and x; y is checked on rank 0 only.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  const std::size_t m = WB_M, n = WB_N;
  wb::Rng rng(t.seed());
  const std::vector<double> A = rng.doubles(m * n, -1.0, 1.0);
  const std::vector<double> x = rng.doubles(n, -1.0, 1.0);
  std::vector<double> y;
  t.run([&] { gemv(A, x, y, m, n); }, [&] { ref::gemv(A, x, y, m, n); }, wb::root_only);
  t.check("y", y, 1e-9, 1e-9);
}
