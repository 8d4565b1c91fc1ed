#pragma once
#include <cstddef>
#include <vector>

namespace ref {

// Serial version on the whole matrix: A is m x n row-major, T becomes its n x m transpose.
inline void transpose(std::vector<double> const& A, std::vector<double>& T, std::size_t m,
                      std::size_t n) {
  T.assign(n * m, 0.0);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) T[j * m + i] = A[i * n + j];
}

}  // namespace ref
