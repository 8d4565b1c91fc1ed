#pragma once
#include <vector>

namespace ref {

inline void spmv_csr(std::vector<int> const& row_ptr, std::vector<int> const& col_idx,
                     std::vector<double> const& values, std::vector<double> const& x,
                     std::vector<double>& y) {
  const std::size_t rows = row_ptr.size() - 1;
  y.assign(rows, 0.0);
  for (std::size_t i = 0; i < rows; ++i) {
    double sum = 0.0;
    for (int k = row_ptr[i]; k < row_ptr[i + 1]; ++k) sum += values[k] * x[col_idx[k]];
    y[i] = sum;
  }
}

}  // namespace ref
