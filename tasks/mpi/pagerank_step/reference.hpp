#pragma once
#include <vector>

namespace ref {

inline void pagerank_step(std::vector<int> const& row_ptr, std::vector<int> const& col_idx,
                          std::vector<double> const& r, std::vector<double>& r_new) {
  const double damping = 0.85;
  const int n = static_cast<int>(row_ptr.size()) - 1;
  std::vector<double> s(n, 0.0);
  double dangling = 0.0;
  for (int u = 0; u < n; ++u) {
    const int deg = row_ptr[u + 1] - row_ptr[u];
    if (deg == 0) {
      dangling += r[u];
      continue;
    }
    const double share = r[u] / deg;
    for (int k = row_ptr[u]; k < row_ptr[u + 1]; ++k) s[col_idx[k]] += share;
  }
  r_new.assign(n, 0.0);
  for (int v = 0; v < n; ++v) r_new[v] = (1.0 - damping) / n + damping * (s[v] + dangling / n);
}

}  // namespace ref
