#pragma once
#include <cstddef>
#include <vector>

namespace ref {

inline void gemv(std::vector<double> const& A, std::vector<double> const& x,
                 std::vector<double>& y, std::size_t m, std::size_t n) {
  y.assign(m, 0.0);
  for (std::size_t i = 0; i < m; ++i) {
    double sum = 0.0;
    for (std::size_t j = 0; j < n; ++j) sum += A[i * n + j] * x[j];
    y[i] = sum;
  }
}

}  // namespace ref
