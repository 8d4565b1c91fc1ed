#pragma once
#include <vector>

namespace ref {

inline void kmeans_step(std::vector<double> const& points, std::vector<double> const& centroids,
                        int n, int d, int k, std::vector<double>& new_centroids,
                        std::vector<int>& counts) {
  std::vector<double> sums(static_cast<std::size_t>(k) * d, 0.0);
  counts.assign(k, 0);
  for (int i = 0; i < n; ++i) {
    const double* p = &points[static_cast<std::size_t>(i) * d];
    int best = 0;
    double best_dist = 0.0;
    for (int c = 0; c < k; ++c) {
      const double* q = &centroids[static_cast<std::size_t>(c) * d];
      double dist = 0.0;
      for (int j = 0; j < d; ++j) dist += (p[j] - q[j]) * (p[j] - q[j]);
      if (c == 0 || dist < best_dist) {
        best = c;
        best_dist = dist;
      }
    }
    ++counts[best];
    for (int j = 0; j < d; ++j) sums[static_cast<std::size_t>(best) * d + j] += p[j];
  }
  new_centroids.assign(centroids.begin(), centroids.end());
  for (int c = 0; c < k; ++c) {
    if (counts[c] == 0) continue;
    for (int j = 0; j < d; ++j)
      new_centroids[static_cast<std::size_t>(c) * d + j] =
          sums[static_cast<std::size_t>(c) * d + j] / counts[c];
  }
}

}  // namespace ref
