// FunctionRef: the one formatter and parser of "namespace/name".
#include "common/function_ref.h"

#include <gtest/gtest.h>

namespace surge::common {
namespace {

TEST(FunctionRef, KeyAndParseAreInverses) {
  const FunctionRef ref{"shop", "checkout"};
  EXPECT_EQ(ref.key(), "shop/checkout");
  EXPECT_EQ(FunctionRef::parse(ref.key()), ref);
}

TEST(FunctionRef, ParseRefusesKeysWithoutTwoNonEmptyParts) {
  for (const char* key : {"", "checkout", "/checkout", "shop/", "/", "a/b/c"}) {
    EXPECT_FALSE(FunctionRef::parse(key).has_value()) << key;
  }
}

} // namespace
} // namespace surge::common
