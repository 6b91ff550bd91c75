#include "kv/fallback.hpp"

namespace photoshare::kv {

std::optional<std::string> Fallback::get(std::string_view key) {
    return either([&](Store& s) { return s.get(key); });
}

void Fallback::set(std::string_view key, std::string_view value, std::chrono::seconds ttl) {
    either([&](Store& s) { s.set(key, value, ttl); });
}

bool Fallback::add(std::string_view key, std::string_view value, std::chrono::seconds ttl) {
    return either([&](Store& s) { return s.add(key, value, ttl); });
}

void Fallback::erase(std::string_view key) {
    either([&](Store& s) { s.erase(key); });
}

std::int64_t Fallback::incr(std::string_view key, std::int64_t delta, std::chrono::seconds ttl) {
    return either([&](Store& s) { return s.incr(key, delta, ttl); });
}

std::string Fallback::describe() const { return shared_.describe() + ", else " + local_.describe(); }

}  // namespace photoshare::kv
