// Driver for pagerank_step: about one vertex in eight is dangling, vertex n - 1 always is; the
// others have 1..min(12, n - 1) distinct out-links (self-links possible). r is random, positive
// and sums to 1. r_new starts with garbage of the wrong size; every rank's r_new is checked.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  wb::Rng rng(t.seed());
  const int n = static_cast<int>(WB_N);
  std::vector<int> row_ptr(n + 1, 0), col_idx;
  for (int u = 0; u < n; ++u) {
    const bool dangling = u == n - 1 || rng.integer(0, 7) == 0;
    const int most = n - 1 < 12 ? n - 1 : 12;  // fewer than n: not every link everywhere
    const int deg = dangling ? 0 : static_cast<int>(rng.integer(1, most));
    const int first = static_cast<int>(col_idx.size());
    while (static_cast<int>(col_idx.size()) - first < deg) {
      const int v = static_cast<int>(rng.integer(0, n - 1));
      bool seen = false;
      for (int k = first; k < static_cast<int>(col_idx.size()); ++k) seen = seen || col_idx[k] == v;
      if (!seen) col_idx.push_back(v);
    }
    row_ptr[u + 1] = static_cast<int>(col_idx.size());
  }
  std::vector<double> r = rng.doubles(n, 0.5, 1.5);
  double total = 0.0;
  for (double v : r) total += v;
  for (double& v : r) v /= total;
  std::vector<double> r_new(2, -7.0);  // garbage of the wrong size
  t.run([&] { pagerank_step(row_ptr, col_idx, r, r_new); },
        [&] { ref::pagerank_step(row_ptr, col_idx, r, r_new); }, wb::every_rank);
  t.check("r_new", r_new, 1e-9, 1e-14);
}
