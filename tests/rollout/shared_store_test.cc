// The shared rollout store against a real PostgreSQL started by the test (tests/audit/pg_fixture.h):
// one lease holder at a time, takeover after expiry, the holder's writes fenced by lease and
// revision, operator changes serialised, reports pooled across replicas.
#include <gtest/gtest.h>

#include "../audit/pg_fixture.h"
#include "rollout/shared_store.h"

namespace regiongate::rollout {
namespace {

using audit::testing::PgServer;

RolloutRecord makeRecord() {
  RolloutRecord r;
  r.region = "eu-central-1";
  r.model = "llama-3.1-8b";
  r.from_version = "v1";
  r.to_version = "v2";
  r.green_endpoints = {"fra-green"};
  r.steps = {50, 100};
  r.phase = Phase::Shifting;
  return r;
}

class SharedStoreTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!PgServer::available()) GTEST_SKIP() << "PostgreSQL 15 is not installed";
    ASSERT_EQ(pg_.start(), "");
  }
  // Starts a rollout through `s` as an operator would; returns the stored row.
  StoredRollout start(SharedStore& s) {
    auto row = s.change("eu-central-1", "llama-3.1-8b",
                        [](const StoredRollout*, bool& new_window) -> Result<RolloutRecord> {
                          new_window = true;
                          return makeRecord();
                        });
    EXPECT_TRUE(row.ok()) << (row.ok() ? "" : row.error().message);
    return row.ok() ? row.value() : StoredRollout{};
  }
  PgServer pg_;
};

TEST_F(SharedStoreTest, OneLeaseHolderAtATimeAndTakeoverAfterExpiry) {
  SharedStore a(pg_.dsn(), 2000), b(pg_.dsn(), 2000);
  ASSERT_TRUE(a.open().ok());
  ASSERT_TRUE(b.open().ok());
  StoredRollout row = start(a);
  EXPECT_GT(row.record.id, 0u);
  ASSERT_EQ(a.acquireLease("eu-central-1", "llama-3.1-8b", "r1", 60000).value(), true);
  EXPECT_EQ(b.acquireLease("eu-central-1", "llama-3.1-8b", "r2", 60000).value(), false);
  EXPECT_EQ(a.acquireLease("eu-central-1", "llama-3.1-8b", "r1", 60000).value(), true);  // renew
  // r1 "dies": its lease is made to lapse (the database clock decides), and r2 takes over.
  ASSERT_EQ(pg_.exec("UPDATE regiongate_rollouts SET lease_expires = now() - interval '1 second'"), "");
  EXPECT_EQ(b.acquireLease("eu-central-1", "llama-3.1-8b", "r2", 60000).value(), true);
  EXPECT_EQ(a.acquireLease("eu-central-1", "llama-3.1-8b", "r1", 60000).value(), false);
  auto rows = b.loadAll();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->front().lease_holder, "r2");
  EXPECT_GT(rows->front().lease_left_ms, 50000);
}

TEST_F(SharedStoreTest, HolderWritesAreFencedByLeaseAndRevision) {
  SharedStore a(pg_.dsn(), 2000);
  ASSERT_TRUE(a.open().ok());
  StoredRollout row = start(a);
  RolloutRecord next = row.record;
  next.step = 1;
  // Not the holder: refused.
  EXPECT_EQ(a.writeAsHolder(next, true, "r1", row.revision).value(), false);
  ASSERT_TRUE(a.acquireLease("eu-central-1", "llama-3.1-8b", "r1", 60000).value());
  // A stale revision (an operator changed the row meanwhile): refused.
  EXPECT_EQ(a.writeAsHolder(next, true, "r1", row.revision - 1).value(), false);
  EXPECT_EQ(a.writeAsHolder(next, true, "r1", row.revision).value(), true);
  auto rows = a.loadAll();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->front().record.step, 1u);
  EXPECT_EQ(rows->front().window, row.window + 1);
  EXPECT_EQ(rows->front().revision, row.revision + 1);
}

TEST_F(SharedStoreTest, ASecondStartSeesTheFirstAndIdsComeFromOneSequence) {
  SharedStore a(pg_.dsn(), 2000), b(pg_.dsn(), 2000);
  ASSERT_TRUE(a.open().ok());
  ASSERT_TRUE(b.open().ok());
  StoredRollout first = start(a);
  bool saw_live = false;
  auto second = b.change("eu-central-1", "llama-3.1-8b",
                         [&](const StoredRollout* cur, bool&) -> Result<RolloutRecord> {
                           saw_live = cur && !cur->record.terminal();
                           return Error::config("refused", "refused");
                         });
  EXPECT_FALSE(second.ok());
  EXPECT_TRUE(saw_live);
  RolloutRecord other = makeRecord();
  other.region = "eu-west-1";
  auto third = b.change("eu-west-1", "llama-3.1-8b", [&](const StoredRollout*, bool&) -> Result<RolloutRecord> {
    return other;
  });
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->record.id, first.record.id + 1);
}

TEST_F(SharedStoreTest, ReportsArePooledAcrossReplicasPerWindow) {
  SharedStore a(pg_.dsn(), 2000);
  ASSERT_TRUE(a.open().ok());
  StoredRollout row = start(a);
  VersionObservations g1{10, 1, {1.5, 2.5}}, g2{7, 0, {3.0}}, b1{20, 0, {1.0}};
  ASSERT_TRUE(a.report("r1", row.record.id, row.window, "v2", g1).ok());
  ASSERT_TRUE(a.report("r2", row.record.id, row.window, "v2", g2).ok());
  ASSERT_TRUE(a.report("r1", row.record.id, row.window, "v1", b1).ok());
  ASSERT_TRUE(a.report("r3", row.record.id, row.window + 1, "v2", g1).ok());  // another window
  g1.requests = 12;  // r1's next report replaces its previous one
  ASSERT_TRUE(a.report("r1", row.record.id, row.window, "v2", g1).ok());
  auto p = a.pooled(row.record.id, row.window, "v2", "v1");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->replicas, 2u);
  EXPECT_EQ(p->green.requests, 19u);
  EXPECT_EQ(p->green.errors, 1u);
  EXPECT_EQ(p->green.ttft_ms.size(), 3u);
  EXPECT_EQ(p->blue.requests, 20u);
  ASSERT_TRUE(a.heartbeat("r1", "{\"windows\":[]}").ok());
  auto reps = a.replicas();
  ASSERT_TRUE(reps.ok());
  ASSERT_EQ(reps->size(), 1u);
  EXPECT_EQ(reps->front().replica_id, "r1");
}

TEST_F(SharedStoreTest, AStoppedServerIsAnErrorNotAHang) {
  SharedStore a(pg_.dsn(), 1000);
  ASSERT_TRUE(a.open().ok());
  pg_.stop();
  auto rows = a.loadAll();
  EXPECT_FALSE(rows.ok());
  a.close();
  EXPECT_FALSE(a.open().ok());
  ASSERT_EQ(pg_.start(), "");
  EXPECT_TRUE(a.open().ok());
  EXPECT_TRUE(a.loadAll().ok());
}

TEST(TtftArray, RoundTripsAndKeepsTheLastSamples) {
  EXPECT_EQ(ttftArrayLiteral({1.5, 2, 3.25}, 2), "{2.000,3.250}");
  EXPECT_EQ(parseTtftArray("{2,3.25}"), (std::vector<double>{2, 3.25}));
  EXPECT_TRUE(parseTtftArray("{}").empty());
  EXPECT_TRUE(parseTtftArray("garbage").empty());
}

}  // namespace
}  // namespace regiongate::rollout
