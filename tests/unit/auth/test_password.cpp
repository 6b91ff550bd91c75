#include "auth/password.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace photoshare::auth {
namespace {

const PasswordParams minimum{};  // the defaults are the OWASP minimum: fastest legal hash

TEST(Password, HashIsArgon2idWithTheConfiguredParams) {
    const std::string phc = hash_password("correct horse", minimum);
    EXPECT_EQ(phc.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << phc;

    const std::string stronger = hash_password("correct horse", {.memory_kib = 20 * 1024,
                                                                  .iterations = 3});
    EXPECT_EQ(stronger.rfind("$argon2id$v=19$m=20480,t=3,p=1$", 0), 0u) << stronger;
}

TEST(Password, VerifiesOnlyTheRightPassword) {
    const std::string phc = hash_password("correct horse", minimum);
    EXPECT_TRUE(verify_password("correct horse", phc));
    EXPECT_FALSE(verify_password("correct horsE", phc));
    EXPECT_FALSE(verify_password("", phc));
}

TEST(Password, SaltMakesEveryHashDifferent) {
    EXPECT_NE(hash_password("same", minimum), hash_password("same", minimum));
}

TEST(Password, EmptyAndBinaryPasswordsWork) {
    const std::string empty = hash_password("", minimum);
    EXPECT_TRUE(verify_password("", empty));
    const std::string binary("a\0b", 3);
    const std::string phc = hash_password(binary, minimum);
    EXPECT_TRUE(verify_password(binary, phc));
    EXPECT_FALSE(verify_password("a", phc));  // the NUL does not end the password
}

TEST(Password, MalformedHashesDoNotVerify) {
    EXPECT_FALSE(verify_password("x", ""));
    EXPECT_FALSE(verify_password("x", "not a hash"));
    EXPECT_FALSE(verify_password("x", "$argon2id$v=19$m=19456,t=2,p=1$garbage"));
    EXPECT_FALSE(verify_password("x", std::string(1000, '$')));
}

TEST(Password, ParamsBelowTheOwaspMinimumAreRejected) {
    EXPECT_THROW(hash_password("x", {.memory_kib = 19 * 1024 - 1, .iterations = 2}),
                 std::invalid_argument);
    EXPECT_THROW(hash_password("x", {.memory_kib = 64 * 1024, .iterations = 1}),
                 std::invalid_argument);
    EXPECT_THROW(dummy_hash({.memory_kib = 1024, .iterations = 2}), std::invalid_argument);
}

TEST(Password, NeedsRehashWhenParamsChange) {
    const std::string phc = hash_password("pw", minimum);
    EXPECT_FALSE(needs_rehash(phc, minimum));
    EXPECT_TRUE(needs_rehash(phc, {.memory_kib = 19 * 1024, .iterations = 3}));
    EXPECT_TRUE(needs_rehash("garbage", minimum));
}

TEST(Password, DummyHashIsStableAndMatchesNothing) {
    const std::string& a = dummy_hash(minimum);
    const std::string& b = dummy_hash(minimum);
    EXPECT_EQ(&a, &b);  // computed once, not per login
    EXPECT_EQ(a.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u);
    EXPECT_FALSE(verify_password("", a));
    EXPECT_FALSE(verify_password("password", a));
    EXPECT_FALSE(needs_rehash(a, minimum));  // so verifying it costs what a real one costs
}

}  // namespace
}  // namespace photoshare::auth
