#include "src/cli_common.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace natdiag::cli {
namespace {

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

}  // namespace

std::uint16_t parse_port(std::string_view text, std::string_view what) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1 ||
      value > 65535) {
    throw UsageError(std::string(what) + " must be a port from 1 to 65535, got " + quoted(text));
  }
  return static_cast<std::uint16_t>(value);
}

std::pair<std::uint16_t, std::uint16_t> parse_port_range(std::string_view text,
                                                         std::string_view what) {
  const auto dash = text.find('-');
  if (dash == std::string_view::npos) {
    const auto port = parse_port(text, what);
    return {port, port};
  }
  const auto first = parse_port(text.substr(0, dash), what);
  const auto last = parse_port(text.substr(dash + 1), what);
  if (first > last) {
    throw UsageError(std::string(what) + " range must go up, got " + quoted(text));
  }
  return {first, last};
}

std::vector<std::uint16_t> parse_port_list(std::string_view text, std::string_view what) {
  std::vector<std::uint16_t> ports;
  if (text.empty()) throw UsageError(std::string(what) + " needs at least one port, got ''");
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                          : comma - start);
    const auto [first, last] = parse_port_range(item, what);
    if (std::uint32_t{last} - first > 1024) {
      throw UsageError(std::string(what) + " range " + quoted(item) + " is too large (1024 ports at most)");
    }
    for (std::uint32_t p = first; p <= last; ++p) ports.push_back(static_cast<std::uint16_t>(p));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return ports;
}

std::chrono::microseconds parse_seconds(std::string_view text, std::string_view what) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value) || value <= 0 || value > 3600) {
    throw UsageError(std::string(what) + " must be a number of seconds above 0 (at most 3600), got " +
                     quoted(text));
  }
  return std::chrono::microseconds(static_cast<std::int64_t>(value * 1e6));
}

stun::TransportAddress parse_ip_port(std::string_view text, std::string_view what) {
  auto parsed = stun::TransportAddress::parse(text);
  if (!parsed) {
    throw UsageError(std::string(what) + " must be an IP address with an optional port, got " +
                     quoted(text));
  }
  return *parsed;
}

stun::TransportAddress parse_ip(std::string_view text, std::string_view what) {
  auto parsed = stun::TransportAddress::parse(text);
  if (!parsed || text.find(']') != std::string_view::npos ||
      (parsed->family == stun::Family::kIPv4 && text.find(':') != std::string_view::npos)) {
    throw UsageError(std::string(what) + " must be an IP address, got " + quoted(text));
  }
  return *parsed;
}

void validate_host(std::string_view host, std::string_view what) {
  if (host.empty()) throw UsageError(std::string(what) + " must not be empty, got ''");
  if (stun::TransportAddress::parse(host)) return;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok || host.size() > 253) {
      throw UsageError(std::string(what) + " is not a host name or IP address: " + quoted(host));
    }
  }
}

int parse_int(std::string_view text, std::string_view what, int min, int max) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min ||
      value > max) {
    throw UsageError(std::string(what) + " must be a whole number from " + std::to_string(min) +
                     " to " + std::to_string(max) + ", got " + quoted(text));
  }
  return value;
}

net::FamilyPreference family_from_flags(const cxxopts::ParseResult& args) {
  const bool v4 = args.count("ipv4") > 0;
  const bool v6 = args.count("ipv6") > 0;
  if (v4 && v6) throw UsageError("-4 and -6 exclude each other");
  return v4 ? net::FamilyPreference::kIPv4Only
            : v6 ? net::FamilyPreference::kIPv6Only : net::FamilyPreference::kAny;
}

cxxopts::ParseResult parse_args(cxxopts::Options& options, int argc, char** argv) {
  try {
    return options.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    // cxxopts quotes with typographic marks; one plain line is easier to grep and read.
    std::string message = e.what();
    for (const std::string mark : {"\u2018", "\u2019"}) {
      for (auto at = message.find(mark); at != std::string::npos; at = message.find(mark)) {
        message.replace(at, mark.size(), "'");
      }
    }
    throw UsageError(message);
  }
}

nlohmann::json json_address(const std::optional<stun::TransportAddress>& a) {
  return a ? nlohmann::json(a->to_string()) : nlohmann::json(nullptr);
}

nlohmann::json json_ms(const std::optional<std::chrono::microseconds>& d) {
  if (!d) return nullptr;
  return std::round(static_cast<double>(d->count()) / 10.0) / 100.0;
}

OutputJson json_header(std::string_view command) {
  return OutputJson{{"schema", kSchema}, {"command", command}};
}

nlohmann::json json_ignored_packets(const net::PacketCounters& c) {
  return {{"total", c.total()},         {"malformed", c.malformed},
          {"unmatched", c.unmatched},   {"wrong_source", c.wrong_source},
          {"duplicates", c.duplicates}, {"not_a_response", c.not_a_response},
          {"notes", c.notes}};
}

std::string format_ms(std::chrono::microseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f ms", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

}  // namespace natdiag::cli
