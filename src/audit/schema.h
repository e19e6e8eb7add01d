#pragma once
// The audit schema shared by the SQLite and PostgreSQL sinks (same tables, same columns).
// audit_segments: one row per group commit of one replica's chain (segment.h), primary key
//   (replica_id, first_seq): each replica its own chain.
// audit_records: a VIEW with one row per record (the 26 columns below), for SQL users; the
//   gateway and the CLI read the segments directly.
// audit_checkpoints: signed (replica_id, seq, hash, ts_us) rows, see checkpoint.h.
// audit_prunes: signed retention anchors (checkpoint.h PruneAnchor, audit/prune.h); created by
//   the first writable open, absent from older stores (read as "never pruned").
//
// Stores written before segments (audit_records was a table, one row per record) are migrated
// in place by the first writer that opens them (SqliteStore::open / PostgresStore::open): the
// records, and so their hashes, are unchanged.

namespace regiongate::audit::schema {

// Column order of the audit_records view (26 columns) and of the legacy table.
inline constexpr const char* kRecordColumns =
    "replica_id, seq, ts_us, request_id, tenant, jurisdiction, model, model_version, "
    "intended_region, actual_region, evidence, evidence_value, endpoint, attempts, status, "
    "ttft_ms, duration_ms, prompt_tokens, cached_tokens, completion_tokens, violation, "
    "error_type, prompt_text, completion_text, prev_hash, hash";
inline constexpr int kRecordColumnCount = 26;

inline constexpr const char* kSegmentColumns =
    "replica_id, first_seq, last_seq, min_ts_us, max_ts_us, record_count, violations, records";

inline constexpr const char* kCheckpointColumns = "replica_id, seq, hash, ts_us, mac";

inline constexpr const char* kPruneColumns = "replica_id, through_seq, hash, ts_us, cutoff_us, mac";

// `int8` is BIGINT in PostgreSQL; SQLite takes any of these type names.
inline constexpr const char* kCreateSegments =
    "CREATE TABLE IF NOT EXISTS audit_segments ("
    "replica_id TEXT NOT NULL, first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL, "
    "min_ts_us BIGINT NOT NULL, max_ts_us BIGINT NOT NULL, record_count BIGINT NOT NULL, "
    "violations BIGINT NOT NULL, records TEXT NOT NULL, "
    "PRIMARY KEY (replica_id, first_seq))";
inline constexpr const char* kCreateCheckpoints =
    "CREATE TABLE IF NOT EXISTS audit_checkpoints ("
    "replica_id TEXT NOT NULL, seq BIGINT NOT NULL, hash TEXT NOT NULL, ts_us BIGINT NOT NULL, "
    "mac TEXT NOT NULL, PRIMARY KEY (replica_id, seq))";

// Retention anchors (checkpoint.h PruneAnchor): one row per prune transaction.
inline constexpr const char* kCreatePrunes =
    "CREATE TABLE IF NOT EXISTS audit_prunes ("
    "replica_id TEXT NOT NULL, through_seq BIGINT NOT NULL, hash TEXT NOT NULL, "
    "ts_us BIGINT NOT NULL, cutoff_us BIGINT NOT NULL, mac TEXT NOT NULL, "
    "PRIMARY KEY (replica_id, through_seq))";

// The per-record view. SQLite (JSON1 is built into Debian's libsqlite3):
inline constexpr const char* kCreateRecordsViewSqlite =
    "CREATE VIEW IF NOT EXISTS audit_records AS SELECT "
    "json_extract(e.value,'$.replica_id') AS replica_id, json_extract(e.value,'$.seq') AS seq, "
    "json_extract(e.value,'$.ts_us') AS ts_us, json_extract(e.value,'$.request_id') AS request_id, "
    "json_extract(e.value,'$.tenant') AS tenant, "
    "json_extract(e.value,'$.jurisdiction') AS jurisdiction, "
    "json_extract(e.value,'$.model') AS model, "
    "json_extract(e.value,'$.model_version') AS model_version, "
    "json_extract(e.value,'$.intended_region') AS intended_region, "
    "json_extract(e.value,'$.actual_region') AS actual_region, "
    "json_extract(e.value,'$.evidence') AS evidence, "
    "json_extract(e.value,'$.evidence_value') AS evidence_value, "
    "json_extract(e.value,'$.endpoint') AS endpoint, "
    "json_extract(e.value,'$.attempts') AS attempts, json_extract(e.value,'$.status') AS status, "
    "json_extract(e.value,'$.ttft_ms') AS ttft_ms, "
    "json_extract(e.value,'$.duration_ms') AS duration_ms, "
    "json_extract(e.value,'$.prompt_tokens') AS prompt_tokens, "
    "json_extract(e.value,'$.cached_tokens') AS cached_tokens, "
    "json_extract(e.value,'$.completion_tokens') AS completion_tokens, "
    "json_extract(e.value,'$.violation') AS violation, "
    "json_extract(e.value,'$.error_type') AS error_type, "
    "json_extract(e.value,'$.prompt_text') AS prompt_text, "
    "json_extract(e.value,'$.completion_text') AS completion_text, "
    "json_extract(e.value,'$.prev_hash') AS prev_hash, json_extract(e.value,'$.hash') AS hash "
    "FROM audit_segments AS s, json_each(s.records) AS e";
// PostgreSQL:
inline constexpr const char* kCreateRecordsViewPostgres =
    "CREATE OR REPLACE VIEW audit_records AS SELECT "
    "e->>'replica_id' AS replica_id, (e->>'seq')::int8 AS seq, (e->>'ts_us')::int8 AS ts_us, "
    "e->>'request_id' AS request_id, e->>'tenant' AS tenant, e->>'jurisdiction' AS jurisdiction, "
    "e->>'model' AS model, e->>'model_version' AS model_version, "
    "e->>'intended_region' AS intended_region, e->>'actual_region' AS actual_region, "
    "e->>'evidence' AS evidence, e->>'evidence_value' AS evidence_value, "
    "e->>'endpoint' AS endpoint, (e->'attempts')::text AS attempts, "
    "(e->>'status')::int AS status, (e->>'ttft_ms')::float8 AS ttft_ms, "
    "(e->>'duration_ms')::float8 AS duration_ms, (e->>'prompt_tokens')::int8 AS prompt_tokens, "
    "(e->>'cached_tokens')::int8 AS cached_tokens, "
    "(e->>'completion_tokens')::int8 AS completion_tokens, e->>'violation' AS violation, "
    "e->>'error_type' AS error_type, e->>'prompt_text' AS prompt_text, "
    "e->>'completion_text' AS completion_text, e->>'prev_hash' AS prev_hash, e->>'hash' AS hash "
    "FROM audit_segments AS s, json_array_elements(s.records::json) AS e";

}  // namespace regiongate::audit::schema
