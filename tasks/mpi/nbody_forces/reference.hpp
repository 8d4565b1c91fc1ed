#pragma once
#include <cmath>
#include <vector>

namespace ref {

inline void nbody_forces(std::vector<double> const& x, std::vector<double> const& y,
                         std::vector<double> const& m, std::vector<double>& fx,
                         std::vector<double>& fy) {
  const double eps2 = 0.01 * 0.01;
  const std::size_t n = x.size();
  fx.assign(n, 0.0);
  fy.assign(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    double sx = 0.0, sy = 0.0;
    for (std::size_t j = 0; j < n; ++j) {
      if (j == i) continue;
      const double dx = x[j] - x[i], dy = y[j] - y[i];
      const double s = dx * dx + dy * dy + eps2;
      const double w = m[j] / (s * std::sqrt(s));
      sx += w * dx;
      sy += w * dy;
    }
    fx[i] = m[i] * sx;
    fy[i] = m[i] * sy;
  }
}

}  // namespace ref
