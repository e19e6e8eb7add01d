#include "routing/kv_events.h"

#include <msgpuck.h>

#include <cstring>
#include <span>

#include "common/hash.h"

namespace regiongate::routing {

uint64_t kvHashFromBytes(std::string_view bytes) { return xxh3(bytes, 0x6b76657674ULL); }

namespace {

Error bad(std::string message) {
  return Error{ErrorSource::Upstream, "invalid_kv_event", std::move(message), false};
}

// Structural check before any decoding: every container header is complete and no container
// claims more elements than bytes remain (msgpuck's own mp_check() overflows its element counter
// on 32-bit counts, found by fuzzing), every scalar is complete. Iterative: no recursion depth.
// Returns the end of the first object, or nullptr if invalid.
const char* validate(const char* p, const char* end) {
  uint64_t pending = 1;
  while (pending > 0) {
    if (p >= end) return nullptr;
    --pending;
    mp_type t = mp_typeof(*p);
    if (t == MP_ARRAY || t == MP_MAP) {
      if ((t == MP_ARRAY ? mp_check_array(p, end) : mp_check_map(p, end)) > 0) return nullptr;
      uint64_t n = t == MP_ARRAY ? mp_decode_array(&p) : 2ULL * mp_decode_map(&p);
      if (n > static_cast<uint64_t>(end - p)) return nullptr;
      pending += n;
    } else {
      if (mp_check(&p, end) != 0) return nullptr;
    }
  }
  return p;
}

// All readers run after validate() accepted the whole buffer, so mp_decode_* stay in bounds.
// Each returns false on a type mismatch, leaving `p` unspecified (the caller gives up).

bool readHash(const char*& p, uint64_t& out) {
  switch (mp_typeof(*p)) {
    case MP_UINT: out = mp_decode_uint(&p); return true;
    case MP_INT: out = static_cast<uint64_t>(mp_decode_int(&p)); return true;
    case MP_BIN: {
      uint32_t len = 0;
      const char* d = mp_decode_bin(&p, &len);
      out = kvHashFromBytes({d, len});
      return true;
    }
    case MP_STR: {
      uint32_t len = 0;
      const char* d = mp_decode_str(&p, &len);
      out = kvHashFromBytes({d, len});
      return true;
    }
    default: return false;
  }
}

bool readHashList(const char*& p, std::vector<uint64_t>& out) {
  if (mp_typeof(*p) != MP_ARRAY) return false;
  uint32_t n = mp_decode_array(&p);
  out.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t h = 0;
    if (!readHash(p, h)) return false;
    out.push_back(h);
  }
  return true;
}

bool readOptionalHash(const char*& p, std::optional<uint64_t>& out) {
  if (mp_typeof(*p) == MP_NIL) {
    mp_decode_nil(&p);
    out.reset();
    return true;
  }
  uint64_t h = 0;
  if (!readHash(p, h)) return false;
  out = h;
  return true;
}

bool readInt(const char*& p, int64_t& out) {
  if (mp_typeof(*p) == MP_UINT) {
    uint64_t v = mp_decode_uint(&p);
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
    out = static_cast<int64_t>(v);
    return true;
  }
  if (mp_typeof(*p) == MP_INT) {
    out = mp_decode_int(&p);
    return true;
  }
  return false;
}

bool readOptionalInt(const char*& p, std::optional<int64_t>& out) {
  if (mp_typeof(*p) == MP_NIL) {
    mp_decode_nil(&p);
    out.reset();
    return true;
  }
  int64_t v = 0;
  if (!readInt(p, v)) return false;
  out = v;
  return true;
}

bool readTokens(const char*& p, std::vector<uint32_t>& out) {
  if (mp_typeof(*p) != MP_ARRAY) return false;
  uint32_t n = mp_decode_array(&p);
  out.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (mp_typeof(*p) != MP_UINT) return false;
    uint64_t v = mp_decode_uint(&p);
    if (v > UINT32_MAX) return false;
    out.push_back(static_cast<uint32_t>(v));
  }
  return true;
}

bool readOptionalStr(const char*& p, std::string& out) {
  if (mp_typeof(*p) == MP_NIL) {
    mp_decode_nil(&p);
    out.clear();
    return true;
  }
  if (mp_typeof(*p) != MP_STR) return false;
  uint32_t len = 0;
  const char* d = mp_decode_str(&p, &len);
  out.assign(d, len);
  return true;
}

bool readDouble(const char*& p, double& out) {
  switch (mp_typeof(*p)) {
    case MP_DOUBLE: out = mp_decode_double(&p); return true;
    case MP_FLOAT: out = mp_decode_float(&p); return true;
    case MP_UINT: out = static_cast<double>(mp_decode_uint(&p)); return true;
    case MP_INT: out = static_cast<double>(mp_decode_int(&p)); return true;
    default: return false;
  }
}

bool readKey(const char*& p, std::string_view& key) {
  if (mp_typeof(*p) != MP_STR) return false;
  uint32_t len = 0;
  const char* d = mp_decode_str(&p, &len);
  key = {d, len};
  return true;
}

enum class Tag { Stored, Removed, Cleared, Unknown };
Tag tagOf(std::string_view s) {
  if (s == "BlockStored") return Tag::Stored;
  if (s == "BlockRemoved") return Tag::Removed;
  if (s == "AllBlocksCleared") return Tag::Cleared;
  return Tag::Unknown;
}

bool readBlockSize(const char*& p, uint32_t& out) {
  int64_t v = 0;
  if (!readInt(p, v) || v < 0 || v > UINT32_MAX) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

// One field of an event, by name (map encoding) or by position (array encoding).
bool readField(const char*& p, KvEvent& ev, std::string_view field) {
  if (field == "block_hashes") return readHashList(p, ev.block_hashes);
  if (ev.kind == KvEventKind::BlockStored) {
    if (field == "parent_block_hash") return readOptionalHash(p, ev.parent_block_hash);
    if (field == "token_ids") return readTokens(p, ev.token_ids);
    if (field == "block_size") return readBlockSize(p, ev.block_size);
    if (field == "lora_id") return readOptionalInt(p, ev.lora_id);
  }
  if (field == "medium") return readOptionalStr(p, ev.medium);
  mp_next(&p);  // a field we do not use (lora_name, extra_keys, group_idx, ...)
  return true;
}

constexpr std::string_view kStoredFields[] = {"block_hashes", "parent_block_hash", "token_ids",
                                              "block_size",   "lora_id",           "medium"};
constexpr std::string_view kRemovedFields[] = {"block_hashes", "medium"};

// Returns false on malformed input; sets `known` false for an unknown event type (skipped).
bool readEvent(const char*& p, KvEvent& ev, bool& known, std::string& why) {
  known = true;
  if (mp_typeof(*p) == MP_ARRAY) {
    uint32_t n = mp_decode_array(&p);
    std::string_view tag;
    if (n == 0 || !readKey(p, tag)) { why = "event array without a type tag"; return false; }
    Tag t = tagOf(tag);
    if (t == Tag::Unknown) {
      known = false;
      for (uint32_t i = 1; i < n; ++i) mp_next(&p);
      return true;
    }
    ev.kind = t == Tag::Stored ? KvEventKind::BlockStored
              : t == Tag::Removed ? KvEventKind::BlockRemoved : KvEventKind::AllBlocksCleared;
    std::span<const std::string_view> fields;
    if (t == Tag::Stored) fields = kStoredFields;
    if (t == Tag::Removed) fields = kRemovedFields;
    size_t required = t == Tag::Stored ? 4 : t == Tag::Removed ? 1 : 0;
    if (n - 1 < required) { why = "event array too short for " + std::string(tag); return false; }
    for (uint32_t i = 1; i < n; ++i) {
      if (i - 1 < fields.size()) {
        if (!readField(p, ev, fields[i - 1])) {
          why = "bad field " + std::string(fields[i - 1]) + " in " + std::string(tag);
          return false;
        }
      } else {
        mp_next(&p);
      }
    }
    return true;
  }
  if (mp_typeof(*p) == MP_MAP) {
    uint32_t n = mp_decode_map(&p);
    // The tag may come anywhere; msgspec writes it first. Find it before reading fields.
    const char* scan = p;
    Tag t = Tag::Unknown;
    bool has_tag = false;
    for (uint32_t i = 0; i < n; ++i) {
      std::string_view key;
      if (!readKey(scan, key)) { why = "event map key is not a string"; return false; }
      if (key == "type" && mp_typeof(*scan) == MP_STR) {
        std::string_view tag;
        readKey(scan, tag);
        t = tagOf(tag);
        has_tag = true;
      } else {
        mp_next(&scan);
      }
    }
    if (!has_tag) { why = "event map without \"type\""; return false; }
    if (t == Tag::Unknown) {
      known = false;
      p = scan;
      return true;
    }
    ev.kind = t == Tag::Stored ? KvEventKind::BlockStored
              : t == Tag::Removed ? KvEventKind::BlockRemoved : KvEventKind::AllBlocksCleared;
    for (uint32_t i = 0; i < n; ++i) {
      std::string_view key;
      readKey(p, key);
      if (key == "type") { mp_next(&p); continue; }
      if (!readField(p, ev, key)) { why = "bad field " + std::string(key); return false; }
    }
    return true;
  }
  why = "event is neither an array nor a map";
  return false;
}

bool readEvents(const char*& p, KvEventBatch& batch, std::string& why) {
  if (mp_typeof(*p) != MP_ARRAY) { why = "events is not an array"; return false; }
  uint32_t n = mp_decode_array(&p);
  batch.events.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    KvEvent ev;
    bool known = true;
    if (!readEvent(p, ev, known, why)) return false;
    if (known) batch.events.push_back(std::move(ev)); else ++batch.skipped_events;
  }
  return true;
}

}  // namespace

Result<KvEventBatch> decodeKvEventBatch(std::string_view bytes) {
  if (bytes.empty()) return bad("empty payload");
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  const char* check = validate(p, end);
  if (check == nullptr) return bad("malformed msgpack");
  if (check != end) return bad("trailing bytes after the batch");

  KvEventBatch batch;
  std::string why;
  if (mp_typeof(*p) == MP_ARRAY) {
    uint32_t n = mp_decode_array(&p);
    if (n < 2) return bad("batch array needs [ts, events]");
    if (!readDouble(p, batch.ts)) return bad("batch ts is not a number");
    if (!readEvents(p, batch, why)) return bad(why);
    if (n >= 3 && !readOptionalInt(p, batch.data_parallel_rank))
      return bad("data_parallel_rank is not an int");
    return batch;
  }
  if (mp_typeof(*p) == MP_MAP) {
    uint32_t n = mp_decode_map(&p);
    bool has_events = false;
    for (uint32_t i = 0; i < n; ++i) {
      std::string_view key;
      if (!readKey(p, key)) return bad("batch map key is not a string");
      if (key == "ts") {
        if (!readDouble(p, batch.ts)) return bad("batch ts is not a number");
      } else if (key == "events") {
        if (!readEvents(p, batch, why)) return bad(why);
        has_events = true;
      } else if (key == "data_parallel_rank") {
        if (!readOptionalInt(p, batch.data_parallel_rank))
          return bad("data_parallel_rank is not an int");
      } else {
        mp_next(&p);
      }
    }
    if (!has_events) return bad("batch map without \"events\"");
    return batch;
  }
  return bad("batch is neither an array nor a map");
}

namespace {

class Writer {
public:
  void array(uint32_t n) { grow(mp_sizeof_array(n)); pos_ = mp_encode_array(pos_, n); }
  void map(uint32_t n) { grow(mp_sizeof_map(n)); pos_ = mp_encode_map(pos_, n); }
  void str(std::string_view s) {
    grow(mp_sizeof_str(static_cast<uint32_t>(s.size())));
    pos_ = mp_encode_str(pos_, s.data(), static_cast<uint32_t>(s.size()));
  }
  void uint(uint64_t v) { grow(mp_sizeof_uint(v)); pos_ = mp_encode_uint(pos_, v); }
  void sint(int64_t v) {
    if (v >= 0) return uint(static_cast<uint64_t>(v));
    grow(mp_sizeof_int(v));
    pos_ = mp_encode_int(pos_, v);
  }
  void dbl(double v) { grow(mp_sizeof_double(v)); pos_ = mp_encode_double(pos_, v); }
  void nil() { grow(mp_sizeof_nil()); pos_ = mp_encode_nil(pos_); }
  std::string take() {
    buf_.resize(static_cast<size_t>(pos_ - buf_.data()));
    return std::move(buf_);
  }

private:
  void grow(size_t need) {
    size_t used = pos_ ? static_cast<size_t>(pos_ - buf_.data()) : 0;
    if (buf_.size() < used + need) buf_.resize(std::max(buf_.size() * 2, used + need + 64));
    pos_ = buf_.data() + used;
  }
  std::string buf_;
  char* pos_ = nullptr;
};

void writeHashes(Writer& w, const std::vector<uint64_t>& hs) {
  w.array(static_cast<uint32_t>(hs.size()));
  for (uint64_t h : hs) w.uint(h);
}

void writeEvent(Writer& w, const KvEvent& ev, KvEncoding enc) {
  bool map = enc == KvEncoding::Map;
  auto key = [&](std::string_view k) { if (map) w.str(k); };
  switch (ev.kind) {
    case KvEventKind::BlockStored:
      if (map) w.map(7); else w.array(7);
      key("type"); w.str("BlockStored");
      key("block_hashes"); writeHashes(w, ev.block_hashes);
      key("parent_block_hash");
      if (ev.parent_block_hash) w.uint(*ev.parent_block_hash); else w.nil();
      key("token_ids");
      w.array(static_cast<uint32_t>(ev.token_ids.size()));
      for (uint32_t t : ev.token_ids) w.uint(t);
      key("block_size"); w.uint(ev.block_size);
      key("lora_id"); if (ev.lora_id) w.sint(*ev.lora_id); else w.nil();
      key("medium"); if (ev.medium.empty()) w.nil(); else w.str(ev.medium);
      break;
    case KvEventKind::BlockRemoved:
      if (map) w.map(3); else w.array(3);
      key("type"); w.str("BlockRemoved");
      key("block_hashes"); writeHashes(w, ev.block_hashes);
      key("medium"); if (ev.medium.empty()) w.nil(); else w.str(ev.medium);
      break;
    case KvEventKind::AllBlocksCleared:
      if (map) w.map(1); else w.array(1);
      key("type"); w.str("AllBlocksCleared");
      break;
  }
}

}  // namespace

std::string encodeKvEventBatch(const KvEventBatch& batch, KvEncoding enc) {
  Writer w;
  bool map = enc == KvEncoding::Map;
  uint32_t fields = batch.data_parallel_rank ? 3 : 2;
  if (map) w.map(fields); else w.array(fields);
  if (map) w.str("ts");
  w.dbl(batch.ts);
  if (map) w.str("events");
  w.array(static_cast<uint32_t>(batch.events.size()));
  for (const auto& ev : batch.events) writeEvent(w, ev, enc);
  if (batch.data_parallel_rank) {
    if (map) w.str("data_parallel_rank");
    w.sint(*batch.data_parallel_rank);
  }
  return w.take();
}

}  // namespace regiongate::routing
