// WRONG on purpose: rows are split into chunks of m / p, the last rank also takes the m % p
// leftover rows and sends them to rank 0 separately; but it sends the first leftover-many rows
// of its block (local offset 0) instead of the rows after its first chunk. Right when p divides m
// (no leftover) and when m < p (chunk 0, so offset 0 is right): m = 200 fails at np=3 only, and
// the edge cases (m = 2, m = 1) pass everywhere.
#include <mpi.h>

#include <cstddef>
#include <vector>

void gemm(std::vector<double> const& A, std::vector<double> const& B, std::vector<double>& C,
          std::size_t m, std::size_t k, std::size_t n) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::size_t chunk = m / size, extra = m % size;
  const bool last = rank == size - 1;
  const std::size_t lo = rank * chunk, hi = last ? m : lo + chunk;
  std::vector<double> local((hi - lo) * n + 1, 0.0);
  for (std::size_t i = lo; i < hi; ++i) {
    double* row = &local[(i - lo) * n];
    for (std::size_t l = 0; l < k; ++l) {
      const double a = A[i * k + l];
      for (std::size_t j = 0; j < n; ++j) row[j] += a * B[l * n + j];
    }
  }
  if (rank == 0) C.resize(m * n);
  MPI_Gather(local.data(), static_cast<int>(chunk * n), MPI_DOUBLE,
             rank == 0 ? C.data() : nullptr, static_cast<int>(chunk * n), MPI_DOUBLE, 0,
             MPI_COMM_WORLD);
  if (extra > 0) {
    const int count = static_cast<int>(extra * n);
    double* dst = rank == 0 ? C.data() + size * chunk * n : nullptr;
    if (size == 1) {
      // (never reached: p = 1 leaves no leftover)
    } else if (last) {
      MPI_Send(local.data(), count, MPI_DOUBLE, 0, 7, MPI_COMM_WORLD);
    } else if (rank == 0) {
      MPI_Recv(dst, count, MPI_DOUBLE, size - 1, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
  }
}
