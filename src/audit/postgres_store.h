#pragma once
// PostgreSQL sink (libpq): the same schema as SQLite (schema.h: one audit_segments row per group
// commit, segment.h), for several gateway replicas writing into one database at once; each
// replica appends only to its own chain (replica_id column), so replicas never contend for a row.
// open() migrates a database of the older one-row-per-record layout in place. Not thread-safe:
// owned by one writer thread (or the CLI).
#include <string>

#include "audit/store.h"
#include "pg/connection.h"

namespace regiongate::audit {

class PostgresStore final : public Store {
public:
  // read_only (verify / query): never creates, migrates or writes anything (the session is set
  // read-only); a database of the older layout is read as it is.
  explicit PostgresStore(std::string dsn, int connect_timeout_s = 3, bool read_only = false);
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  std::string kind() const override { return "postgres"; }
  std::string name() const override { return conn_.name(); }  // the DSN, password masked
  Status open() override;
  Result<ChainHead> chainHead(const std::string& replica_id) override;
  Status append(const std::vector<Record>& batch, const Checkpoint* checkpoint) override;
  Result<std::vector<std::string>> replicas() override;
  Status scan(const ScanQuery& q, const std::function<bool(const Record&)>& fn) override;
  Result<std::vector<Checkpoint>> checkpoints(const std::string& replica_id) override;
  Result<std::vector<SegmentInfo>> segmentIndex(const std::string& replica_id) override;
  Result<std::vector<PruneAnchor>> pruneAnchors(const std::string& replica_id) override;
  Status prune(const PruneAnchor& anchor) override;

private:
  Status detectLayout();
  Status createSchema();
  Status migrateLegacyTable();
  Status insertSegments(const std::vector<Record>& recs);
  Status scanLegacy(const ScanQuery& q, const std::function<bool(const Record&)>& fn);

  pg::Connection conn_;
  int connect_timeout_s_;
  bool read_only_;
  bool legacy_ = false;  // read-only open of a database written before segments
  bool has_prunes_ = true;  // false: a read-only open found no audit_prunes (never pruned)
};

}  // namespace regiongate::audit
