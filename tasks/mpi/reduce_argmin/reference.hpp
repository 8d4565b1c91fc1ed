#pragma once
#include <vector>

namespace ref {

inline int index_of_min(std::vector<double> const& x) {
  int best = 0;
  for (std::size_t i = 1; i < x.size(); ++i) {
    if (x[i] < x[best]) best = static_cast<int>(i);
  }
  return best;
}

}  // namespace ref
