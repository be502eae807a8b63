#include "src/ports/probe_back.hpp"

#include <poll.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <thread>
#include <vector>

#include "hairpin/tcp_probe.hpp"
#include "src/ports/channel.hpp"
#include "src/ports/prober.hpp"
#include "src/ports/session.hpp"
#include "src/ports/source_budget.hpp"
#include "stun/net/endpoint.hpp"

namespace natdiag::ports {
namespace {

using namespace std::chrono_literals;

/// A client has this long to send its request after the hello.
constexpr auto kRequestWait = 5s;
/// Control connections open at once (each has a thread; most wait for their request).
constexpr std::size_t kMaxConnections = 32;
/// Answers (first bytes) from a compared TCP port are cut to this length.
constexpr std::size_t kMaxSampleBytes = 1024;

/// Ports sharing the same detail and source, as [{"ports","from","detail"}], with the ICMP
/// error's "icmp_type", "icmp_code" and "icmp_v6" when there was one.
nlohmann::json udp_list(const std::map<std::uint16_t, UdpReply>& replies) {
  std::map<std::pair<std::string, std::string>, std::pair<PortSet, const UdpReply*>> groups;
  for (const auto& [port, reply] : replies) {
    auto& group = groups[{reply.from.ip_string(), reply.detail}];
    group.first.add(port, port);
    group.second = &reply;
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [key, group] : groups) {
    nlohmann::json item = {
        {"ports", group.first.to_string()}, {"from", key.first}, {"detail", key.second}};
    if (const auto& icmp = group.second->icmp) {
      item["icmp_type"] = icmp->type;
      item["icmp_code"] = icmp->code;
      item["icmp_v6"] = icmp->v6;
    }
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace

/// State shared by the accept loop and the request threads.
struct ProbeBackService::Shared {
  explicit Shared(const ProbeBackOptions& o)
      : budget(o.requests_per_minute, o.max_concurrent, o.ipv6_prefix, o.max_sources) {}
  std::mutex mutex;
  SourceBudget budget;  // per source key (IPv6 per prefix), bounded
  struct Refusals {
    std::uint64_t count = 0;
    std::string last_source;
    stun::TimePoint last_logged{};
    bool ever = false;
  };
  std::map<std::string, Refusals> refusals;

  void refuse(const std::string& reason, const std::string& source) {
    std::lock_guard lock(mutex);
    auto& r = refusals[reason];
    ++r.count;
    r.last_source = source;
  }

  /// Logs every reason with new refusals whose interval has passed (all of them when `all`).
  void flush(const LogSink& log, std::chrono::seconds interval, bool all) {
    std::vector<std::tuple<std::string, std::uint64_t, std::string>> lines;
    {
      std::lock_guard lock(mutex);
      const auto now = stun::Clock::now();
      for (auto& [reason, r] : refusals) {
        if (r.count == 0 || (!all && r.ever && now - r.last_logged < interval)) continue;
        lines.emplace_back(reason, r.count, r.last_source);
        r.count = 0;
        r.last_logged = now;
        r.ever = true;
      }
    }
    for (const auto& [reason, count, source] : lines) {
      if (log) log("probe-back request (" + reason + ")", count, source);
    }
  }
};

ProbeBackService::ProbeBackService(ProbeBackOptions options)
    : options_(std::move(options)), shared_(std::make_shared<Shared>(options_)) {
  // serve's default address (0.0.0.0) takes IPv6 requesters too: one dual-stack socket on
  // [::], so `ports --via` can test a host's IPv6 firewall against the same serve. IPv4
  // peers arrive as v4-mapped addresses, which from_sockaddr() reads back as IPv4.
  const auto wildcard4 = net::any_address(stun::Family::kIPv4, options_.listen.port);
  if (options_.listen == wildcard4) {
    net::FileDescriptor fd(::socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    const int zero = 0, one = 1;
    const auto sa = net::to_sockaddr(net::any_address(stun::Family::kIPv6, options_.listen.port));
    if (fd.valid() && ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) == 0 &&
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
        ::bind(fd.get(), sa.get(), sa.length) == 0 && ::listen(fd.get(), 64) == 0) {
      listener_ = std::move(fd);
      return;
    }
  }
  listener_ = net::FileDescriptor(
      ::socket(net::to_af(options_.listen.family), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listener_.valid()) throw net::SocketError("socket", errno);
  const int one = 1;
  ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const auto sa = net::to_sockaddr(options_.listen);
  if (::bind(listener_.get(), sa.get(), sa.length) != 0) {
    throw net::SocketError("cannot listen on tcp " + options_.listen.to_string() + " (probe-back)",
                           errno);
  }
  if (::listen(listener_.get(), 64) != 0) throw net::SocketError("listen", errno);
}

ProbeBackService::~ProbeBackService() = default;

std::string ProbeBackService::listener() const {
  return "tcp " + net::socket_local_address(listener_.get()).to_string() + " (probe-back control)";
}

void ProbeBackService::run(const std::atomic<bool>& stop, const LogSink& log) {
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> finished;
  };
  std::vector<Worker> workers;
  while (!stop.load()) {
    pollfd p{listener_.get(), POLLIN, 0};
    ::poll(&p, 1, 200);
    shared_->flush(log, options_.log_interval, false);
    if ((p.revents & POLLIN) == 0) continue;
    net::SockAddr from;
    from.length = sizeof from.storage;
    net::FileDescriptor fd(
        ::accept4(listener_.get(), from.get(), &from.length, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) continue;
    // Finished workers are joined when the next one starts; the rest at the end.
    for (auto it = workers.begin(); it != workers.end();) {
      if (!it->finished->load()) {
        ++it;
        continue;
      }
      it->thread.join();
      it = workers.erase(it);
    }
    if (workers.size() >= kMaxConnections) {
      // A connection flood gets no thread each: close at once, count it.
      shared_->refuse("too-many-connections",
                      net::from_sockaddr(from.get()).value_or(net::TransportAddress{}).to_string());
      continue;
    }
    auto finished = std::make_shared<std::atomic<bool>>(false);
    workers.push_back({std::thread([this, finished, f = std::move(fd)]() mutable {
                         try {
                           serve_connection(std::move(f));
                         } catch (const std::exception&) {
                           shared_->refuse("failed", "");
                         }
                         finished->store(true);
                       }),
                       finished});
  }
  for (auto& w : workers) w.thread.join();
  shared_->flush(log, options_.log_interval, true);
}

void ProbeBackService::serve_connection(net::FileDescriptor fd) {
  LineChannel channel(std::move(fd));
  const auto peer = channel.peer_address();
  if (!peer) return;
  const std::string source = peer->to_string();
  const auto now = stun::Clock::now();
  std::array<std::uint8_t, 16> challenge_bytes{};
  const auto k = random_key();
  std::copy_n(k.begin(), challenge_bytes.size(), challenge_bytes.begin());
  const std::string challenge = to_hex(challenge_bytes);
  channel.send({{"type", "hello"},
                {"version", 1},
                {"challenge", challenge},
                {"your_address", peer->ip_string()},
                {"limits",
                 {{"udp_ports", kMaxRequestUdpPorts},
                  {"tcp_ports", kMaxRequestTcpPorts},
                  {"seconds", kMaxRequestSeconds}}}},
               now + kRequestWait);
  const auto message = channel.receive(now + kRequestWait);
  auto refuse = [&](const std::string& reason, const std::string& text) {
    shared_->refuse(reason, source);
    channel.send({{"type", "refused"}, {"reason", text}}, stun::Clock::now() + 1s);
  };
  if (!message) {
    refuse(channel.error() == "timed out" ? "no-request" : "malformed", "no valid request line");
    return;
  }
  std::string reason;
  const auto request = parse_request(*message, challenge, options_.secret, reason);
  if (!request) {
    const std::string text =
        reason == "bad-mac"
            ? "this serve needs --probe-secret, and the request's HMAC does not match"
        : reason == "too-many-ports"
            ? "too many ports in one request (at most 20000 UDP and 64 TCP)"
        : reason == "too-long" ? "seconds must be 1 to 10"
                               : "malformed request";
    refuse(reason, text);
    return;
  }
  {
    std::lock_guard lock(shared_->mutex);
    const std::string over = shared_->budget.admit(*peer, now);
    if (!over.empty()) {
      const std::string key = shared_->budget.key_text(*peer);
      shared_->refusals[over].count++;
      shared_->refusals[over].last_source = source;
      channel.send(
          {{"type", "refused"},
           {"reason", over == "per-ip-budget"
                          ? "over the budget of " + std::to_string(options_.requests_per_minute) +
                                " requests per minute from " + key
                      : over == "busy-ip" ? "a request from " + key + " is still running"
                      : over == "busy"    ? "too many requests at once; try again in a few seconds"
                                          : "too many sources at once; try again in a minute"}},
          stun::Clock::now() + 1s);
      return;
    }
  }
  struct Release {
    Shared& s;
    net::TransportAddress peer;
    ~Release() {
      std::lock_guard lock(s.mutex);
      s.budget.release(peer);
    }
  } release{*shared_, *peer};

  const auto end = now + std::chrono::seconds(request->seconds);
  channel.send({{"type", "accepted"}}, end);
  // Probes go to the control connection's source only, from this service's own IP.
  net::TransportAddress target = *peer;
  target.port = 0;
  std::optional<net::TransportAddress> from = channel.local_address();
  from->port = 0;
  nlohmann::json tcp_results = nlohmann::json::array();
  std::thread tcp_thread([&] {
    const auto results = probe_tcp(target, request->tcp.ports(), request->key, request->session,
                                   std::min(end, stun::Clock::now() + 3s), from);
    for (const auto& [port, result] : results) {
      tcp_results.push_back(
          {{"port", port}, {"result", tcp_kind_name(result.kind)}, {"detail", result.detail}});
    }
    for (auto port : request->compare_tcp.ports()) {
      net::TransportAddress to = target;
      to.port = port;
      const auto deadline = std::min(end, stun::Clock::now() + 2s);
      auto sample = hairpin::is_tls_port(port) ? hairpin::sample_tls(to, "", deadline)
                                               : hairpin::sample_plain(to, deadline);
      if (hairpin::is_tls_port(port) && sample.connected && !sample.tls)
        sample = hairpin::sample_plain(to, deadline);
      if (sample.response.size() > kMaxSampleBytes) sample.response.resize(kMaxSampleBytes);
      tcp_results.push_back(
          {{"port", port},
           {"result", sample.connected                       ? "connected"
                      : sample.connect_error == ECONNREFUSED ? "refused"
                                                             : "timeout"},
           {"detail", sample.error},
           {"connected", sample.connected},
           {"connect_error", sample.connect_error},
           {"error", sample.error},
           {"tls", sample.tls},
           {"tls_sha256", sample.certificate_sha256},
           {"first_bytes", to_hex({reinterpret_cast<const std::uint8_t*>(sample.response.data()),
                                   sample.response.size()})}});
    }
  });
  std::map<std::uint16_t, UdpReply> icmp, other, untested;
  int rounds = 0;
  std::uint64_t sent = 0;
  if (!request->udp.empty()) {
    UdpProber prober(target, request->key, request->session, options_.rate, from);
    auto missing = request->udp;
    while (!missing.empty() && rounds < kMaxRounds && stun::Clock::now() < end) {
      prober.send_round(missing.ports(), static_cast<std::uint32_t>(++rounds), end);
      if (!channel.send({{"type", "round"}, {"number", rounds}, {"sent", prober.sent()}}, end))
        break;
      std::optional<nlohmann::json> reply;
      while (!reply && stun::Clock::now() < end) {
        prober.drain_until(stun::Clock::now() + 5ms);
        reply = channel.receive(stun::Clock::now() + 5ms);
        if (!reply && channel.error() != "timed out") break;
      }
      if (!reply || reply->value("type", "") != "missing" || !(*reply)["udp"].is_string()) break;
      PortSet asked;
      const auto text = (*reply)["udp"].get<std::string>();
      if (!text.empty()) {
        try {
          asked = parse_port_set(text, "missing");
        } catch (const SpecError&) {
          break;
        }
      }
      // Never more than the request named: the missing list is cut to it.
      PortSet next;
      for (const auto& r : asked.ranges()) {
        for (std::uint32_t p = r.first; p <= r.last; ++p) {
          if (request->udp.contains(static_cast<std::uint16_t>(p)))
            next.add(static_cast<std::uint16_t>(p), static_cast<std::uint16_t>(p));
        }
      }
      missing = next;
    }
    prober.drain_until(std::min(end, stun::Clock::now() + 20ms));
    icmp = prober.icmp();
    other = prober.other();
    prober.mark_unsent(request->udp.ports());
    untested = prober.untested();
    sent = prober.sent();
  }
  tcp_thread.join();
  channel.send({{"type", "tcp"}, {"results", tcp_results}}, end + 1s);
  channel.send({{"type", "done"},
                {"rounds", rounds},
                {"sent", sent + request->tcp.size()},
                {"udp_icmp", udp_list(icmp)},
                {"udp_other", udp_list(other)},
                {"udp_untested", udp_list(untested)}},
               end + 1s);
}

}  // namespace natdiag::ports
