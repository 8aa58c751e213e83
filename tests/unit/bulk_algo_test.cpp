#include <fcntl.h>

#include <gtest/gtest.h>

#include "engine/bulk.hpp"
#include "base/error.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {

TEST(BulkAlgo, ParsesTheThreeNames) {
  EXPECT_EQ(engine::parse_algo("xxh64"), engine::Algo::xxh64);
  EXPECT_EQ(engine::parse_algo("xxh3"), engine::Algo::xxh3);
  EXPECT_EQ(engine::parse_algo("xxh128"), engine::Algo::xxh128);
  for (auto a : {engine::Algo::xxh64, engine::Algo::xxh3, engine::Algo::xxh128})
    EXPECT_EQ(engine::parse_algo(engine::algo_name(a)), a);
}

TEST(BulkAlgo, UnknownNameIsAValidationErrorListingChoices) {
  for (const char* bad : {"", "XXH64", "sha256", "xxh32", "xxh3 "}) {
    try {
      engine::parse_algo(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::validation);
      EXPECT_NE(std::string(e.what()).find("xxh64, xxh3 or xxh128"), std::string::npos) << e.what();
    }
  }
}

// Digests of the empty input published by the xxHash project (README / xxhsum of /dev/null).
TEST(BulkChecksum, EmptyRangeGivesThePublishedEmptyDigests) {
  TempDir dir;
  std::string f = dir / "empty";
  io::Fd fd = io::Fd::open(f, O_RDWR | O_CREAT, 0600);
  EXPECT_EQ(engine::checksum(fd, 0, 0, engine::Algo::xxh64), "ef46db3751d8e999");
  EXPECT_EQ(engine::checksum(fd, 0, 0, engine::Algo::xxh3), "2d06800538d394c2");
  EXPECT_EQ(engine::checksum(fd, 0, 0, engine::Algo::xxh128), "99aa06d3014798d86001c324468d497f");
}

TEST(BulkOptions, BadQueueDepthOrChunkSizeIsAValidationError) {
  TempDir dir;
  io::Fd fd = io::Fd::open(dir / "f", O_RDWR | O_CREAT, 0600);
  engine::BulkOptions o;
  o.queue_depth = 0;
  EXPECT_THROW(engine::checksum(fd, 0, 0, engine::Algo::xxh3, o), Error);
  o.queue_depth = 32;
  o.chunk_size = 1000;
  try {
    engine::zero(fd, 0, 0, o);
    ADD_FAILURE() << "accepted chunk size 1000";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::validation);
  }
}

}  // namespace mos::test
