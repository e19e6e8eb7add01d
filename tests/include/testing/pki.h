#pragma once
// Test support: certificates made with the `openssl` command-line tool for TLS tests (EC P-256,
// fast to generate). Header-only. Everything is written under one temporary directory:
//   ca.pem / ca.key               the test CA
//   other-ca.pem                  an unrelated CA (a client trusting only it rejects ca's certs)
//   server.pem / server.key       signed by ca: DNS upstream.test, DNS localhost, IP 127.0.0.1
//   wrong-host.pem / .key         signed by ca: DNS elsewhere.test only
//   expired.pem / expired.key     signed by ca, names as server.pem, valid 2020-01-01..2020-01-02
//   client.pem / client.key       signed by ca, CN gateway-client, clientAuth
// issue(name, cn) signs further server certificates (rotation tests).
#include <fstream>
#include <string>

#include "../../admin/run_command.h"
#include "testing/process.h"

namespace regiongate::testing {

class TestPki {
public:
  // Creates the directory and every certificate above; false (with the tool's output in
  // error()) when the openssl tool failed or is missing.
  bool make() {
    dir_ = makeTempDir("pki");
    openssl_ = findProgram("openssl");
    if (openssl_.empty()) {
      error_ = "the openssl command-line tool is not installed (Debian package openssl)";
      return false;
    }
    write("server.ext",
          "subjectAltName=DNS:upstream.test,DNS:localhost,IP:127.0.0.1\n"
          "extendedKeyUsage=serverAuth\n");
    write("wrong-host.ext", "subjectAltName=DNS:elsewhere.test\nextendedKeyUsage=serverAuth\n");
    write("client.ext", "extendedKeyUsage=clientAuth\n");
    write("ca.cnf", caConfig());
    write("index.txt", "");
    write("serial", "1000\n");
    return selfSigned("ca", "regiongate test CA") && selfSigned("other-ca", "unrelated test CA") &&
           sign("server", "upstream.test", "server.ext") &&
           sign("wrong-host", "elsewhere.test", "wrong-host.ext") &&
           sign("client", "gateway-client", "client.ext") && expired();
  }

  // A further server certificate <name>.pem / <name>.key signed by ca, names as server.pem.
  bool issue(const std::string& name, const std::string& cn) { return sign(name, cn, "server.ext"); }

  std::string path(const std::string& file) const { return dir_ + "/" + file; }
  const std::string& dir() const { return dir_; }
  const std::string& error() const { return error_; }

private:
  void write(const std::string& file, const std::string& text) const {
    std::ofstream(path(file)) << text;
  }
  bool run(const std::string& args) {
    auto r = runCommand("cd " + shellQuote(dir_) + " && timeout 60 " + shellQuote(openssl_) + " " + args);
    if (r.exit_code != 0) error_ += "openssl " + args + ":\n" + r.output + "\n";
    return r.exit_code == 0;
  }
  static std::string key() { return "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"; }
  bool selfSigned(const std::string& name, const std::string& cn) {
    return run("req -x509 " + key() + " -keyout " + name + ".key -out " + name + ".pem -days 30 " +
               "-subj " + shellQuote("/CN=" + cn) +
               " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign");
  }
  bool sign(const std::string& name, const std::string& cn, const std::string& ext) {
    return run("req " + key() + " -keyout " + name + ".key -out " + name + ".csr -subj " +
               shellQuote("/CN=" + cn)) &&
           run("x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 " +
               "-extfile " + ext + " -out " + name + ".pem");
  }
  // `openssl x509` cannot back-date; `openssl ca` takes explicit start and end dates.
  bool expired() {
    return run("req " + key() + " -keyout expired.key -out expired.csr -subj /CN=upstream.test") &&
           run("ca -batch -config ca.cnf -notext -startdate 20200101000000Z "
               "-enddate 20200102000000Z -in expired.csr -out expired.pem");
  }
  std::string caConfig() const {
    return "[ca]\ndefault_ca = test\n[test]\ndir = " + dir_ +
           "\ndatabase = $dir/index.txt\nserial = $dir/serial\nnew_certs_dir = $dir\n"
           "certificate = $dir/ca.pem\nprivate_key = $dir/ca.key\ndefault_md = sha256\n"
           "policy = any\ncopy_extensions = none\nx509_extensions = server_ext\n"
           "[any]\ncommonName = supplied\n"
           "[server_ext]\nsubjectAltName = DNS:upstream.test,DNS:localhost,IP:127.0.0.1\n"
           "extendedKeyUsage = serverAuth\n";
  }

  std::string dir_, openssl_, error_;
};

}  // namespace regiongate::testing
