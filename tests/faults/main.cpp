// faults_tests: photoshare under faults. The cleanup installed here (the cluster tests') stops
// every stack and service the tests started, also when a test fails or the program is
// interrupted.
#include "faults.hpp"

#include <gtest/gtest.h>

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    cluster::install_cleanup();
    return RUN_ALL_TESTS();
}
