// Driver for kmeans_step. Coordinates are multiples of 0.25 in [0, 10], so squared distances and
// sums are exact: ties between centroids are frequent (the lowest index must win) and the means
// do not depend on the summation order. Traps: the last centroid (k >= 3) repeats centroid 1, so
// it must stay empty and keep its position; centroid 2 (k >= 4) lies far away and is empty too.
// Outputs start with garbage of the wrong size; checked on rank 0 only.
#include "reference.hpp"
#include "wb_candidate.hpp"
#include "wb_driver.hpp"

WB_PROBLEM(t) {
  wb::Rng rng(t.seed());
  const int n = static_cast<int>(WB_N), d = static_cast<int>(WB_D), k = static_cast<int>(WB_K);
  std::vector<double> points(static_cast<std::size_t>(n) * d), centroids(static_cast<std::size_t>(k) * d);
  for (double& v : points) v = 0.25 * static_cast<double>(rng.integer(0, 40));
  for (double& v : centroids) v = 0.25 * static_cast<double>(rng.integer(4, 36));
  if (k >= 3)
    for (int j = 0; j < d; ++j) centroids[static_cast<std::size_t>(k - 1) * d + j] = centroids[d + j];
  if (k >= 4)
    for (int j = 0; j < d; ++j) centroids[2 * static_cast<std::size_t>(d) + j] = 100.0 + j;
  std::vector<double> new_centroids(3, -7.0);  // garbage of the wrong size
  std::vector<int> counts(1, -7);
  t.run([&] { kmeans_step(points, centroids, n, d, k, new_centroids, counts); },
        [&] { ref::kmeans_step(points, centroids, n, d, k, new_centroids, counts); },
        wb::root_only);
  t.check("new_centroids", new_centroids, 1e-9, 1e-9);
  t.check("counts", counts);
}
