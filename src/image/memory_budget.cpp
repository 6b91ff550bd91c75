#include "image/memory_budget.hpp"

#include <utility>

namespace photoshare::image {

std::uint64_t MemoryBudget::in_use() const {
    const std::lock_guard lock(mutex_);
    return in_use_;
}

std::uint64_t MemoryBudget::waiting() const {
    const std::lock_guard lock(mutex_);
    return next_ticket_ - serving_;
}

MemoryBudget::Reservation MemoryBudget::acquire(std::uint64_t bytes) {
    std::unique_lock lock(mutex_);
    const std::uint64_t ticket = next_ticket_++;
    changed_.wait(lock, [&] { return serving_ == ticket && in_use_ + bytes <= capacity_; });
    in_use_ += bytes;
    ++serving_;
    lock.unlock();
    // The next ticket may fit too; it must not wait for a release to be told.
    changed_.notify_all();
    return Reservation(this, bytes);
}

void MemoryBudget::release(std::uint64_t bytes) {
    {
        const std::lock_guard lock(mutex_);
        in_use_ -= bytes;
    }
    changed_.notify_all();
}

MemoryBudget::Reservation::Reservation(Reservation&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

MemoryBudget::Reservation::~Reservation() {
    if (budget_ != nullptr) budget_->release(bytes_);
}

}  // namespace photoshare::image
