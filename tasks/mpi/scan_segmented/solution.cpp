// Each rank scans its block locally and summarises it as a pair (tail sum since the block's last
// head, or the whole block's sum; whether the block has a head). An exclusive scan of the pairs
// with the segmented-sum operator gives each block its carry, which is added up to the block's
// first head. The blocks are then gathered on rank 0.
#include <mpi.h>

#include <vector>

namespace {

// pair[0] = sum, pair[1] = 1.0 if the range holds a segment head. inout = in (left) . inout.
void combine_segments(void* in, void* inout, int* len, MPI_Datatype*) {
  const double* a = static_cast<const double*>(in);
  double* b = static_cast<double*>(inout);
  for (int i = 0; i < *len; ++i, a += 2, b += 2) {
    if (b[1] == 0.0) {
      b[0] += a[0];
      b[1] = a[1];
    }
  }
}

}  // namespace

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
  int first_head = m;  // local index of the block's first head (m: none)
  for (int i = 0; i < m; ++i) {
    if (flags[begin + i]) {
      if (first_head == m) first_head = i;
      sum = x[begin + i];
    } else {
      sum += x[begin + i];
    }
    local[i] = sum;
  }

  double mine[2] = {sum, first_head < m ? 1.0 : 0.0};
  double carry[2] = {0.0, 0.0};
  MPI_Datatype pair;
  MPI_Type_contiguous(2, MPI_DOUBLE, &pair);
  MPI_Type_commit(&pair);
  MPI_Op op;
  MPI_Op_create(&combine_segments, 0, &op);  // not commutative
  MPI_Exscan(mine, carry, 1, pair, op, MPI_COMM_WORLD);
  MPI_Op_free(&op);
  MPI_Type_free(&pair);
  if (rank == 0) carry[0] = 0.0;  // MPI_Exscan leaves rank 0's result undefined

  for (int i = 0; i < first_head; ++i) local[i] += carry[0];
  if (rank == 0) output.resize(n);
  MPI_Gatherv(local.data(), m, MPI_DOUBLE, rank == 0 ? output.data() : nullptr, counts.data(),
              displs.data(), MPI_DOUBLE, 0, MPI_COMM_WORLD);
}
