// Driver for sparse_spmv_csr: a square matrix with 0..WB_MAX_ROW_NNZ non-zeros per row (some rows
// empty, uneven work); checked on rank 0 only.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  wb::Rng rng(t.seed());
  const int rows = WB_ROWS;
  std::vector<int> row_ptr(rows + 1, 0), col_idx;
  std::vector<double> values;
  for (int i = 0; i < rows; ++i) {
    const int nnz = static_cast<int>(rng.integer(0, WB_MAX_ROW_NNZ));
    for (int k = 0; k < nnz; ++k) {
      col_idx.push_back(static_cast<int>(rng.integer(0, rows - 1)));
      values.push_back(rng.uniform(-1.0, 1.0));
    }
    row_ptr[i + 1] = static_cast<int>(col_idx.size());
  }
  const std::vector<double> x = rng.doubles(rows, -1.0, 1.0);
  std::vector<double> y;
  t.run([&] { spmv_csr(row_ptr, col_idx, values, x, y); },
        [&] { ref::spmv_csr(row_ptr, col_idx, values, x, y); }, wb::root_only);
  t.check("y", y, 1e-9, 1e-9);
}
