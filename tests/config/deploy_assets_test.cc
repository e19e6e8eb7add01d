// The deployment assets keep the admin listener closed: the Kubernetes NetworkPolicy admits only
// the monitoring namespace to the admin port (the data port stays open); the ConfigMap's gateway
// config loads and holds an operate token whose digest is that of the Secret's token, which the
// Deployment hands to the CLI; every `docker run` in the docs publishes the admin port on the
// host's loopback only.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/hash.h"
#include "config/loader.h"

namespace regiongate {
namespace {

const std::string kRepo = REGIONGATE_SOURCE_DIR;
const std::string kKube = kRepo + "/deploy/kubernetes/";

// The documents of a multi-document YAML file.
std::vector<YAML::Node> documents(const std::string& path) { return YAML::LoadAllFromFile(path); }

YAML::Node documentOfKind(const std::string& path, const std::string& kind,
                          const std::string& name = "") {
  for (const auto& d : documents(path))
    if (d["kind"] && d["kind"].as<std::string>() == kind &&
        (name.empty() || d["metadata"]["name"].as<std::string>() == name))
      return d;
  return YAML::Node();
}

std::set<std::string> portNames(const YAML::Node& rule) {
  std::set<std::string> out;
  for (const auto& p : rule["ports"]) out.insert(p["port"].as<std::string>());
  return out;
}

// The gateway's own config, as the ConfigMap mounts it.
std::string gatewayYaml() {
  YAML::Node cm = documentOfKind(kKube + "configmap.yaml", "ConfigMap");
  return cm ? cm["data"]["gateway.yaml"].as<std::string>() : "";
}

TEST(DeployAssets, NetworkPolicyAdmitsOnlyMonitoringToTheAdminPort) {
  YAML::Node np = documentOfKind(kKube + "networkpolicy.yaml", "NetworkPolicy");
  ASSERT_TRUE(np);
  YAML::Node deploy = documentOfKind(kKube + "deployment.yaml", "Deployment");
  ASSERT_TRUE(deploy);
  // It selects the gateway's pods.
  EXPECT_EQ(np["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as<std::string>(),
            deploy["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"].as<std::string>());
  bool admin_rule = false, data_rule = false;
  for (const auto& rule : np["spec"]["ingress"]) {
    const auto ports = portNames(rule);
    if (ports.empty()) ADD_FAILURE() << "an ingress rule without ports opens every port";
    if (!ports.count("admin")) {
      data_rule = data_rule || ports.count("http");
      continue;
    }
    admin_rule = true;
    ASSERT_TRUE(rule["from"] && rule["from"].size() > 0) << "the admin port is open to everyone";
    for (const auto& peer : rule["from"]) {
      EXPECT_FALSE(peer["ipBlock"]) << "an address range reaches the admin port";
      EXPECT_FALSE(peer["podSelector"]) << "pods outside the monitoring namespace reach it";
      EXPECT_EQ(peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as<std::string>(""),
                "monitoring");
    }
  }
  EXPECT_TRUE(admin_rule) << "no rule names the admin port";
  EXPECT_TRUE(data_rule) << "the data port is not admitted";
  // The port named admin is the one the gateway's admin listener binds.
  auto cfg = loadConfigString(gatewayYaml(), "configmap.yaml", LoadOptions{false});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  std::string admin_port;
  for (const auto& p : deploy["spec"]["template"]["spec"]["containers"][0]["ports"])
    if (p["name"].as<std::string>() == "admin") admin_port = p["containerPort"].as<std::string>();
  EXPECT_FALSE(admin_port.empty());
  EXPECT_TRUE(cfg.value()->admin_listen.ends_with(":" + admin_port)) << cfg.value()->admin_listen;
}

TEST(DeployAssets, AdminTokenComesFromTheSecretAndOnlyItsDigestIsInTheConfig) {
  auto cfg = loadConfigString(gatewayYaml(), "configmap.yaml", LoadOptions{false});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  const AdminConfig& admin = cfg.value()->admin;
  const std::vector<std::string> public_paths = {"/metrics", "/healthz", "/readyz"};
  EXPECT_EQ(admin.public_paths, public_paths);
  YAML::Node secret = documentOfKind(kKube + "secret.example.yaml", "Secret", "regiongate-admin-token");
  ASSERT_TRUE(secret);
  const std::string token = secret["stringData"]["token"].as<std::string>();
  bool operate = false;
  for (const auto& t : admin.tokens)
    operate = operate || (t.scope == AdminScope::Operate && t.sha256 == sha256Hex(token));
  EXPECT_TRUE(operate) << "no operate token in the ConfigMap has the Secret's token's digest";
  // The Deployment gives the CLI the token from that Secret.
  YAML::Node deploy = documentOfKind(kKube + "deployment.yaml", "Deployment");
  ASSERT_TRUE(deploy);
  std::string from_secret;
  for (const auto& e : deploy["spec"]["template"]["spec"]["containers"][0]["env"])
    if (e["name"].as<std::string>() == "REGIONGATE_ADMIN_TOKEN")
      from_secret = e["valueFrom"]["secretKeyRef"]["name"].as<std::string>("");
  EXPECT_EQ(from_secret, "regiongate-admin-token");
}

TEST(DeployAssets, DockerRunPublishesTheAdminPortOnLoopbackOnly) {
  // -p [HOST:]9901:9901 (HOST an IPv4 address; none = every interface).
  const std::regex publish(R"(-p\s+((?:[0-9.]+:)?)9901:9901)");
  int runs = 0;
  for (const std::string file : {"README.md", "docs/operations.md", "docs/quickstart.md",
                                 "deploy/docker/Dockerfile"}) {
    std::ifstream in(kRepo + "/" + file);
    for (std::string line; std::getline(in, line);) {
      if (line.find("docker run") == std::string::npos) continue;
      for (std::sregex_iterator m(line.begin(), line.end(), publish), end; m != end; ++m) {
        ++runs;
        EXPECT_EQ((*m)[1].str(), "127.0.0.1:") << file << ": " << line;
      }
    }
  }
  EXPECT_GE(runs, 2) << "no docker run publishes the admin port";
}

}  // namespace
}  // namespace regiongate
