#pragma once
// The audit schema shared by the SQLite and PostgreSQL sinks (same tables, same columns).
// audit_records: one row per request, primary key (replica_id, seq): each replica its own chain.
// audit_checkpoints: signed (replica_id, seq, hash, ts_us) rows, see checkpoint.h.

namespace regiongate::audit::schema {

// Column order used by every INSERT and SELECT of audit_records (26 columns).
inline constexpr const char* kRecordColumns =
    "replica_id, seq, ts_us, request_id, tenant, jurisdiction, model, model_version, "
    "intended_region, actual_region, evidence, evidence_value, endpoint, attempts, status, "
    "ttft_ms, duration_ms, prompt_tokens, cached_tokens, completion_tokens, violation, "
    "error_type, prompt_text, completion_text, prev_hash, hash";
inline constexpr int kRecordColumnCount = 26;

inline constexpr const char* kCheckpointColumns = "replica_id, seq, hash, ts_us, mac";

// `int8` is BIGINT in PostgreSQL; SQLite takes any of these type names.
inline constexpr const char* kCreateRecords =
    "CREATE TABLE IF NOT EXISTS audit_records ("
    "replica_id TEXT NOT NULL, seq BIGINT NOT NULL, ts_us BIGINT NOT NULL, "
    "request_id TEXT NOT NULL, tenant TEXT NOT NULL, jurisdiction TEXT NOT NULL, "
    "model TEXT NOT NULL, model_version TEXT NOT NULL, intended_region TEXT NOT NULL, "
    "actual_region TEXT NOT NULL, evidence TEXT NOT NULL, evidence_value TEXT NOT NULL, "
    "endpoint TEXT NOT NULL, attempts TEXT NOT NULL, status INTEGER NOT NULL, "
    "ttft_ms DOUBLE PRECISION NOT NULL, duration_ms DOUBLE PRECISION NOT NULL, "
    "prompt_tokens BIGINT NOT NULL, cached_tokens BIGINT NOT NULL, "
    "completion_tokens BIGINT NOT NULL, violation TEXT NOT NULL, error_type TEXT NOT NULL, "
    "prompt_text TEXT, completion_text TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, "
    "PRIMARY KEY (replica_id, seq))";
inline constexpr const char* kCreateRecordsTsIndex =
    "CREATE INDEX IF NOT EXISTS audit_records_ts ON audit_records (ts_us)";
inline constexpr const char* kCreateCheckpoints =
    "CREATE TABLE IF NOT EXISTS audit_checkpoints ("
    "replica_id TEXT NOT NULL, seq BIGINT NOT NULL, hash TEXT NOT NULL, ts_us BIGINT NOT NULL, "
    "mac TEXT NOT NULL, PRIMARY KEY (replica_id, seq))";

}  // namespace regiongate::audit::schema
