#pragma once
#include <cstddef>
#include <vector>

namespace ref {

// Serial version on the whole array (u.size() == n).
inline void jacobi_1d(std::vector<double>& u, std::size_t n, int steps) {
  std::vector<double> next(u);
  for (int s = 0; s < steps; ++s) {
    for (std::size_t i = 1; i + 1 < n; ++i) next[i] = (u[i - 1] + u[i] + u[i + 1]) / 3.0;
    u.swap(next);
  }
}

}  // namespace ref
