// cluster_tests: whole stacks (database, cache servers, photoshare servers, HAProxy) started
// with scripts/stack. The cleanup installed here stops every stack the tests started, also
// when a test fails or the program is interrupted.
#include "support/services.hpp"

#include <gtest/gtest.h>

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    pstest::install_cleanup();
    return RUN_ALL_TESTS();
}
