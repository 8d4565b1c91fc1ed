#pragma once
#include <algorithm>
#include <vector>

namespace ref {

inline void sort_ints(std::vector<int> const& x, std::vector<int>& sorted) {
  sorted = x;
  std::sort(sorted.begin(), sorted.end());
}

}  // namespace ref
