#pragma once
#include <vector>

namespace ref {

inline double dot_product(std::vector<double> const& x, std::vector<double> const& y) {
  double sum = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) sum += x[i] * y[i];
  return sum;
}

}  // namespace ref
