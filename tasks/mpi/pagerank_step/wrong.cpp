// WRONG on purpose: the link contributions are summed over the ranks, but each rank uses only the
// dangling mass of its own block of vertices. Vertex n - 1 is always dangling, so the ranks'
// shares differ from the total whenever there is more than one rank: fails at np=2, 3 and 4.
#include <mpi.h>

#include <vector>

void pagerank_step(std::vector<int> const& row_ptr, std::vector<int> const& col_idx,
                   std::vector<double> const& r, std::vector<double>& r_new) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const double d = 0.85;
  const int n = static_cast<int>(row_ptr.size()) - 1;
  const int lo = static_cast<int>(static_cast<long long>(n) * rank / size);
  const int hi = static_cast<int>(static_cast<long long>(n) * (rank + 1) / size);
  std::vector<double> s(n, 0.0);
  double dangling = 0.0;
  for (int u = lo; u < hi; ++u) {
    const int deg = row_ptr[u + 1] - row_ptr[u];
    if (deg == 0) dangling += r[u];
    for (int k = row_ptr[u]; k < row_ptr[u + 1]; ++k) s[col_idx[k]] += r[u] / deg;
  }
  MPI_Allreduce(MPI_IN_PLACE, s.data(), n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  r_new.assign(n, 0.0);
  for (int v = 0; v < n; ++v) r_new[v] = (1.0 - d) / n + d * (s[v] + dangling / n);
}
