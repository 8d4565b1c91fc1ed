#include <mpi.h>

#include <cstddef>
#include <vector>

void gemm(std::vector<double> const& A, std::vector<double> const& B, std::vector<double>& C,
          std::size_t m, std::size_t k, std::size_t n) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  // Rank r computes rows [m*r/p, m*(r+1)/p) of C; rank 0 gathers them.
  std::vector<int> counts(size), displs(size);
  for (int r = 0; r < size; ++r) {
    const std::size_t lo = m * r / size, hi = m * (r + 1) / size;
    displs[r] = static_cast<int>(lo * n);
    counts[r] = static_cast<int>((hi - lo) * n);
  }
  const std::size_t lo = m * rank / size, hi = m * (rank + 1) / size;
  std::vector<double> local((hi - lo) * n + 1, 0.0);
  for (std::size_t i = lo; i < hi; ++i) {
    double* row = &local[(i - lo) * n];
    for (std::size_t l = 0; l < k; ++l) {
      const double a = A[i * k + l];
      const double* b = &B[l * n];
      for (std::size_t j = 0; j < n; ++j) row[j] += a * b[j];
    }
  }
  if (rank == 0) C.resize(m * n);
  MPI_Gatherv(local.data(), counts[rank], MPI_DOUBLE, rank == 0 ? C.data() : nullptr,
              counts.data(), displs.data(), MPI_DOUBLE, 0, MPI_COMM_WORLD);
}
