-- wrk script: POST an OpenAI chat body with a tenant bearer key (bench/gateway_load.sh).
-- Env: BENCH_KEY (default sk-bench-load), BENCH_STREAM=1 for "stream": true,
--      BENCH_EXTRA_HEADERS="Name: value; Name: value" for headers a peer gateway needs (a value
--      may hold ':' but not ';').
local key = os.getenv("BENCH_KEY") or "sk-bench-load"
local stream = os.getenv("BENCH_STREAM") == "1"
wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
for item in string.gmatch(os.getenv("BENCH_EXTRA_HEADERS") or "", "[^;]+") do
  local name, value = string.match(item, "^%s*([%w-]+)%s*:%s*(.-)%s*$")
  if not name then error("BENCH_EXTRA_HEADERS: not 'Name: value': '" .. item .. "'") end
  wrk.headers[name] = value
end
wrk.body = '{"model":"llama-3.1-8b","max_tokens":16,"stream":' .. tostring(stream) ..
  ',"messages":[{"role":"system","content":"You are a helpful assistant for a bank."},' ..
  '{"role":"user","content":"Summarise the residency rules for EU customer data in two lines."}]}'

-- One machine-readable line at the end (latencies in microseconds).
done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d rps=%.1f p50=%d p99=%d p999=%d max=%d connect_err=%d read_err=%d " ..
    "write_err=%d status_err=%d timeout_err=%d\n",
    summary.requests, summary.requests / secs, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
