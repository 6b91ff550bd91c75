#include "http/pipe.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

using namespace photoshare::http;

namespace {
std::string drain(ChunkPipe& pipe, std::string* error = nullptr) {
    asio::io_context ioc;
    std::string all;
    asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
        try {
            for (;;) {
                auto piece = co_await pipe.next();
                if (piece.empty()) break;
                all += piece;
            }
        } catch (const std::exception& e) {
            if (error) *error = e.what();
        }
    }, asio::detached);
    ioc.run();
    return all;
}
}  // namespace

TEST(ChunkPipe, DeliversEveryPieceInOrderThroughASmallBuffer) {
    ChunkPipe pipe(2);
    std::string expected;
    std::thread producer([&] {
        for (int i = 0; i < 200; ++i) pipe.push("piece" + std::to_string(i) + ";");
        pipe.finish();
    });
    for (int i = 0; i < 200; ++i) expected += "piece" + std::to_string(i) + ";";
    EXPECT_EQ(drain(pipe), expected);
    producer.join();
}

TEST(ChunkPipe, AFailureReachesTheConsumerAfterWhatCameBefore) {
    ChunkPipe pipe(4);
    std::thread producer([&] {
        pipe.push("ok");
        pipe.fail(std::make_exception_ptr(std::runtime_error("storage went away")));
    });
    std::string error;
    EXPECT_EQ(drain(pipe, &error), "ok");
    EXPECT_EQ(error, "storage went away");
    producer.join();
}

TEST(ChunkPipe, AbandoningReleasesABlockedProducer) {
    ChunkPipe pipe(1);
    std::atomic<bool> refused{false};
    std::thread producer([&] {
        pipe.push("a");               // fills the buffer
        refused = !pipe.push("b");    // blocks until abandoned
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    pipe.abandon();
    producer.join();
    EXPECT_TRUE(refused);
}
