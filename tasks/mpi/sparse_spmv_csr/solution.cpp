#include <mpi.h>

#include <vector>

void spmv_csr(std::vector<int> const& row_ptr, std::vector<int> const& col_idx,
              std::vector<double> const& values, std::vector<double> const& x,
              std::vector<double>& y) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const long long rows = static_cast<long long>(row_ptr.size()) - 1;
  std::vector<int> counts(size), displs(size);
  for (int r = 0; r < size; ++r) {
    displs[r] = static_cast<int>(rows * r / size);
    counts[r] = static_cast<int>(rows * (r + 1) / size) - displs[r];
  }
  std::vector<double> local(counts[rank]);
  for (int i = 0; i < counts[rank]; ++i) {
    const int row = displs[rank] + i;
    double sum = 0.0;
    for (int k = row_ptr[row]; k < row_ptr[row + 1]; ++k) sum += values[k] * x[col_idx[k]];
    local[i] = sum;
  }
  if (rank == 0) y.resize(rows);
  MPI_Gatherv(local.data(), counts[rank], MPI_DOUBLE, rank == 0 ? y.data() : nullptr,
              counts.data(), displs.data(), MPI_DOUBLE, 0, MPI_COMM_WORLD);
}
