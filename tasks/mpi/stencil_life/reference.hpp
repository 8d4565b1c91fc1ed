#pragma once
#include <cstddef>
#include <vector>

namespace ref {

// Serial version on the whole grid (grid.size() == n * n, row-major).
inline void game_of_life(std::vector<int>& grid, std::size_t n, int generations) {
  std::vector<int> next(grid.size(), 0);
  for (int g = 0; g < generations; ++g) {
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < n; ++j) {
        int live = 0;
        for (int di = -1; di <= 1; ++di) {
          for (int dj = -1; dj <= 1; ++dj) {
            if (di == 0 && dj == 0) continue;
            const long long a = static_cast<long long>(i) + di;
            const long long b = static_cast<long long>(j) + dj;
            if (a < 0 || b < 0 || a >= static_cast<long long>(n) || b >= static_cast<long long>(n))
              continue;
            live += grid[static_cast<std::size_t>(a) * n + static_cast<std::size_t>(b)];
          }
        }
        const int self = grid[i * n + j];
        next[i * n + j] = (live == 3 || (self && live == 2)) ? 1 : 0;
      }
    }
    grid.swap(next);
  }
}

}  // namespace ref
