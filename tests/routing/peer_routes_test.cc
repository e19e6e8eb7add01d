// The shared-routes wire format (peer input: every malformed payload is refused with a typed
// error) and the policy hook that applies a peer's route to the prefix index.
#include <gtest/gtest.h>

#include <string>

#include "common/clock.h"
#include "routing/estimated_ttft.h"
#include "routing/peer_routes.h"
#include "routing/sglang_cache_aware.h"

namespace regiongate::routing {
namespace {

PeerRoute route(std::string model, std::string endpoint, std::vector<uint64_t> blocks) {
  return PeerRoute{std::move(model), std::move(endpoint), std::move(blocks)};
}

TEST(PeerRoutes, RoundTrips) {
  std::vector<PeerRoute> in = {route("llama-3.1-8b", "fra-a", {1, 0xffffffffffffffffull, 42}),
                               route("meta/llama@v2", "dub-a", {7})};
  size_t skipped = 0;
  auto payloads = encodePeerRoutes("gw-1/00ab", "EU", in, skipped);
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_EQ(skipped, 0u);
  auto out = decodePeerRoutes(payloads[0]);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->sender, "gw-1/00ab");
  EXPECT_EQ(out->jurisdiction, "EU");
  ASSERT_EQ(out->routes.size(), 2u);
  EXPECT_EQ(out->routes[0].model, "llama-3.1-8b");
  EXPECT_EQ(out->routes[0].endpoint, "fra-a");
  EXPECT_EQ(out->routes[0].blocks, in[0].blocks);
  EXPECT_EQ(out->routes[1].blocks, in[1].blocks);
}

TEST(PeerRoutes, SplitsPayloadsUnderTheLimitAndKeepsLeadingBlocks) {
  std::vector<uint64_t> many(2000);
  for (size_t i = 0; i < many.size(); ++i) many[i] = 0x1000000000000000ull + i;
  std::vector<PeerRoute> in;
  for (int i = 0; i < 30; ++i) in.push_back(route("m", "e" + std::to_string(i), many));
  size_t skipped = 0;
  auto payloads = encodePeerRoutes("s", "EU", in, skipped);
  EXPECT_EQ(skipped, 0u);
  EXPECT_GE(payloads.size(), 30u / 2);
  size_t routes = 0;
  for (const auto& p : payloads) {
    EXPECT_LE(p.size(), kMaxPeerPayloadBytes);
    auto b = decodePeerRoutes(p);
    ASSERT_TRUE(b.ok()) << b.error().message;
    for (const auto& r : b->routes) {
      ASSERT_FALSE(r.blocks.empty());
      EXPECT_TRUE(std::equal(r.blocks.begin(), r.blocks.end(), many.begin()));  // a prefix
    }
    routes += b->routes.size();
  }
  EXPECT_EQ(routes, in.size());
}

TEST(PeerRoutes, LeavesOutUnencodableRoutes) {
  std::vector<PeerRoute> in = {route("bad\tmodel", "fra-a", {1}), route("m", "fra a", {1}),
                               route("m", "fra-a", {}), route("m", "fra-a", {3})};
  size_t skipped = 0;
  auto payloads = encodePeerRoutes("s", "EU", in, skipped);
  EXPECT_EQ(skipped, 3u);
  ASSERT_EQ(payloads.size(), 1u);
  auto b = decodePeerRoutes(payloads[0]);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->routes.size(), 1u);
  EXPECT_EQ(b->routes[0].blocks, std::vector<uint64_t>{3});
}

TEST(PeerRoutes, RefusesMalformedPayloads) {
  const std::string ok_head = "rg-routes 1 s EU\n";
  const std::vector<std::string> bad = {
      "",
      "rg-routes 2 s EU\nm\te\t1\n",        // unknown version
      "rg-routes 1 s EU",                    // no newline after the header
      "rg-routes 1 s\nm\te\t1\n",            // no jurisdiction
      "rg-routes 1 s E U\nm\te\t1\n",        // a space in the jurisdiction
      ok_head,                               // no routes
      ok_head + "m\te\t1",                   // route without its newline
      ok_head + "m\te\n",                    // two fields
      ok_head + "m\te\t\n",                  // no blocks
      ok_head + "m\te\t1,,2\n",              // empty hash
      ok_head + "m\te\t12345678901234567\n", // 17 hex digits
      ok_head + "m\te\tzz\n",                // not hex
      ok_head + "m\te\t-1\n",                // sign
      ok_head + "m\t\t1\n",                  // empty endpoint
      ok_head + "m\te\x01\t1\n",             // control byte in a name
      ok_head + std::string(200, 'm') + "\te\t1\n",  // model id too long
      ok_head + "m\te\t1\n" + std::string(8000, 'x'),  // over the NOTIFY limit
      std::string("rg-routes 1 s EU\nm\te\t1\0\n", 25),  // NUL
  };
  for (const auto& p : bad) {
    auto r = decodePeerRoutes(p);
    EXPECT_FALSE(r.ok()) << "accepted: " << p.substr(0, 80);
    if (!r.ok()) EXPECT_EQ(r.error().code, "invalid_peer_routes");
  }
  std::string too_many = ok_head + "m\te\t";
  for (size_t i = 0; i <= kMaxPeerRouteBlocks; ++i) too_many += (i ? ",1" : "1");
  EXPECT_FALSE(decodePeerRoutes(too_many + "\n").ok());
}

TEST(PeerRoutes, SenderIdIsEncodable) {
  std::string id = peerSenderId("pod 7\n", 0xab);
  EXPECT_EQ(id, "pod_7_/00000000000000ab");
  auto payloads = [&] {
    size_t skipped = 0;
    std::vector<PeerRoute> in = {route("m", "e", {1})};
    return encodePeerRoutes(peerSenderId(std::string(300, 'r'), 1), "EU", in, skipped);
  }();
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_TRUE(decodePeerRoutes(payloads[0]).ok());
}

RouteRequest request(std::span<const uint64_t> blocks, std::string_view j) {
  RouteRequest r;
  r.jurisdiction = j;
  r.model = "llama";
  r.blocks = blocks;
  r.prompt_tokens = blocks.size() * 64;
  return r;
}

// A peer's route makes the policy follow it as its own would; other jurisdictions learn nothing.
TEST(LearnPeerRoute, SteersThePickWithinItsJurisdictionOnly) {
  ManualClock clock;
  std::vector<uint64_t> blocks = {11, 12, 13, 14, 15, 16, 17, 18};
  std::vector<Candidate> c = {{0, 0, 0, 0, 1}, {1, 0, 0, 0, 1}, {2, 0, 0, 0, 1}};
  for (std::string_view name : {"estimated_ttft", "sglang_cache_aware"}) {
    auto p = makePolicy(name, {}, clock);
    p->learnPeerRoute(request(blocks, "EU"), 2);
    EXPECT_EQ(p->pick(request(blocks, "EU"), c), 2u) << name;
    auto other = makePolicy(name, {}, clock);
    other->learnPeerRoute(request(blocks, "US"), 2);
    auto* base = dynamic_cast<PrefixPolicyBase*>(other.get());
    ASSERT_NE(base, nullptr);
    EXPECT_EQ(base->index("EU", "llama"), nullptr) << name;
    ASSERT_NE(base->index("US", "llama"), nullptr) << name;
    EXPECT_EQ(base->index("US", "llama")->matchedBlocks(blocks, 2, 0), blocks.size()) << name;
  }
}

}  // namespace
}  // namespace regiongate::routing
