// An unprivileged system user (and its own group) made for one test and removed at scope end,
// and one JSON-RPC exchange with a daemon as that user: the client side of every test of what a
// caller who is not root (in the socket's group or the admin group, or neither) may make the
// daemon do.
#pragma once
#include <pwd.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "tests/support/harness.hpp"

namespace mos::test {

struct TestUser {
  std::string name = "mosvt" + std::to_string(getpid() % 100000);
  std::string group = name + "g";
  uid_t uid = 0;
  TestUser() {
    run_tool({"groupadd", "-r", group});
    auto r = run_tool({"useradd", "-r", "-M", "-s", "/usr/sbin/nologin", name});
    EXPECT_TRUE(r.ok()) << r.err;
    if (passwd* p = getpwnam(name.c_str())) uid = p->pw_uid;
  }
  ~TestUser() {
    run_tool({"userdel", name});
    run_tool({"groupdel", group});
  }
  TestUser(const TestUser&) = delete;
  TestUser& operator=(const TestUser&) = delete;

  // socat as this user (no supplementary groups, or just `extra`): one request line, the answer
  // (null when nothing came back within `seconds`).
  nlohmann::json call(const std::string& sock, const std::string& request, const std::string& extra = {},
                      int seconds = 5) const {
    std::vector<std::string> argv = {"setpriv", "--reuid", name, "--regid", name};
    if (extra.empty()) argv.push_back("--clear-groups");
    else argv.insert(argv.end(), {"--groups", extra});
    argv.insert(argv.end(), {"socat", "-t", std::to_string(seconds), "-", "UNIX-CONNECT:" + sock});
    auto r = run_tool(argv, request + "\n");
    EXPECT_TRUE(r.ok()) << r.err;
    return r.ok() && !r.out.empty() ? nlohmann::json::parse(r.out, nullptr, false) : nlohmann::json(nullptr);
  }
  // One method call with params as this user.
  nlohmann::json call_method(const std::string& sock, const std::string& method, const nlohmann::json& params,
                             const std::string& extra = {}) const {
    nlohmann::json req = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
    return call(sock, req.dump(), extra);
  }
};

}  // namespace mos::test
