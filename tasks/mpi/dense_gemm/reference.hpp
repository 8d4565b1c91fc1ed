#pragma once
#include <cstddef>
#include <vector>

namespace ref {

// C[i][j] = sum_l A[i][l] * B[l][j], each element summed in increasing l.
inline void gemm(std::vector<double> const& A, std::vector<double> const& B,
                 std::vector<double>& C, std::size_t m, std::size_t k, std::size_t n) {
  C.assign(m * n, 0.0);
  for (std::size_t i = 0; i < m; ++i) {
    double* row = &C[i * n];
    for (std::size_t l = 0; l < k; ++l) {
      const double a = A[i * k + l];
      for (std::size_t j = 0; j < n; ++j) row[j] += a * B[l * n + j];
    }
  }
}

}  // namespace ref
