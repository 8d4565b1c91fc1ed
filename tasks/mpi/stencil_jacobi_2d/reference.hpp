#pragma once
#include <cstddef>
#include <vector>

namespace ref {

inline void jacobi_2d(std::vector<double> const& grid, std::vector<double>& output, std::size_t n,
                      int steps) {
  std::vector<double> cur(grid), next(grid);
  for (int s = 0; s < steps; ++s) {
    for (std::size_t i = 1; i + 1 < n; ++i) {
      for (std::size_t j = 1; j + 1 < n; ++j) {
        next[i * n + j] = (cur[i * n + j] + cur[(i - 1) * n + j] + cur[(i + 1) * n + j] +
                           cur[i * n + j - 1] + cur[i * n + j + 1]) /
                          5.0;
      }
    }
    cur.swap(next);
  }
  output = cur;
}

}  // namespace ref
