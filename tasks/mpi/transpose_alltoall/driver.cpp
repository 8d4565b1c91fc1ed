// Driver for transpose_alltoall: each rank gets its block of rows of A; each rank's block of
// rows of the transpose is checked (exactly: a transpose only moves values) against the same
// slice of the serial transpose. out starts with garbage of the wrong size.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  const std::size_t p = static_cast<std::size_t>(t.size()), r = static_cast<std::size_t>(t.rank());
  const std::size_t m = WB_M, n = WB_N;
  wb::Rng rng(t.seed());
  const std::vector<double> A = rng.doubles(m * n, -100.0, 100.0);
  const std::size_t row_begin = m * r / p, row_end = m * (r + 1) / p;
  const std::vector<double> local(A.begin() + row_begin * n, A.begin() + row_end * n);
  const std::size_t out_begin = n * r / p, out_end = n * (r + 1) / p;
  std::vector<double> out(3, -7.0);  // garbage
  t.run([&] { transpose(local, out, m, n); },
        [&] {
          std::vector<double> T;
          ref::transpose(A, T, m, n);
          out.assign(T.begin() + out_begin * m, T.begin() + out_end * m);
        },
        wb::every_rank);
  t.check("out (rows of the transpose from " + wb::str(out_begin) + ")", out, 0.0, 0.0);
}
