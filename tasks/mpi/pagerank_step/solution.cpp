#include <mpi.h>

#include <vector>

// Each rank pushes the rank of a block of source vertices along their out-links into a full
// length vector and sums the mass of its dangling vertices; both are summed over the ranks with
// MPI_Allreduce, so every rank can form r_new.
void pagerank_step(std::vector<int> const& row_ptr, std::vector<int> const& col_idx,
                   std::vector<double> const& r, std::vector<double>& r_new) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const double damping = 0.85;
  const int n = static_cast<int>(row_ptr.size()) - 1;
  const int lo = static_cast<int>(static_cast<long long>(n) * rank / size);
  const int hi = static_cast<int>(static_cast<long long>(n) * (rank + 1) / size);
  std::vector<double> s(n + 1, 0.0);  // s[n]: the dangling mass, reduced together with s
  for (int u = lo; u < hi; ++u) {
    const int deg = row_ptr[u + 1] - row_ptr[u];
    if (deg == 0) {
      s[n] += r[u];
      continue;
    }
    const double share = r[u] / deg;
    for (int k = row_ptr[u]; k < row_ptr[u + 1]; ++k) s[col_idx[k]] += share;
  }
  MPI_Allreduce(MPI_IN_PLACE, s.data(), n + 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  const double base = (1.0 - damping) / n + damping * s[n] / n;
  r_new.resize(n);
  for (int v = 0; v < n; ++v) r_new[v] = base + damping * s[v];
}
