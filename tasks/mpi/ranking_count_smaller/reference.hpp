#pragma once
#include <vector>

namespace ref {

inline void count_smaller(std::vector<double> const& x, std::vector<int>& counts) {
  counts.assign(x.size(), 0);
  for (std::size_t i = 0; i < x.size(); ++i) {
    int c = 0;
    for (double v : x) c += v < x[i];
    counts[i] = c;
  }
}

}  // namespace ref
