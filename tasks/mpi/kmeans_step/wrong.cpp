// WRONG on purpose: every rank turns its own block into local means (an empty local cluster
// keeps the old centroid) and rank 0 averages these means over the ranks, which is not the mean
// of the cluster unless every rank holds the same share of it. The counts are right. Correct at
// np=1 only: fails at np=2, 3 and 4.
#include <mpi.h>

#include <vector>

void kmeans_step(std::vector<double> const& points, std::vector<double> const& centroids, int n,
                 int d, int k, std::vector<double>& new_centroids, std::vector<int>& counts) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const long long lo = static_cast<long long>(n) * rank / size;
  const long long hi = static_cast<long long>(n) * (rank + 1) / size;
  const std::size_t kd = static_cast<std::size_t>(k) * d;
  std::vector<double> local(kd, 0.0);
  std::vector<int> local_counts(k, 0);
  for (long long i = lo; i < hi; ++i) {
    const double* p = &points[static_cast<std::size_t>(i) * d];
    int best = 0;
    double best_dist = 0.0;
    for (int c = 0; c < k; ++c) {
      double dist = 0.0;
      for (int j = 0; j < d; ++j) {
        const double diff = p[j] - centroids[static_cast<std::size_t>(c) * d + j];
        dist += diff * diff;
      }
      if (c == 0 || dist < best_dist) {
        best = c;
        best_dist = dist;
      }
    }
    ++local_counts[best];
    for (int j = 0; j < d; ++j) local[static_cast<std::size_t>(best) * d + j] += p[j];
  }
  for (int c = 0; c < k; ++c) {
    for (int j = 0; j < d; ++j) {
      const std::size_t at = static_cast<std::size_t>(c) * d + j;
      local[at] = local_counts[c] > 0 ? local[at] / local_counts[c] : centroids[at];
    }
  }
  if (rank == 0) {
    new_centroids.assign(kd, 0.0);
    counts.assign(k, 0);
  }
  MPI_Reduce(local.data(), rank == 0 ? new_centroids.data() : nullptr, static_cast<int>(kd),
             MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  MPI_Reduce(local_counts.data(), rank == 0 ? counts.data() : nullptr, k, MPI_INT, MPI_SUM, 0,
             MPI_COMM_WORLD);
  if (rank == 0)
    for (double& v : new_centroids) v /= size;
}
