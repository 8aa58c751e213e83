// The replace-disk resume judge on described disk states: each step's action follows from the
// record on the new disk and what the md mirrors, MOSDATA and the swap partition show.
#include <gtest/gtest.h>

#include "engine/replace/judge.hpp"

namespace mos::engine::replace {
namespace {

std::vector<std::string> actions(const ReplaceFacts& f) {
  std::vector<std::string> out;
  for (const auto& v : judge_steps(f)) out.push_back(v.step + "=" + v.action);
  return out;
}

using V = std::vector<std::string>;

// The new disk as the gpt step leaves it: layout and record, nothing else yet.
ReplaceFacts after_gpt() {
  ReplaceFacts f;
  f.gpt_written = true;
  f.btrfs_source_present = true;
  f.single_copy_chunks = true;
  return f;
}

TEST(ReplaceJudge, BlankNewDiskRunsEveryStep) {
  ReplaceFacts f;
  EXPECT_EQ(actions(f), (V{"gpt=run", "md-esp=run", "md-boot=run", "btrfs-replace=run", "balance=run", "swap=run"}));
  f.replace_old = true;
  const auto v = judge_steps(f);
  EXPECT_NE(v[1].detail.find("fail and remove the old disk's mosefi"), std::string::npos) << v[1].detail;
  EXPECT_NE(v[3].detail.find("old disk's"), std::string::npos) << v[3].detail;
}

TEST(ReplaceJudge, AfterGptOnlyTheGptIsDone) {
  EXPECT_EQ(actions(after_gpt()), (V{"gpt=done", "md-esp=run", "md-boot=run", "btrfs-replace=run", "balance=run", "swap=run"}));
}

TEST(ReplaceJudge, MdMembersRebuildingAreWaitedForInSyncOnlyClearTheRecord) {
  ReplaceFacts f = after_gpt();
  f.esp.new_member = MdMember::in_sync;
  f.boot.new_member = MdMember::rebuilding;
  const auto v = judge_steps(f);
  EXPECT_EQ(v[1].action, "resume");
  EXPECT_NE(v[1].detail.find("clear its record"), std::string::npos);
  EXPECT_EQ(v[2].action, "resume");
  EXPECT_NE(v[2].detail.find("wait for the kernel's rebuild"), std::string::npos);
}

TEST(ReplaceJudge, FailedOldStillAMemberIsRemovedAfterTheRebuild) {
  ReplaceFacts f = after_gpt();
  f.replace_old = true;
  f.esp.new_member = MdMember::in_sync;
  f.esp.old_member = true;
  EXPECT_NE(judge_steps(f)[1].detail.find("fail and remove the old disk's mosefi"), std::string::npos);
  f.esp.old_member = false;
  EXPECT_NE(judge_steps(f)[1].detail.find("clear its record"), std::string::npos);
}

TEST(ReplaceJudge, ClearedRecordIsDoneWhateverElseShows) {
  ReplaceFacts f = after_gpt();
  f.esp.pending = f.boot.pending = false;
  EXPECT_EQ(actions(f), (V{"gpt=done", "md-esp=done", "md-boot=done", "btrfs-replace=run", "balance=run", "swap=run"}));
}

TEST(ReplaceJudge, RunningBtrfsReplaceIsJoinedNotRestarted) {
  ReplaceFacts f = after_gpt();
  f.esp.pending = f.boot.pending = false;
  f.btrfs_replace_running = true;
  f.btrfs_replace_permille = 420;
  const auto v = judge_steps(f);
  EXPECT_EQ(v[3].action, "resume");
  EXPECT_NE(v[3].detail.find("join the running device replace (42%)"), std::string::npos) << v[3].detail;
}

TEST(ReplaceJudge, DeviceAddedButMissingStillThereRemovesIt) {
  ReplaceFacts f = after_gpt();
  f.btrfs_new_member = true;
  EXPECT_EQ(judge_steps(f)[3].action, "resume");
  EXPECT_NE(judge_steps(f)[3].detail.find("remove the missing device"), std::string::npos);
  f.btrfs_source_present = false;
  EXPECT_EQ(judge_steps(f)[3].action, "done");
  EXPECT_EQ(judge_steps(f)[4].action, "run");  // the data record stays until the balance ran
}

TEST(ReplaceJudge, BalanceRunsUntilTheDataRecordIsCleared) {
  ReplaceFacts f = after_gpt();
  f.btrfs_new_member = true;
  f.btrfs_source_present = false;
  f.single_copy_chunks = false;
  EXPECT_EQ(judge_steps(f)[4].action, "run");
  EXPECT_NE(judge_steps(f)[4].detail.find("nothing to move"), std::string::npos);
  f.data_pending = false;
  EXPECT_EQ(judge_steps(f)[3].action, "done");
  EXPECT_EQ(judge_steps(f)[4].action, "done");
}

TEST(ReplaceJudge, SwapMadeButNotOnOnlySwapsOn) {
  ReplaceFacts f = after_gpt();
  f.swap_signature = true;
  EXPECT_EQ(judge_steps(f)[5].detail, "swap made; swapon, clear its record");
  f.swap_active = true;
  EXPECT_EQ(judge_steps(f)[5].detail, "swap made and on; clear its record");
  f.swap_pending = false;
  EXPECT_EQ(judge_steps(f)[5].action, "done");
}

TEST(ReplaceJudge, FinishedReplacementHasNoRemainingSteps) {
  ReplaceFacts f = after_gpt();
  f.esp.pending = f.boot.pending = f.data_pending = f.swap_pending = false;
  EXPECT_TRUE(remaining_steps(f).empty());
  f.swap_pending = true;
  ASSERT_EQ(remaining_steps(f).size(), 1u);
  EXPECT_EQ(remaining_steps(f)[0].step, "swap");
}

}  // namespace
}  // namespace mos::engine::replace
