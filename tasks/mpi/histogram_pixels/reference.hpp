#pragma once
#include <array>
#include <vector>

namespace ref {

inline void pixel_counts(std::vector<int> const& image, std::array<long long, 256>& bins) {
  bins.fill(0);
  for (int v : image) ++bins[v];
}

}  // namespace ref
