// The message of the mos::Error(validation) fn throws, for tests that check error wording;
// records a test failure if fn throws anything else or nothing.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "base/error.hpp"

namespace mos::test {

inline std::string validation_error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::validation) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected a validation error, got none";
  return "(no error)";
}

}  // namespace mos::test
