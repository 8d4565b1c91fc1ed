#pragma once
#include <vector>

namespace ref {

inline void prefix_sum(std::vector<double> const& x, std::vector<double>& output) {
  output.resize(x.size());
  double sum = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sum += x[i];
    output[i] = sum;
  }
}

}  // namespace ref
