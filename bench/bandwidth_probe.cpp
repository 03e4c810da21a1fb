// Standalone read-bandwidth probe (the one `llmkit bench` uses for its decode roofline).
//   bandwidth_probe [THREADS,...] [MIB] [PASSES]     e.g. bandwidth_probe 1,2 1024 5
// Prints one line per thread count: threads, GB/s (1e9 bytes/s), best of PASSES sums over MIB MiB.
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "../tools/cli/bandwidth.hpp"

int main(int argc, char** argv) {
  std::vector<int> threads = {1, 2};
  size_t mib = 1024;
  int passes = 5;
  if (argc > 1) {
    threads.clear();
    std::stringstream ss(argv[1]);
    std::string item;
    while (std::getline(ss, item, ',')) {
      const int t = std::atoi(item.c_str());
      if (t <= 0) {
        std::fprintf(stderr, "bandwidth_probe: bad thread count '%s'\n", item.c_str());
        return 2;
      }
      threads.push_back(t);
    }
  }
  if (argc > 2) mib = static_cast<size_t>(std::strtoull(argv[2], nullptr, 10));
  if (argc > 3) passes = std::atoi(argv[3]);
  if (mib == 0 || passes <= 0) {
    std::fprintf(stderr, "usage: bandwidth_probe [THREADS,...] [MIB] [PASSES]\n");
    return 2;
  }
  for (int t : threads) {
    const double gbs = llmkit::cli::measure_read_bandwidth_inproc(mib << 20, t, passes);
    std::printf("threads %d  read %.1f GB/s  (%zu MiB, best of %d)\n", t, gbs, mib, passes);
  }
  return 0;
}
