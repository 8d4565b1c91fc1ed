#pragma once
#include <cmath>

namespace ref {

inline double trapezoid_f(double x) { return std::sin(x) * std::exp(-x / 5.0) + x * x / 10.0; }

inline double integrate_trapezoid(double a, double b, long long n) {
  const double h = (b - a) / static_cast<double>(n);
  double sum = 0.5 * (trapezoid_f(a) + trapezoid_f(b));
  for (long long i = 1; i < n; ++i) sum += trapezoid_f(a + static_cast<double>(i) * h);
  return h * sum;
}

}  // namespace ref
