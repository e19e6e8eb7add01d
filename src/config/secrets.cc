#include "config/secrets.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace regiongate {

namespace {

constexpr size_t kMaxSecretBytes = 64 * 1024;

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool hasControl(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

Result<std::string> readSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::config("cannot read credential file '" + path + "'");
  std::string data(kMaxSecretBytes + 1, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<size_t>(in.gcount()));
  if (data.size() > kMaxSecretBytes)
    return Error::config("credential file '" + path + "' is larger than 64 KiB");
  return data;
}

// [section] -> key -> value of an INI file ('#' and ';' start comments).
std::map<std::string, std::map<std::string, std::string>> parseIni(const std::string& text) {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::istringstream lines(text);
  std::string line, section;
  while (std::getline(lines, line)) {
    std::string_view l = trim(line);
    if (l.empty() || l.front() == '#' || l.front() == ';') continue;
    if (l.front() == '[' && l.back() == ']') {
      section = std::string(trim(l.substr(1, l.size() - 2)));
      continue;
    }
    auto eq = l.find('=');
    if (eq == std::string_view::npos) continue;
    out[section][std::string(trim(l.substr(0, eq)))] = std::string(trim(l.substr(eq + 1)));
  }
  return out;
}

}  // namespace

Result<Secret> secretFromEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr || *v == '\0')
    return Error::config("environment variable '" + name + "' is not set or empty");
  std::string_view value = trim(v);
  if (value.empty() || hasControl(value))
    return Error::config("environment variable '" + name + "' holds no usable credential");
  return Secret{std::string(value), "env:" + name};
}

Result<Secret> secretFromFile(const std::string& path) {
  auto data = readSmallFile(path);
  if (!data.ok()) return data.error();
  std::string_view value = trim(*data);
  if (value.empty()) return Error::config("credential file '" + path + "' is empty");
  if (hasControl(value))
    return Error::config("credential file '" + path +
                         "' holds more than one line (expected the credential alone)");
  return Secret{std::string(value), "file:" + path};
}

Result<AwsCredentials> awsCredentialsFromEnv() {
  AwsCredentials c;
  auto id = secretFromEnv("AWS_ACCESS_KEY_ID");
  if (!id.ok()) return id.error();
  auto key = secretFromEnv("AWS_SECRET_ACCESS_KEY");
  if (!key.ok()) return key.error();
  c.access_key_id = id->value;
  c.secret_access_key = std::move(*key);
  if (const char* t = std::getenv("AWS_SESSION_TOKEN"); t && *t) {
    auto token = secretFromEnv("AWS_SESSION_TOKEN");
    if (!token.ok()) return token.error();
    c.session_token = std::move(*token);
  }
  return c;
}

Result<AwsCredentials> awsCredentialsFromFile(const std::string& path, const std::string& profile) {
  auto data = readSmallFile(path);
  if (!data.ok()) return data.error();
  auto ini = parseIni(*data);
  auto it = ini.find(profile);
  if (it == ini.end())
    return Error::config("AWS credentials file '" + path + "' has no profile [" + profile + "]");
  const auto& kv = it->second;
  auto value = [&](const char* key) {
    auto f = kv.find(key);
    return f == kv.end() ? std::string() : f->second;
  };
  AwsCredentials c;
  c.access_key_id = value("aws_access_key_id");
  c.secret_access_key = {value("aws_secret_access_key"), "file:" + path};
  std::string token = value("aws_session_token");
  if (!token.empty()) c.session_token = {token, "file:" + path};
  if (c.access_key_id.empty() || c.secret_access_key.empty())
    return Error::config("AWS credentials file '" + path + "' profile [" + profile +
                         "] lacks aws_access_key_id or aws_secret_access_key");
  if (hasControl(c.access_key_id) || hasControl(c.secret_access_key.value) ||
      hasControl(c.session_token.value))
    return Error::config("AWS credentials file '" + path + "' holds control characters");
  return c;
}

}  // namespace regiongate
