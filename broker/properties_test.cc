#include "broker/properties.h"

#include "gtest/gtest.h"

namespace varve::broker {
namespace {

TEST(PropertiesTest, SeparatorsCommentsAndWhitespace) {
  auto props = ParseProperties(
      "# comment\n! also a comment\n\n  a=1\nb : two words \nc\t3\nd=\ne=x=y\n", "f");
  ASSERT_TRUE(props.ok()) << props.status();
  ASSERT_EQ(props->size(), 5u);
  EXPECT_EQ((*props)[0].key, "a");
  EXPECT_EQ((*props)[0].value, "1");
  EXPECT_EQ((*props)[0].source, "f:4");
  EXPECT_EQ((*props)[1].key, "b");
  EXPECT_EQ((*props)[1].value, "two words");
  EXPECT_EQ((*props)[2].value, "3");
  EXPECT_EQ((*props)[3].value, "");
  EXPECT_EQ((*props)[4].value, "x=y");
}

TEST(PropertiesTest, ContinuationLinesAndEscapes) {
  auto props = ParseProperties("list=a,\\\n    b,\\\n    c\nesc=tab\\there\\u0041\\\\\n", "f");
  ASSERT_TRUE(props.ok()) << props.status();
  ASSERT_EQ(props->size(), 2u);
  EXPECT_EQ((*props)[0].value, "a,b,c");
  EXPECT_EQ((*props)[0].source, "f:1");
  EXPECT_EQ((*props)[1].value,
            "tab\there"
            "A\\");
  EXPECT_EQ((*props)[1].source, "f:4");
}

TEST(PropertiesTest, MalformedUnicodeEscapeNamesTheLine) {
  auto props = ParseProperties("ok=1\nbad=\\u12\n", "server.properties");
  ASSERT_FALSE(props.ok());
  EXPECT_NE(props.status().message().find("server.properties:2"), absl::string_view::npos);
}

TEST(PropertiesTest, EmptyKeyIsAnError) { EXPECT_FALSE(ParseProperties("=value\n", "f").ok()); }

TEST(PropertiesTest, Overrides) {
  auto p = ParseOverride("log.dirs = /tmp/x=y");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->key, "log.dirs");
  EXPECT_EQ(p->value, "/tmp/x=y");
  EXPECT_FALSE(ParseOverride("novalue").ok());
  EXPECT_FALSE(ParseOverride("=1").ok());
}

}  // namespace
}  // namespace varve::broker
