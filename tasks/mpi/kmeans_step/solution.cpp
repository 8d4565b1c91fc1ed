#include <mpi.h>

#include <vector>

// Each rank assigns a block of the points and accumulates per-cluster sums and counts; the
// partial sums and counts are added up on rank 0, which forms the means.
void kmeans_step(std::vector<double> const& points, std::vector<double> const& centroids, int n,
                 int d, int k, std::vector<double>& new_centroids, std::vector<int>& counts) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const long long lo = static_cast<long long>(n) * rank / size;
  const long long hi = static_cast<long long>(n) * (rank + 1) / size;
  const std::size_t kd = static_cast<std::size_t>(k) * d;
  std::vector<double> sums(kd, 0.0), total_sums(rank == 0 ? kd : 0);
  std::vector<int> local_counts(k, 0);
  for (long long i = lo; i < hi; ++i) {
    const double* p = &points[static_cast<std::size_t>(i) * d];
    int best = 0;
    double best_dist = 0.0;
    for (int c = 0; c < k; ++c) {
      const double* q = &centroids[static_cast<std::size_t>(c) * d];
      double dist = 0.0;
      for (int j = 0; j < d; ++j) {
        const double diff = p[j] - q[j];
        dist += diff * diff;
      }
      if (c == 0 || dist < best_dist) {  // strict: ties keep the lower index
        best = c;
        best_dist = dist;
      }
    }
    ++local_counts[best];
    for (int j = 0; j < d; ++j) sums[static_cast<std::size_t>(best) * d + j] += p[j];
  }
  if (rank == 0) counts.assign(k, 0);
  MPI_Reduce(sums.data(), rank == 0 ? total_sums.data() : nullptr, static_cast<int>(kd),
             MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  MPI_Reduce(local_counts.data(), rank == 0 ? counts.data() : nullptr, k, MPI_INT, MPI_SUM, 0,
             MPI_COMM_WORLD);
  if (rank != 0) return;
  new_centroids.assign(centroids.begin(), centroids.end());
  for (int c = 0; c < k; ++c) {
    if (counts[c] == 0) continue;
    for (int j = 0; j < d; ++j) {
      const std::size_t at = static_cast<std::size_t>(c) * d + j;
      new_centroids[at] = total_sums[at] / counts[c];
    }
  }
}
