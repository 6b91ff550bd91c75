#include "app/captions.hpp"

#include "http/message.hpp"

#include <gtest/gtest.h>

#include <string>

using photoshare::app::clean_caption;

namespace {

// The HttpError clean_caption throws, as status and message; 0 when it accepts the text.
std::pair<int, std::string> refusal(std::string_view text, std::size_t max = 500) {
    try {
        clean_caption(text, max);
    } catch (const photoshare::http::HttpError& e) {
        return {e.status(), e.what()};
    }
    return {0, ""};
}

}  // namespace

TEST(Caption, KeepsWordsLineBreaksAndAnyLanguage) {
    EXPECT_EQ(clean_caption("Sunset at the pier", 500), "Sunset at the pier");
    EXPECT_EQ(clean_caption("  two\r\nlines\rand a third\n\t ", 500), "two\nlines\nand a third");
    EXPECT_EQ(clean_caption("Åsa's café — 東京 🌅", 500), "Åsa's café — 東京 🌅");
    EXPECT_EQ(clean_caption("<script>alert(1)</script>", 500), "<script>alert(1)</script>") << "escaped where shown, kept as written";
    EXPECT_EQ(clean_caption(" \n\t ", 500), "");
    EXPECT_EQ(clean_caption("", 500), "");
}

TEST(Caption, CountsCharactersNotBytes) {
    EXPECT_EQ(clean_caption("🌅🌅🌅", 3), "🌅🌅🌅");
    const auto [status, message] = refusal("🌅🌅🌅🌅", 3);
    EXPECT_EQ(status, 422);
    EXPECT_EQ(message, "The caption has 4 characters; the limit is 3.");
    EXPECT_EQ(refusal("  abc  ", 3).first, 0) << "white space trimmed at the ends does not count";
}

TEST(Caption, RefusesWhatIsNotText) {
    for (const std::string& bad : {std::string("a\0b", 3), std::string("bell\x07"), std::string("esc\x1b[31m"), std::string("\x1f" "csrf" "\x1f"),
                                  std::string("del\x7f"), std::string("c1 \xc2\x85")}) {
        EXPECT_EQ(refusal(bad).first, 422) << bad;
        EXPECT_NE(refusal(bad).second.find("control character"), std::string::npos) << bad;
    }
    for (const std::string& bad : {std::string("\xff"), std::string("\xc0\xaf"), std::string("\xe0\x80\xaf"), std::string("\xed\xa0\x80"),
                                  std::string("\xf4\x90\x80\x80"), std::string("cut \xe2\x82"), std::string("\x80")}) {
        EXPECT_EQ(refusal(bad), (std::pair<int, std::string>{422, "The caption is not valid UTF-8 text."})) << bad;
    }
}
