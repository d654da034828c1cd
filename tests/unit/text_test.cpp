#include <gtest/gtest.h>

#include "agent/regex.h"
#include "agent/text.h"

using namespace medic;

TEST(Text, SanitizeKeepsValidUtf8AndReplacesTheRest) {
  EXPECT_EQ(sanitizeUtf8("héllo ✓"), "héllo ✓");
  EXPECT_EQ(sanitizeUtf8(std::string("a\xc0\xaf" "b")), "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");  // overlong '/'
  EXPECT_EQ(sanitizeUtf8(std::string("cut \xe2\x9c")), "cut \xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(sanitizeUtf8(std::string("nul\0x", 5)), "nul x");
}

TEST(Text, ExcerptEscapesAndCuts) {
  EXPECT_EQ(excerpt(std::string("HTTP\r\n\0\xff", 8)), "HTTP\\x0d\\x0a\\x00\\xff");
  EXPECT_EQ(excerpt(std::string(100, 'a'), 10), "aaaaaaaaaa...");
}

TEST(Regex, SearchesLargeInputWithoutRecursion) {
  std::string error;
  auto r = Regex::compile("(a|b)*c", error);
  ASSERT_TRUE(r) << error;
  std::string big(64 * 1024, 'a');
  EXPECT_FALSE(r->search(big));
  big.back() = 'c';
  EXPECT_TRUE(r->search(big));
  EXPECT_TRUE(r->search(std::string("x\0yc", 4))) << "embedded NUL bytes are searched past";
}
