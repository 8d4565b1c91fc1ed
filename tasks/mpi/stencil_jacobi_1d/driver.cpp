// Driver for stencil_jacobi_1d: each rank gets its block of the array; each rank's final block
// is checked against the same slice of the serial result.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  const int rank = t.rank(), size = t.size();
  const std::size_t n = WB_N;
  wb::Rng rng(t.seed());
  const std::vector<double> global = rng.doubles(n, 0.0, 10.0);
  const std::size_t begin = n * rank / size, end = n * (rank + 1) / size;
  std::vector<double> u(global.begin() + begin, global.begin() + end);
  t.run([&] { jacobi_1d(u, n, WB_STEPS); },
        [&] {
          std::vector<double> all = global;
          ref::jacobi_1d(all, n, WB_STEPS);
          u.assign(all.begin() + begin, all.begin() + end);
        },
        wb::every_rank);
  t.check("u (global offset " + wb::str(begin) + ")", u, 1e-9, 1e-9);
}
