#include "app/database.hpp"


namespace photoshare::app {

void Database::record(const char* op, std::chrono::nanoseconds elapsed) {
    metrics::Histogram* h = nullptr;
    {
        // One histogram per operation, found by the address of its name (a literal).
        std::lock_guard lock(mutex_);
        auto& slot = histograms_[op];
        if (!slot) slot = &metrics_.histogram("photoshare_db_query_duration_seconds", "Database time by operation", {{"op", op}});
        h = slot;
    }
    h->observe(std::chrono::duration<double>(elapsed).count());
}

}  // namespace photoshare::app
