// Driver for stencil_jacobi_2d: every rank gets the grid; output is checked on rank 0 only.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  const std::size_t n = WB_N;
  wb::Rng rng(t.seed());
  const std::vector<double> grid = rng.doubles(n * n, 0.0, 10.0);
  std::vector<double> output;
  t.run([&] { jacobi_2d(grid, output, n, WB_STEPS); },
        [&] { ref::jacobi_2d(grid, output, n, WB_STEPS); }, wb::root_only);
  t.check("output", output, 1e-9, 1e-9);
}
