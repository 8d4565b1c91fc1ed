#pragma once
#include <cstddef>
#include <vector>

namespace ref {

// Kadane: best sum of a non-empty subarray ending at i, and the best seen so far.
inline long long max_subarray_sum(std::vector<int> const& x) {
  long long ending = x[0], best = x[0];
  for (std::size_t i = 1; i < x.size(); ++i) {
    ending = ending > 0 ? ending + x[i] : static_cast<long long>(x[i]);
    if (ending > best) best = ending;
  }
  return best;
}

}  // namespace ref
