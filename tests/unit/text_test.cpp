#include <gtest/gtest.h>

#include "runtime/regex.h"
#include "runtime/logging.h"
#include "runtime/text.h"

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

TEST(Text, EscapeTextKeepsOneLineOfValidUtf8ThatShowsTheBytes) {
  EXPECT_EQ(escapeText("héllo ✓"), "héllo ✓");
  EXPECT_EQ(escapeText("ok\n\x1b[31mcritical FORGED"), "ok\\x0a\\x1b[31mcritical FORGED");
  EXPECT_EQ(escapeText(std::string("nul\0x\x7f", 6)), "nul\\x00x\\x7f");
  EXPECT_EQ(escapeText(std::string("bad \xff\xfe end")), "bad \\xff\\xfe end");
  EXPECT_EQ(escapeText("c1 \xc2\x9b" "31m"), "c1 \\xc2\\x9b31m") << "C1 controls (CSI) act like ESC";
  EXPECT_EQ(escapeText(std::string(100, 'a'), 10), "aaaaaaaaaa...");
  EXPECT_TRUE(isPlainText("plain words: 1, 2"));
  EXPECT_FALSE(isPlainText("tab\there"));
}

TEST(Regex, PatternsBeyondTheBudgetAreRefusedBeforeCompiling) {
  std::string error;
  EXPECT_FALSE(Regex::compile(std::string(1 << 20, 'a'), error));
  EXPECT_EQ(error, "the pattern is 1048576 bytes; at most 4096 are allowed");
  EXPECT_FALSE(Regex::compile("(((a{1,1000}){1,1000}){1,1000})", error));
  EXPECT_EQ(error, "its repeats expand to about 1000000000 elements; at most 5000 are allowed (nested bounded repeats multiply)");
  EXPECT_FALSE(Regex::compile("x{2,1001}", error));
  EXPECT_EQ(error, "a repeat count of 1001; at most 1000 is allowed");
  EXPECT_FALSE(Regex::compile(std::string(40, '(') + "a" + std::string(40, ')'), error));
  EXPECT_EQ(error, "groups nested 40 deep; at most 32 is allowed");
  // RE2's own rule, said in the same terms: repeats nested in each other multiply
  EXPECT_FALSE(Regex::compile("(ab{1,1000}){1,4}", error));
  EXPECT_EQ(error, "repeats nested in each other multiply to 4000; at most 1000 is allowed");
  // What glibc's regcomp() took minutes or gigabytes for (the fuzzer's finds) compiles at
  // once or is refused with a reason: RE2 works within its budget, whatever the pattern
  EXPECT_FALSE(Regex::compile("(a{,100}){,100}", error));
  EXPECT_EQ(error, "its repeats expand to about 10000 elements; at most 5000 are allowed (nested bounded repeats multiply)");
  EXPECT_TRUE(Regex::compile("()+{,10}{6}", error)) << error;
  EXPECT_TRUE(Regex::compile("(b*){0,100}(c?){0,10}", error)) << error;
  EXPECT_FALSE(Regex::compile("b?{,1000}\\{*{7,}()", error));
  EXPECT_EQ(error, "bad repetition operator: *{7,}");
  // RE2's refusals name the fragment at fault
  EXPECT_FALSE(Regex::compile("SSH-(2", error));
  EXPECT_EQ(error, "missing ): SSH-(2");
  EXPECT_FALSE(Regex::compile("a**", error));
  EXPECT_EQ(error, "bad repetition operator: **");
  // Within the budget, and what operators write, compiles: a bracket's '{' or an escaped
  // one is no repeat, and an unbounded {m,} weighs m+1.
  for (const char* fine : {"^HTTP/1\\.[01] 200", "[{]{1,3}", "\\{x{1,1000}", "(ab{1,100}){1,4}", "a{5,}", "\\d+ requests", "(?i)status: OK", "status: (ok|up)"})
    EXPECT_TRUE(Regex::compile(fine, error)) << fine << ": " << error;
}

// What a line is about nests: a dependent's lines within its dependency's are the dependent's,
// and the dependency's again after.
TEST(LogAbout, TheInnermostStandsForTheLinesWhileItLivesAndTheOuterComesBack) {
  EXPECT_EQ(medic::LogAbout::current(), nullptr);
  {
    medic::LogAbout db("db");
    EXPECT_EQ(medic::LogAbout::current()->service(), "db");
    {
      medic::LogAbout app("app", "health", "unhealthy");
      EXPECT_EQ(medic::LogAbout::current()->service(), "app");
      EXPECT_EQ(medic::LogAbout::current()->check(), "health");
      EXPECT_EQ(medic::LogAbout::current()->status(), "unhealthy");
    }
    EXPECT_EQ(medic::LogAbout::current()->service(), "db");
    EXPECT_EQ(medic::LogAbout::current()->check(), "");
  }
  EXPECT_EQ(medic::LogAbout::current(), nullptr);
}
