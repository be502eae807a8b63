// natdiag hairpin's pure parts: /etc/hosts parsing, network-stack detection from a fake root,
// the path comparison, verdicts, exit health and advice text; then the nonce checks on loopback.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "hairpin/advice.hpp"
#include "hairpin/checks.hpp"
#include "hairpin/local_facts.hpp"
#include "hairpin/tcp_probe.hpp"
#include "hairpin/udp_probe.hpp"
#include "stun/net/socket.hpp"

using namespace natdiag;
using namespace natdiag::hairpin;
namespace fs = std::filesystem;

namespace {

TransportAddress addr(const char* text) {
  return *TransportAddress::parse(text);
}

/// A temporary directory standing in for "/", removed at the end of the test.
struct FakeRoot {
  fs::path path;
  FakeRoot() {
    char tmpl[] = "/tmp/natdiag-hairpin-root.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~FakeRoot() { fs::remove_all(path); }
  void write(const std::string& absolute, const std::string& text) const {
    const auto file = path / fs::path(absolute).relative_path();
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
  }
  void mkdir(const std::string& absolute) const {
    fs::create_directories(path / fs::path(absolute).relative_path());
  }
};

CheckResult check(Protocol protocol, std::uint16_t port, Result result) {
  CheckResult c = check_for(protocol, port);
  c.result = result;
  c.method = Method::kNonce;
  return c;
}

LocalAddressFacts on(const char* interface, bool loopback) {
  net::InterfaceAddress a;
  a.interface = interface;
  a.address = addr("203.0.113.1");
  a.loopback = loopback;
  a.up = true;
  return {a};
}

bool has_line(const std::vector<std::string>& lines, const std::string& wanted) {
  return std::find(lines.begin(), lines.end(), wanted) != lines.end();
}

std::string all_text(const std::vector<Advice>& advice) {
  std::string out;
  for (const auto& a : advice) {
    out += a.text + "\n";
    for (const auto& l : a.lines) out += l + "\n";
  }
  return out;
}

const TransportAddress public_ip = addr("203.0.113.1");

}  // namespace

TEST_CASE("hosts(5): comments, aliases, IPv6, malformed lines; lookup ignores case") {
  const auto entries = parse_hosts(
      "127.0.0.1\tlocalhost\n"
      "# 203.0.113.9 commented.example.org\n"
      "\n"
      "203.0.113.1 bbb.example.org bbb   # the public address\n"
      "not-an-ip broken.example.org\n"
      "10.0.0.5\n"
      "2001:db8::5 BBB.example.org\n");
  REQUIRE(entries.size() == 3);
  CHECK(entries[1].names == std::vector<std::string>{"bbb.example.org", "bbb"});
  const auto found = hosts_addresses(entries, "bbb.EXAMPLE.org");
  REQUIRE(found.size() == 2);
  CHECK(found[0] == addr("203.0.113.1"));
  CHECK(found[1] == addr("2001:db8::5"));
  CHECK(hosts_addresses(entries, "bbb").size() == 1);
  CHECK(hosts_addresses(entries, "commented.example.org").empty());
}

TEST_CASE("network stack detection from a fake root") {
  SUBCASE("nothing") {
    FakeRoot root;
    CHECK(detect_network_stack(root.path).stack == NetworkStack::kUnknown);
    CHECK(stack_name(NetworkStack::kUnknown) == "unknown");
  }
  SUBCASE("ifupdown needs a stanza, not just comments") {
    FakeRoot root;
    root.write("/etc/network/interfaces",
               "# ifupdown has been replaced by netplan(5) on this system.\n");
    CHECK(detect_network_stack(root.path).stack == NetworkStack::kUnknown);
    root.write("/etc/network/interfaces",
               "source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n");
    const auto facts = detect_network_stack(root.path);
    CHECK(facts.stack == NetworkStack::kIfupdown);
    CHECK(facts.evidence.find("/etc/network/interfaces") != std::string::npos);
  }
  SUBCASE("netplan wins over ifupdown and NetworkManager") {
    FakeRoot root;
    root.write("/etc/network/interfaces", "auto eth0\niface eth0 inet dhcp\n");
    root.mkdir("/run/NetworkManager");
    root.write("/etc/netplan/50-cloud-init.yaml", "network: {version: 2}\n");
    const auto facts = detect_network_stack(root.path);
    CHECK(facts.stack == NetworkStack::kNetplan);
    CHECK(facts.evidence == "/etc/netplan/50-cloud-init.yaml exists");
  }
  SUBCASE("systemd-networkd by its .network files") {
    FakeRoot root;
    root.write("/etc/systemd/network/README", "not a unit\n");
    CHECK(detect_network_stack(root.path).stack == NetworkStack::kUnknown);
    root.write("/etc/systemd/network/10-eth0.network", "[Match]\nName=eth0\n");
    CHECK(detect_network_stack(root.path).stack == NetworkStack::kSystemdNetworkd);
  }
  SUBCASE("NetworkManager running, or only installed") {
    FakeRoot root;
    root.write("/etc/NetworkManager/NetworkManager.conf", "[main]\n");
    CHECK(detect_network_stack(root.path).stack == NetworkStack::kNetworkManager);
    FakeRoot running;
    running.mkdir("/run/NetworkManager");
    running.write("/etc/network/interfaces", "auto lo\niface lo inet loopback\n");
    CHECK(detect_network_stack(running.path).stack == NetworkStack::kNetworkManager);
  }
}

TEST_CASE("is the address persisted? whole addresses only") {
  FakeRoot root;
  root.write("/etc/network/interfaces",
             "auto lo\niface lo inet loopback\n    post-up ip addr add 203.0.113.10/32 dev lo\n");
  CHECK(address_persisted(root.path, NetworkStack::kIfupdown, public_ip) == false);
  root.write("/etc/network/interfaces.d/dummy",
             "iface lo inet loopback\n  post-up ip addr add 203.0.113.1/32 dev lo\n");
  CHECK(address_persisted(root.path, NetworkStack::kIfupdown, public_ip) == true);
  CHECK(!address_persisted(root.path, NetworkStack::kUnknown, public_ip).has_value());
  CHECK(!address_persisted(root.path, NetworkStack::kNetplan, public_ip)
             .has_value());  // no files to read
}

TEST_CASE("dummy NIC plans: the command now, the lines for each stack") {
  for (auto stack : {NetworkStack::kUnknown, NetworkStack::kIfupdown, NetworkStack::kNetplan,
                     NetworkStack::kSystemdNetworkd, NetworkStack::kNetworkManager}) {
    CHECK(dummy_nic_plan(public_ip, stack).commands ==
          std::vector<std::string>{"ip addr add 203.0.113.1/32 dev lo"});
  }
  CHECK(!dummy_nic_plan(public_ip, NetworkStack::kUnknown).persist);
  const auto ifupdown = *dummy_nic_plan(public_ip, NetworkStack::kIfupdown).persist;
  CHECK(ifupdown.file == "/etc/network/interfaces");
  CHECK(ifupdown.lines == std::vector<std::string>{"post-up ip addr add 203.0.113.1/32 dev lo",
                                                   "pre-down ip addr del 203.0.113.1/32 dev lo"});
  const auto netplan = *dummy_nic_plan(public_ip, NetworkStack::kNetplan).persist;
  CHECK(netplan.file.starts_with("/etc/netplan/"));
  CHECK(has_line(netplan.lines, "    lo:"));
  CHECK(has_line(netplan.lines, "        - 203.0.113.1/32"));
  CHECK(has_line(netplan.commands, "netplan apply"));
  const auto networkd = *dummy_nic_plan(public_ip, NetworkStack::kSystemdNetworkd).persist;
  CHECK(networkd.file.ends_with(".network"));
  CHECK(has_line(networkd.lines, "Name=lo"));
  CHECK(has_line(networkd.lines, "Address=203.0.113.1/32"));
  CHECK(has_line(networkd.lines, "Address=127.0.0.1/8"));
  const auto nm = *dummy_nic_plan(public_ip, NetworkStack::kNetworkManager).persist;
  CHECK(nm.file.empty());
  REQUIRE(!nm.commands.empty());
  CHECK(nm.commands[0].starts_with("nmcli connection add type dummy"));
  CHECK(nm.commands[0].find("ipv4.addresses 203.0.113.1/32") != std::string::npos);
  CHECK(dummy_nic_plan(addr("2001:db8::1"), NetworkStack::kUnknown).commands[0] ==
        "ip addr add 2001:db8::1/128 dev lo");
}

TEST_CASE("verdict, dummy NIC need and exit health from the checks") {
  const LocalAddressFacts none;
  const std::vector<CheckResult> all_ok{check(Protocol::kTcp, 443, Result::kSupported),
                                        check(Protocol::kUdp, 50000, Result::kSupported)};
  CHECK(overall_verdict(all_ok, none) == Verdict::kSupported);
  CHECK(dummy_nic_needed(Verdict::kSupported, none) == false);
  CHECK(assess(all_ok, Verdict::kSupported, none) == Health::kHealthy);

  const std::vector<CheckResult> none_ok{check(Protocol::kTcp, 443, Result::kNotSupported),
                                         check(Protocol::kUdp, 50000, Result::kSkipped)};
  CHECK(overall_verdict(none_ok, none) == Verdict::kNotSupported);
  CHECK(dummy_nic_needed(Verdict::kNotSupported, none) == true);
  CHECK(assess(none_ok, Verdict::kNotSupported, none) == Health::kProblem);

  const std::vector<CheckResult> mixed{check(Protocol::kTcp, 443, Result::kSupported),
                                       check(Protocol::kUdp, 50000, Result::kNotSupported)};
  CHECK(overall_verdict(mixed, none) == Verdict::kPartial);
  CHECK(dummy_nic_needed(Verdict::kPartial, none) == true);

  std::vector<CheckResult> undecided{check(Protocol::kTcp, 443, Result::kInconclusive)};
  CHECK(overall_verdict(undecided, none) == Verdict::kInconclusive);
  CHECK(!dummy_nic_needed(Verdict::kInconclusive, none).has_value());
  CHECK(assess(undecided, Verdict::kInconclusive, none) == Health::kProblem);
  undecided[0].setup_failed = true;
  CHECK(assess(undecided, Verdict::kInconclusive, none) == Health::kCannotRun);

  // The STUN-mapping check reports on the NAT, it does not decide the dummy NIC.
  auto mapping = check(Protocol::kUdp, 43617, Result::kNotSupported);
  mapping.decides_verdict = false;
  auto with_mapping = all_ok;
  with_mapping.push_back(mapping);
  CHECK(overall_verdict(with_mapping, none) == Verdict::kSupported);
  CHECK(assess(with_mapping, Verdict::kSupported, none) == Health::kHealthy);

  const auto lo = on("lo", true);
  CHECK(lo.dummy_nic());
  CHECK(overall_verdict(none_ok, lo) == Verdict::kNotNeeded);
  CHECK(dummy_nic_needed(Verdict::kNotNeeded, lo) == false);
  CHECK(assess(all_ok, Verdict::kNotNeeded, lo) == Health::kHealthy);
  CHECK(assess(none_ok, Verdict::kNotNeeded, lo) ==
        Health::kProblem);  // a service deaf on the public IP
  CHECK(on("dummy0", false).dummy_nic());
  CHECK(on("eth0", false).direct());
}

TEST_CASE("headlines: the verdict first, in words") {
  CHECK(headline(Verdict::kNotSupported, public_ip, {}) ==
        "Hairpin NAT: not supported \u2014 this host cannot reach its own public address "
        "203.0.113.1");
  CHECK(headline(Verdict::kSupported, public_ip, {}).starts_with("Hairpin NAT: supported"));
  CHECK(headline(Verdict::kNotNeeded, public_ip, on("lo", true)).find("is on lo (dummy NIC)") !=
        std::string::npos);
  CHECK(headline(Verdict::kNotNeeded, public_ip, on("eth0", false)).find("own address on eth0") !=
        std::string::npos);
}

TEST_CASE("advice: dummy NIC commands, persistence, warning, /etc/hosts") {
  AdviceInput in;
  in.external_ip = public_ip;
  in.verdict = Verdict::kNotSupported;
  in.checks = {check(Protocol::kTcp, 443, Result::kNotSupported)};
  in.stack = {NetworkStack::kIfupdown, "test"};
  const auto text = all_text(make_advice(in));
  CHECK(text.find("ip addr add 203.0.113.1/32 dev lo\n") != std::string::npos);
  CHECK(text.find("/etc/network/interfaces") != std::string::npos);
  CHECK(text.find("post-up ip addr add 203.0.113.1/32 dev lo\n") != std::string::npos);
  CHECK(text.find("pre-down ip addr del 203.0.113.1/32 dev lo\n") != std::string::npos);
  CHECK(text.find("Other LAN hosts") != std::string::npos);
  CHECK(text.find("hairpin NAT (NAT loopback") != std::string::npos);

  SUBCASE("unknown stack still shows the guide's ifupdown lines") {
    in.stack = {};
    CHECK(all_text(make_advice(in)).find("post-up ip addr add 203.0.113.1/32 dev lo") !=
          std::string::npos);
  }
  SUBCASE("partial names the ports") {
    in.verdict = Verdict::kPartial;
    in.checks.push_back(check(Protocol::kUdp, 50000, Result::kSupported));
    CHECK(all_text(make_advice(in)).find("Hairpin works for UDP 50000 but not for TCP 443") !=
          std::string::npos);
  }
  SUBCASE("supported: nothing about a dummy NIC") {
    in.verdict = Verdict::kSupported;
    in.checks = {check(Protocol::kTcp, 443, Result::kSupported)};
    CHECK(make_advice(in).empty());
  }
  SUBCASE("dummy NIC present but not persisted") {
    in.verdict = Verdict::kNotNeeded;
    in.local = on("lo", true);
    in.checks = {check(Protocol::kTcp, 443, Result::kSupported)};
    in.persisted = false;
    const auto t = all_text(make_advice(in));
    CHECK(t.find("gone after a reboot") != std::string::npos);
    CHECK(t.find("post-up ip addr add 203.0.113.1/32 dev lo") != std::string::npos);
    CHECK(t.find("ip addr add 203.0.113.1/32 dev lo\n") != 0);
    in.persisted = true;
    CHECK(all_text(make_advice(in)).find("reboot") == std::string::npos);
  }
  SUBCASE("the /etc/hosts line") {
    in.verdict = Verdict::kSupported;
    in.checks = {check(Protocol::kTcp, 443, Result::kSupported)};
    HostnameFacts h;
    h.name = "bbb.example.org";
    h.resolves_to = {addr("10.77.0.10")};
    h.etc_hosts = {addr("10.77.0.10")};
    in.hostname = h;
    auto t = all_text(make_advice(in));
    CHECK(t.find("/etc/hosts gives bbb.example.org 10.77.0.10") != std::string::npos);
    CHECK(t.find("\n203.0.113.1 bbb.example.org\n") != std::string::npos);
    CHECK(etc_hosts_line(h, public_ip) == "203.0.113.1 bbb.example.org");
    h.etc_hosts.clear();
    in.hostname = h;
    CHECK(all_text(make_advice(in)).find("add to /etc/hosts") != std::string::npos);
    h.ok = true;
    in.hostname = h;
    CHECK(make_advice(in).empty());
    CHECK(!etc_hosts_line(h, public_ip));
  }
}

TEST_CASE("responses compared without per-request headers") {
  const std::string a =
      "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Mon, 01 Jan 2024 10:00:00 GMT\r\nSet-Cookie: "
      "s=1\r\nContent-Length: 5\r\n\r\n";
  const std::string b =
      "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Mon, 01 Jan 2024 10:00:01 GMT\r\nSet-Cookie: "
      "s=2\r\nContent-Length: 5\r\n\r\n";
  CHECK(compare_responses(a, b) == Sameness::kSame);
  CHECK(normalise_response(a) == "HTTP/1.1 200 OK\nServer: nginx\nContent-Length: 5\n\n");
  CHECK(compare_responses(a, "HTTP/1.1 401 Unauthorized\r\nServer: nginx\r\n\r\n") ==
        Sameness::kDifferent);
  CHECK(compare_responses(a, "HTTP/1.1 200 OK\r\nServer: RouterOS\r\nContent-Length: 5\r\n\r\n") ==
        Sameness::kDifferent);
  CHECK(compare_responses(a, "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 9\r\n\r\n") ==
        Sameness::kSimilar);
  CHECK(compare_responses("", "") == Sameness::kNothing);
  CHECK(compare_responses(a, "") == Sameness::kDifferent);
  CHECK(compare_responses("SSH-2.0-OpenSSH_9.2\r\n", "SSH-2.0-OpenSSH_9.2\r\n") == Sameness::kSame);
  CHECK(first_line("HTTP/1.1 200 OK\r\nServer: x") == "HTTP/1.1 200 OK");
  CHECK(first_line(std::string("\x15\x03\x01", 3)) == "...");
  CHECK(short_fingerprint("AB:CD:EF:01:23:45:67:89:AB:CD:EF") == "AB:CD:EF:01...CD:EF");
  CHECK(is_tls_port(443));
  CHECK(is_tls_port(5349));
  CHECK(!is_tls_port(80));
}

TEST_CASE("a busy port decided by comparing the local and the public path") {
  LocalPath local;
  local.sample.address = addr("10.77.0.10:443");
  local.sample.connected = true;
  local.sample.tls = true;
  local.sample.certificate_sha256 = "AA:BB";
  PathSample pub;
  pub.address = addr("203.0.113.1:443");
  pub.connected = true;
  pub.tls = true;
  pub.certificate_sha256 = "AA:BB";
  auto r = decide_by_comparison(443, public_ip, local, pub);
  CHECK(r.result == Result::kSupported);
  CHECK(r.method == Method::kTlsCertificate);
  CHECK(r.detail.find("TLS certificate") != std::string::npos);

  pub.certificate_sha256 = "CC:DD";
  r = decide_by_comparison(443, public_ip, local, pub);
  CHECK(r.result == Result::kNotSupported);
  CHECK(r.detail.find("different TLS certificate") != std::string::npos);

  pub.tls = false;
  pub.error = "TLS handshake failed";
  CHECK(decide_by_comparison(443, public_ip, local, pub).result == Result::kNotSupported);

  PathSample refused;
  refused.connect_error = ECONNREFUSED;
  refused.error = "connection refused";
  CHECK(decide_by_comparison(443, public_ip, local, refused).result == Result::kNotSupported);
  local.loopback_only = true;
  CHECK(decide_by_comparison(443, public_ip, local, refused).result == Result::kInconclusive);

  LocalPath nobody;
  nobody.sample.error = "connection refused";
  r = decide_by_comparison(443, public_ip, nobody, PathSample{});
  CHECK(r.result == Result::kInconclusive);
  CHECK(r.method == Method::kNone);

  LocalPath plain;
  plain.sample.address = addr("10.77.0.10:80");
  plain.sample.connected = true;
  plain.sample.response = "HTTP/1.0 200 OK\r\nServer: SimpleHTTP\r\n\r\n";
  PathSample same = plain.sample;
  same.address = addr("203.0.113.1:80");
  r = decide_by_comparison(80, public_ip, plain, same);
  CHECK(r.result == Result::kSupported);
  CHECK(r.method == Method::kResponseBytes);
  same.response = "HTTP/1.1 302 Found\r\nServer: mini_httpd\r\n\r\n";
  CHECK(decide_by_comparison(80, public_ip, plain, same).result == Result::kNotSupported);
  same.response.clear();
  plain.sample.response.clear();
  CHECK(decide_by_comparison(80, public_ip, plain, same).result == Result::kInconclusive);
}

TEST_CASE("nonces are random and only hex") {
  const auto a = random_nonce();
  CHECK(a.size() == 32);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a != random_nonce());
}

TEST_CASE("the nonce checks on loopback: natdiag's own listener gets its nonce") {
  const auto deadline = stun::Clock::now() + std::chrono::seconds(2);
  // A port free for both TCP and UDP right now.
  auto probe = net::UdpSocket::bind(addr("127.0.0.1:0"));
  const std::uint16_t port = probe.local_address().port;
  probe = net::UdpSocket::bind(addr("127.0.0.1:0"));  // releases the first port
  const auto tcp = tcp_check(port, {addr("127.0.0.1"), deadline, ""});
  CHECK(tcp.result == Result::kSupported);
  CHECK(tcp.method == Method::kNonce);
  REQUIRE(tcp.returned_from.has_value());
  CHECK(tcp.returned_from->ip_string() == "127.0.0.1");
  const auto udp = udp_check(port, {addr("127.0.0.1"), deadline});
  CHECK(udp.result == Result::kSupported);

  // A UDP port someone else holds is skipped, not guessed.
  auto holder = net::UdpSocket::bind(addr("0.0.0.0:0"));
  const auto busy = udp_check(holder.local_address().port, {addr("127.0.0.1"), deadline});
  CHECK(busy.result == Result::kSkipped);
  CHECK(busy.detail.find("in use") != std::string::npos);
}

TEST_CASE("hosts(5): each entry knows its line; the first line naming the host is the one that counts") {
  const auto entries = parse_hosts("127.0.0.1 localhost\n# comment\n10.77.0.10 bbb.example.org\n203.0.113.1 bbb.example.org\n");
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].line == 1);
  CHECK(entries[1].line == 3);
  CHECK(entries[2].line == 4);

  AdviceInput in;
  in.external_ip = public_ip;
  in.verdict = Verdict::kSupported;
  in.checks = {check(Protocol::kTcp, 443, Result::kSupported)};
  HostnameFacts h;
  h.name = "bbb.example.org";
  h.resolves_to = {addr("10.77.0.10")};
  h.etc_hosts = {addr("10.77.0.10"), public_ip};
  h.first_entry = entries[1];
  in.hostname = h;
  const auto t = all_text(make_advice(in));
  CHECK(t.find("Line 3 of /etc/hosts maps bbb.example.org to 10.77.0.10") != std::string::npos);
  CHECK(t.find("first matching line wins") != std::string::npos);
  CHECK(t.find("\n203.0.113.1 bbb.example.org\n") != std::string::npos);

  // A "host name" that is an IP address: never an 'IP IP' line.
  HostnameFacts literal;
  literal.name = "203.0.113.1";
  literal.is_ip = true;
  CHECK_FALSE(etc_hosts_line(literal, public_ip).has_value());
  literal.name = "198.51.100.7";
  in.hostname = literal;
  const auto t2 = all_text(make_advice(in));
  CHECK(t2.find("is an IP address, not a name") != std::string::npos);
  CHECK(t2.find("203.0.113.1 198.51.100.7") == std::string::npos);
}

TEST_CASE("advice: EXTERNAL_IP that is not this host's measured public address gets no dummy NIC (issue 10 defect 9)") {
  AdviceInput in;
  in.external_ip = addr("203.0.113.10");  // the STUN server's address, given by mistake
  in.verdict = Verdict::kNotSupported;
  in.checks = {check(Protocol::kTcp, 443, Result::kNotSupported)};
  in.stack = {NetworkStack::kIfupdown, "test"};
  in.measured_public = public_ip;
  const auto advice = make_advice(in);
  REQUIRE_FALSE(advice.empty());
  CHECK(advice.front().text.rfind("203.0.113.10 is not this host's public address", 0) == 0);
  CHECK(advice.front().lines == std::vector<std::string>{"natdiag hairpin 203.0.113.1"});
  const auto t = all_text(advice);
  CHECK(t.find("ip addr add 203.0.113.10") == std::string::npos);
  CHECK(t.find("post-up") == std::string::npos);
  CHECK(not_this_host_headline(in.external_ip, public_ip).find("203.0.113.10 is not this host's public address") !=
        std::string::npos);
  // The measured address itself: the usual dummy-NIC advice.
  in.external_ip = public_ip;
  CHECK(all_text(make_advice(in)).find("ip addr add 203.0.113.1/32 dev lo") != std::string::npos);
}

TEST_CASE("advice: a private EXTERNAL_IP (a LAN neighbour's, perhaps) gets no dummy NIC") {
  AdviceInput in;
  in.external_ip = addr("192.168.1.20");
  in.verdict = Verdict::kNotSupported;
  in.checks = {check(Protocol::kTcp, 443, Result::kNotSupported)};
  in.stack = {NetworkStack::kIfupdown, "test"};
  auto advice = make_advice(in);
  REQUIRE_FALSE(advice.empty());
  CHECK(advice.front().text.rfind("192.168.1.20 is a private address", 0) == 0);
  CHECK(all_text(advice).find("ip addr add 192.168.1.20") == std::string::npos);
  CHECK(private_target_headline(in.external_ip).find("192.168.1.20 is a private address") !=
        std::string::npos);
  in.measured_public = public_ip;  // --stun measured it: the command to run names it
  advice = make_advice(in);
  CHECK(advice.front().lines == std::vector<std::string>{"natdiag hairpin 203.0.113.1"});
  // CGNAT's shared space is not public either.
  in.external_ip = addr("100.64.0.7");
  CHECK(all_text(make_advice(in)).find("ip addr add 100.64.0.7") == std::string::npos);
}

TEST_CASE("silence window: from the path's RTT, with a floor; the shortest RTT wins") {
  using std::chrono::milliseconds;
  CHECK_FALSE(silence_window(std::nullopt).has_value());
  CHECK(*silence_window(std::chrono::microseconds(80)) == kSilenceFloor);
  CHECK(*silence_window(milliseconds(100)) == milliseconds(600));
  PathRtt rtt;
  CHECK_FALSE(rtt.shortest().has_value());
  rtt.record(milliseconds(30));
  rtt.record(milliseconds(50));
  CHECK(*rtt.shortest() == milliseconds(30));
  rtt.record(milliseconds(2));
  CHECK(*rtt.shortest() == milliseconds(2));
  PathRtt hinted(milliseconds(40));
  CHECK(*hinted.shortest() == milliseconds(40));
}

TEST_CASE("the TCP check measures the path's RTT for the UDP checks (loopback)") {
  const auto deadline = stun::Clock::now() + std::chrono::seconds(2);
  auto probe = net::UdpSocket::bind(addr("127.0.0.1:0"));
  const std::uint16_t port = probe.local_address().port;
  probe = net::UdpSocket::bind(addr("127.0.0.1:0"));
  PathRtt rtt;
  const auto tcp = tcp_check(port, {addr("127.0.0.1"), deadline, "", &rtt});
  CHECK(tcp.result == Result::kSupported);
  REQUIRE(rtt.shortest().has_value());
  CHECK(*rtt.shortest() < std::chrono::seconds(2));
}

TEST_CASE("a sampled UDP port without an echo may just not be forwarded: it does not decide the verdict") {
  const LocalAddressFacts none;
  auto sampled = check(Protocol::kUdp, 55555, Result::kNotSupported);
  not_known_forwarded(sampled);
  CHECK(sampled.result == Result::kInconclusive);
  CHECK(sampled.detail.find("not forwarded?") != std::string::npos);
  // TCP decides: hairpin works there, the unforwarded UDP port does not make it partial.
  CHECK(overall_verdict({check(Protocol::kTcp, 443, Result::kSupported), sampled}, none) == Verdict::kSupported);
  // Nothing else decides: inconclusive, never not-supported.
  CHECK(overall_verdict({sampled}, none) == Verdict::kInconclusive);
  // A port the user named (--udp) stays decisive, and an echo is kept.
  auto named = check(Protocol::kUdp, 16384, Result::kNotSupported);
  CHECK(overall_verdict({named}, none) == Verdict::kNotSupported);
  auto echoed = check(Protocol::kUdp, 16384, Result::kSupported);
  not_known_forwarded(echoed);
  CHECK(echoed.result == Result::kSupported);
}
