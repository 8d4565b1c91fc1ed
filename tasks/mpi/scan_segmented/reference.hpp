#pragma once
#include <cstddef>
#include <vector>

namespace ref {

inline void segmented_prefix_sum(std::vector<double> const& x, std::vector<int> const& flags,
                                 std::vector<double>& output) {
  output.resize(x.size());
  double sum = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sum = flags[i] ? x[i] : sum + x[i];
    output[i] = sum;
  }
}

}  // namespace ref
