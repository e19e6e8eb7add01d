#pragma once
// Starts a real PostgreSQL 15 server on 127.0.0.1 for tests and benchmarks (header-only, no
// gtest). initdb runs via `runuser -u postgres --` (postgres refuses to run as root); the server
// itself is forked and exec'd after setuid(postgres) so the PID we hold is the postmaster's, and
// stop() signals exactly that process. Data lives in a fresh temp dir owned by postgres, removed
// by the destructor. Every wait is bounded.
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

namespace regiongate::audit::testing {

class PgServer {
public:
  static constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";

  // fsync=false makes tests fast; benchmarks keep fsync on to measure real commits.
  explicit PgServer(bool fsync = false) : fsync_(fsync) {}
  ~PgServer() {
    stop();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  static bool available() {
    return std::filesystem::exists(std::string(kBinDir) + "/postgres") && getpwnam("postgres");
  }

  // initdb (first call only) and start; returns "" on success, else what went wrong.
  std::string start() {
    if (pid_ > 0) return "";
    const passwd* pw = getpwnam("postgres");
    if (!pw) return "no postgres system user";
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    if (dir_.empty()) {
      std::string tmpl = "/tmp/rg-pg-XXXXXX";
      if (!mkdtemp(tmpl.data())) return "mkdtemp failed";
      dir_ = tmpl;
      if (chown(dir_.c_str(), uid_, gid_) != 0) return "chown failed";
      const std::string cmd = "runuser -u postgres -- " + std::string(kBinDir) + "/initdb -D " +
                              dir_ + "/data -U postgres -A trust -E UTF8 --locale=C --no-sync > " +
                              dir_ + "/initdb.log 2>&1";
      if (std::system(cmd.c_str()) != 0) return "initdb failed, see " + dir_ + "/initdb.log";
      port_ = freePort();
      if (port_ == 0) return "no free port";
    }
    pid_t pid = fork();
    if (pid < 0) return "fork failed";
    if (pid == 0) {
      int log = ::open((dir_ + "/server.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (log >= 0) {
        dup2(log, 1);
        dup2(log, 2);
      }
      setpgid(0, 0);
      if (setgroups(0, nullptr) != 0 || setgid(gid_) != 0 || setuid(uid_) != 0) _exit(126);
      const std::string bin = std::string(kBinDir) + "/postgres";
      const std::string data = dir_ + "/data";
      const std::string port = std::to_string(port_);
      const std::string fsync = std::string("fsync=") + (fsync_ ? "on" : "off");
      execl(bin.c_str(), "postgres", "-D", data.c_str(), "-p", port.c_str(), "-k", dir_.c_str(),
            "-c", "listen_addresses=127.0.0.1", "-c", fsync.c_str(), "-c", "max_connections=40",
            "-c", "shared_buffers=32MB", (char*)nullptr);
      _exit(127);
    }
    pid_ = pid;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (PQping(dsn().c_str()) == PQPING_OK) return "";
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return "postgres exited at start, see " + dir_ + "/server.log";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    return "postgres did not become ready in 30 s";
  }

  // Fast shutdown (SIGINT) of the process we started; SIGKILL after 20 s.
  void stop() { signalAndWait(SIGINT); }

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string dsn() const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=postgres";
  }

  // Runs one SQL command; returns "" on success, else the error.
  std::string exec(const std::string& sql) const {
    PGconn* c = PQconnectdb(dsn().c_str());
    std::string err;
    if (PQstatus(c) != CONNECTION_OK) {
      err = PQerrorMessage(c);
    } else {
      PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
      PGresult* r = PQexec(c, sql.c_str());
      auto s = PQresultStatus(r);
      if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) err = PQerrorMessage(c);
      PQclear(r);
    }
    PQfinish(c);
    return err;
  }

private:
  void signalAndWait(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    int st = 0;
    while (waitpid(pid_, &st, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        waitpid(pid_, &st, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
  }

  static int freePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof(a);
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
    close(fd);
    return port;
  }

  bool fsync_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
};

}  // namespace regiongate::audit::testing
