// A process-wide cap on the memory that images being decoded at the same time may use
// together. The worker pool bounds how many images are in flight; this bounds what they
// weigh, which the pool cannot: one progressive JPEG or interlaced PNG needs a buffer the
// size of the whole image, ten times what a baseline JPEG of the same size needs.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace photoshare::image {

class MemoryBudget {
public:
    explicit MemoryBudget(std::uint64_t capacity) : capacity_(capacity) {}
    MemoryBudget(const MemoryBudget&) = delete;
    MemoryBudget& operator=(const MemoryBudget&) = delete;

    std::uint64_t capacity() const { return capacity_; }
    std::uint64_t in_use() const;
    std::uint64_t waiting() const;  // callers inside acquire(), not yet served

    // Holds `bytes` of the budget from acquire() until destruction.
    class Reservation {
    public:
        Reservation(Reservation&& other) noexcept;
        Reservation& operator=(Reservation&&) = delete;
        Reservation(const Reservation&) = delete;
        Reservation& operator=(const Reservation&) = delete;
        ~Reservation();
        std::uint64_t bytes() const { return bytes_; }

    private:
        friend class MemoryBudget;
        Reservation(MemoryBudget* budget, std::uint64_t bytes) : budget_(budget), bytes_(bytes) {}
        MemoryBudget* budget_;
        std::uint64_t bytes_;
    };

    // Blocks until `bytes` fit beside what others hold. Callers are served first come,
    // first served, so a large image is not starved by a stream of small ones.
    // Precondition: bytes <= capacity() (the caller rejects larger requests itself).
    Reservation acquire(std::uint64_t bytes);

private:
    void release(std::uint64_t bytes);

    const std::uint64_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::uint64_t in_use_ = 0;
    std::uint64_t next_ticket_ = 0;  // handed to the next caller of acquire()
    std::uint64_t serving_ = 0;      // the ticket allowed to take memory now
};

}  // namespace photoshare::image
