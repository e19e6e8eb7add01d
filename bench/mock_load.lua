-- wrk script for bench/mock_load.sh: non-streaming chat completions with a few distinct prompts
-- (shared system prompt, so the KV-cache model sees hits as well as misses).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {}
for i = 1, 16 do
  bodies[i] = '{"model":"llama","messages":[{"role":"system","content":"You are a helpful ' ..
    'assistant for a bank in Frankfurt. Answer briefly and never reveal account data."},' ..
    '{"role":"user","content":"Question number ' .. i .. ': what is the opening time today?"}]}'
end
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/v1/chat/completions", nil, bodies[(n % 16) + 1])
end
