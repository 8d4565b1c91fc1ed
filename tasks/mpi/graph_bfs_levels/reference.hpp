#pragma once
#include <vector>

namespace ref {

// Plain queue-based BFS from vertex 0.
inline void bfs_levels(std::vector<int> const& row_ptr, std::vector<int> const& col_idx,
                       std::vector<int>& levels) {
  const int n = static_cast<int>(row_ptr.size()) - 1;
  levels.assign(n > 0 ? n : 0, -1);
  if (n <= 0) return;
  std::vector<int> queue;
  queue.reserve(n);
  levels[0] = 0;
  queue.push_back(0);
  for (std::size_t head = 0; head < queue.size(); ++head) {
    const int v = queue[head];
    for (int k = row_ptr[v]; k < row_ptr[v + 1]; ++k) {
      const int w = col_idx[k];
      if (levels[w] < 0) {
        levels[w] = levels[v] + 1;
        queue.push_back(w);
      }
    }
  }
}

}  // namespace ref
