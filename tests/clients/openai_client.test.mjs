// The official `openai` npm client (tests/clients/package.json pins it) against a running
// regiongate. Starts nothing itself: tests/clients/openai_client_test.cc (GoogleTest) starts
// the mock backends and the gateway, runs `npm ci`, then `node --test` with:
//   GATEWAY_URL      base URL of the gateway's OpenAI API, e.g. http://127.0.0.1:8080/v1
//   REGIONGATE_KEY   a tenant API key
//   ALLOWED_REGIONS  comma-separated regions of that tenant's jurisdiction
//   REGIONGATE_MODEL model name (default llama-3.1-8b)
// Run by hand against `regiongate demo --keep-running`:
//   GATEWAY_URL=http://127.0.0.1:<port>/v1 REGIONGATE_KEY=sk-demo-acme-bank \
//   REGIONGATE_MODEL=llama-2-70b ALLOWED_REGIONS=eu-central-1,eu-west-1 npm test
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";

const baseURL = process.env.GATEWAY_URL;
const apiKey = process.env.REGIONGATE_KEY;
const model = process.env.REGIONGATE_MODEL || "llama-3.1-8b";
const allowed = (process.env.ALLOWED_REGIONS || "").split(",").filter((r) => r !== "");

// Missing settings are a failure, not a skip: a run that tests nothing must not look green.
test("settings are present", () => {
  assert.ok(baseURL, "GATEWAY_URL is not set");
  assert.ok(apiKey, "REGIONGATE_KEY is not set");
  assert.ok(allowed.length > 0, "ALLOWED_REGIONS is not set");
});

const client = new OpenAI({ baseURL, apiKey: apiKey || "unset", maxRetries: 0, timeout: 20000 });
const messages = [
  { role: "system", content: "You are a helpful assistant for a bank in Frankfurt." },
  { role: "user", content: "How do I change my address?" },
];

test("chat completion (non-streaming)", async () => {
  const { data, response } = await client.chat.completions
    .create({ model, messages })
    .withResponse();
  assert.equal(response.status, 200);
  assert.equal(data.object, "chat.completion");
  assert.ok(data.choices.length >= 1);
  assert.equal(typeof data.choices[0].message.content, "string");
  assert.ok(data.choices[0].message.content.length > 0, "empty content");
  assert.ok(data.usage && data.usage.prompt_tokens > 0, "usage.prompt_tokens missing");
  const region = response.headers.get("x-regiongate-region");
  assert.ok(allowed.includes(region), `served in ${region}, allowed: ${allowed}`);
});

test("chat completion (streaming)", async () => {
  const { data: stream, response } = await client.chat.completions
    .create({ model, messages, stream: true, stream_options: { include_usage: true } })
    .withResponse();
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") || "", /text\/event-stream/);
  const region = response.headers.get("x-regiongate-region");
  assert.ok(allowed.includes(region), `served in ${region}, allowed: ${allowed}`);
  let text = "";
  let chunks = 0;
  let finish = null;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, "chat.completion.chunk");
    for (const c of chunk.choices) {
      if (c.delta && typeof c.delta.content === "string") text += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.ok(chunks >= 2, `only ${chunks} chunks`);
  assert.ok(text.length > 0, "no streamed content");
  assert.ok(finish, "no finish_reason in the stream");
});

test("a wrong key is an AuthenticationError (401)", async () => {
  const bad = new OpenAI({ baseURL, apiKey: "sk-not-a-tenant", maxRetries: 0, timeout: 20000 });
  await assert.rejects(bad.chat.completions.create({ model, messages }), (err) => {
    assert.ok(err instanceof OpenAI.AuthenticationError, `got ${err && err.constructor.name}`);
    assert.equal(err.status, 401);
    return true;
  });
});

// A model no endpoint serves: the gateway refuses with a typed 404 model_not_found (a typo, not
// an outage: no Retry-After); the client surfaces it as an APIError.
test("an unknown model is a typed 404 the client can read", async () => {
  await assert.rejects(
    client.chat.completions.create({ model: "no-such-model", messages }),
    (err) => {
      assert.ok(err instanceof OpenAI.APIError, `got ${err && err.constructor.name}`);
      assert.equal(err.status, 404);
      assert.equal(err.type, "invalid_request_error");
      assert.equal(err.code, "model_not_found");
      assert.ok(typeof err.error.message === "string" && err.error.message.length > 0);
      return true;
    });
});

test("models.list includes the model", async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.ok(ids.includes(model), `models: ${ids}`);
});
