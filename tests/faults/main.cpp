// faults_tests: photoshare under faults. The cleanup installed here (tests/support/services.hpp) stops
// every stack and service the tests started, also when a test fails or the program is
// interrupted.
#include "support/services.hpp"

#include <gtest/gtest.h>

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    pstest::install_cleanup();
    return RUN_ALL_TESTS();
}
