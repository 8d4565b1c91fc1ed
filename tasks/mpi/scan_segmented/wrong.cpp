// WRONG on purpose: each block's carry is only its left neighbour's tail sum; when that
// neighbour's block holds no segment head, the carry coming into the neighbour is lost. Right
// at np=1 and np=2 (rank 0's block starts with a head); fails at np=3 and np=4, where a
// segment spans a whole block.
#include <mpi.h>

#include <vector>

void segmented_prefix_sum(std::vector<double> const& x, std::vector<int> const& flags,
                          std::vector<double>& output) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const long long n = static_cast<long long>(x.size());
  std::vector<int> counts(size), displs(size);
  for (int r = 0; r < size; ++r) {
    displs[r] = static_cast<int>(n * r / size);
    counts[r] = static_cast<int>(n * (r + 1) / size) - displs[r];
  }
  const int begin = displs[rank], m = counts[rank];

  std::vector<double> local(m);
  double sum = 0.0;
  int first_head = m;
  for (int i = 0; i < m; ++i) {
    if (flags[begin + i]) {
      if (first_head == m) first_head = i;
      sum = x[begin + i];
    } else {
      sum += x[begin + i];
    }
    local[i] = sum;
  }

  double carry = 0.0;
  const int right = rank + 1 < size ? rank + 1 : MPI_PROC_NULL;
  const int left = rank > 0 ? rank - 1 : MPI_PROC_NULL;
  MPI_Sendrecv(&sum, 1, MPI_DOUBLE, right, 0, &carry, 1, MPI_DOUBLE, left, 0, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
  for (int i = 0; i < first_head; ++i) local[i] += carry;
  if (rank == 0) output.resize(n);
  MPI_Gatherv(local.data(), m, MPI_DOUBLE, rank == 0 ? output.data() : nullptr, counts.data(),
              displs.data(), MPI_DOUBLE, 0, MPI_COMM_WORLD);
}
