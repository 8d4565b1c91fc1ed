// Driver for sparse_spmv_csr: a square matrix with 0..WB_MAX_ROW_NNZ non-zeros per row (some rows
// empty, uneven work); checked on rank 0 only.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  wb::Rng rng(WB_SEED);
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

  std::vector<double> want, got;
  spmv_csr(row_ptr, col_idx, values, x, got);
  std::string error;
  if (wb::rank() == 0) {
    ref::spmv_csr(row_ptr, col_idx, values, x, want);
    error = wb::compare("y", got, want, 1e-9, 1e-9);
  }
  if (wb::verdict(error)) {
    const double tc = wb::time_parallel([&] {
      std::vector<double> y;
      spmv_csr(row_ptr, col_idx, values, x, y);
      wb::keep(y);
    });
    const double tr = wb::time_serial([&] {
      std::vector<double> y;
      ref::spmv_csr(row_ptr, col_idx, values, x, y);
      wb::keep(y);
    });
    wb::report_times(tc, tr);
  }
  MPI_Finalize();
  return 0;
}
