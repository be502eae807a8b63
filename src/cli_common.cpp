#include "src/cli_common.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>

#include "stun/net/endpoint.hpp"
#include "stun/net/socket.hpp"

namespace natdiag::cli {
namespace {

std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('\'');
  out.append(text);
  out.push_back('\'');
  return out;
}

// The socket errors that mean "the network would not take it", not "this host cannot do it".
bool is_network_errno(int error) {
  switch (error) {
    case ENETUNREACH: case EHOSTUNREACH: case ENETDOWN: case EHOSTDOWN:
    case ECONNREFUSED: case ETIMEDOUT: case ECONNRESET:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string_view error_kind_name(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::kUsage: return "usage";
    case ErrorKind::kBadValue: return "bad-value";
    case ErrorKind::kCannotRun: return "cannot-run";
    case ErrorKind::kNetwork: return "network";
  }
  return "usage";
}

int exit_code_of(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::kUsage:
    case ErrorKind::kBadValue: return kUsage;
    case ErrorKind::kCannotRun:
    case ErrorKind::kNetwork: return kCannotRun;
  }
  return kUsage;
}

UsageError bad_value(std::string_view what, std::string_view problem, std::string_view value) {
  return UsageError(ErrorKind::kBadValue,
                    std::string(what) + " " + std::string(problem) + ", got " + quoted(value),
                    std::string(value));
}

UsageError conflict(const std::string& message, std::string_view value) {
  return UsageError(ErrorKind::kUsage, message, std::string(value));
}

bool wants_json(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "--json" || arg == "--json=true") return true;
  }
  return false;
}

int report_error(std::string_view command, ErrorKind kind, const std::string& message,
                 const std::optional<std::string>& value, bool json) {
  if (json) {
    auto j = json_header(command);
    if (command.empty()) j["command"] = nullptr;  // no such command
    j["error"] = {{"kind", error_kind_name(kind)},
                  {"message", message},
                  {"value", value ? nlohmann::json(*value) : nlohmann::json(nullptr)}};
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  } else {
    std::cout.flush();
    std::cerr << "natdiag" << (command.empty() ? "" : " ") << command << ": " << message << std::endl;
  }
  return exit_code_of(kind);
}

int run_command(std::string_view command, int (*run)(int, char**), int argc, char** argv) {
  const bool json = wants_json(argc, argv);
  try {
    return run(argc, argv);
  } catch (const CliError& e) {
    return report_error(command, e.kind(), e.what(), e.value(), json);
  } catch (const net::SocketError& e) {
    const bool network = is_network_errno(e.error_number());
    return report_error(command, network ? ErrorKind::kNetwork : ErrorKind::kCannotRun,
                        std::string(network ? "network: " : "cannot run here: ") + e.what(),
                        std::nullopt, json);
  } catch (const std::exception& e) {
    return report_error(command, ErrorKind::kCannotRun, std::string("cannot run here: ") + e.what(),
                        std::nullopt, json);
  }
}

void print_json(const OutputJson& report) {
  std::cout << report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

std::uint16_t parse_port(std::string_view text, std::string_view what) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1 ||
      value > 65535) {
    throw bad_value(what, "must be a port from 1 to 65535", text);
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
  // Name the whole item ("-1", "80-"), not the empty half the dash left.
  std::uint16_t first = 0, last = 0;
  try {
    first = parse_port(text.substr(0, dash), what);
    last = parse_port(text.substr(dash + 1), what);
  } catch (const UsageError&) {
    throw bad_value(what, "must be a port from 1 to 65535 or a range A-B of them", text);
  }
  if (first > last) throw bad_value(what, "range must go up", text);
  return {first, last};
}

std::vector<std::uint16_t> parse_port_list(std::string_view text, std::string_view what) {
  std::vector<std::uint16_t> ports;
  if (text.empty()) throw bad_value(what, "needs at least one port", text);
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                          : comma - start);
    const auto [first, last] = parse_port_range(item, what);
    if (std::uint32_t{last} - first > 1024) {
      throw bad_value(what, "range is too large (1024 ports at most)", item);
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
    throw bad_value(what, "must be a number of seconds above 0 (at most 3600)", text);
  }
  return std::chrono::microseconds(static_cast<std::int64_t>(value * 1e6));
}

stun::TransportAddress parse_ip_port(std::string_view text, std::string_view what) {
  auto parsed = stun::TransportAddress::parse(text);
  if (!parsed) throw bad_value(what, "must be an IP address with an optional port", text);
  return *parsed;
}

stun::TransportAddress parse_ip(std::string_view text, std::string_view what) {
  auto parsed = stun::TransportAddress::parse(text);
  if (!parsed || text.find(']') != std::string_view::npos ||
      (parsed->family == stun::Family::kIPv4 && text.find(':') != std::string_view::npos)) {
    throw bad_value(what, "must be an IP address", text);
  }
  return *parsed;
}

void validate_host(std::string_view host, std::string_view what) {
  if (host.empty()) throw bad_value(what, "must not be empty", host);
  if (stun::TransportAddress::parse(host)) return;
  if (net::is_numeric_host(host)) {
    throw bad_value(what, "is neither an IP address (IPv4 is four numbers a.b.c.d) nor a host name", host);
  }
  if (!net::is_host_name(host)) throw bad_value(what, "is not a host name or IP address", host);
}

void check_family(std::string_view host, net::FamilyPreference family, std::string_view what) {
  const auto literal = stun::TransportAddress::parse(host);
  if (!literal || family == net::FamilyPreference::kAny) return;
  const bool v4 = literal->family == stun::Family::kIPv4;
  if (v4 == (family == net::FamilyPreference::kIPv4Only)) return;
  throw conflict(std::string(what) + " " + std::string(host) + " is an IPv" + (v4 ? "4" : "6") +
                     " address, but " + (v4 ? "-6" : "-4") + " asks for IPv" + (v4 ? "6" : "4") +
                     " only",
                 host);
}

void check_pem_file(const std::string& path, std::string_view what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw bad_value(what, "is a directory, not a PEM file", path);
  std::ifstream in(path);
  if (!in) throw bad_value(what, std::string("cannot be read (") + std::strerror(errno) + ")", path);
  std::string line;
  for (int i = 0; i < 10000 && std::getline(in, line); ++i) {
    if (line.starts_with("-----BEGIN CERTIFICATE-----")) return;
  }
  throw bad_value(what, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path);
}

int parse_int(std::string_view text, std::string_view what, int min, int max) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min ||
      value > max) {
    throw bad_value(what, "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max),
                    text);
  }
  return value;
}

net::FamilyPreference family_from_flags(const cxxopts::ParseResult& args) {
  const bool v4 = args.count("ipv4") > 0;
  const bool v6 = args.count("ipv6") > 0;
  if (v4 && v6) throw conflict("-4 and -6 exclude each other", "-6");
  return v4 ? net::FamilyPreference::kIPv4Only
            : v6 ? net::FamilyPreference::kIPv6Only : net::FamilyPreference::kAny;
}

namespace {

// cxxopts reads "-1" as the short option '1' ("Option '1' does not exist"). A negative number
// that is not the value of an option is an argument: moved after "--", the command names it
// ("PORT must be a port from 1 to 65535, got '-1'"). `dashdash` outlives the returned vector.
std::vector<char*> move_negative_numbers(const cxxopts::Options& options, int argc, char** argv,
                                         std::string& dashdash) {
  std::set<std::string> short_flags, value_options;
  for (const auto& group : options.groups()) {
    for (const auto& o : options.group_help(group).options) {
      if (!o.s.empty()) short_flags.insert(o.s);
      if (o.is_boolean) continue;
      if (!o.s.empty()) value_options.insert("-" + o.s);
      for (const auto& l : o.l) value_options.insert("--" + l);
    }
  }
  static const std::regex negative_number("-[0-9][0-9.]*");
  std::vector<char*> args(argv, argv + argc);
  std::vector<char*> moved;
  for (std::size_t i = 1; i < args.size();) {
    const std::string arg = args[i];
    if (arg == "--") break;
    if (value_options.count(arg) > 0) {
      i += 2;  // the option and its value
      continue;
    }
    if (std::regex_match(arg, negative_number) && short_flags.count(arg.substr(1)) == 0) {
      moved.push_back(args[i]);
      args.erase(args.begin() + static_cast<long>(i));
      continue;
    }
    ++i;
  }
  if (!moved.empty()) {
    dashdash = "--";
    if (std::find_if(args.begin(), args.end(), [](const char* a) { return std::string_view(a) == "--"; }) ==
        args.end()) {
      args.push_back(dashdash.data());
    }
    args.insert(args.end(), moved.begin(), moved.end());
  }
  return args;
}

}  // namespace

cxxopts::ParseResult parse_args(cxxopts::Options& options, int argc, char** argv) {
  std::string dashdash;
  std::vector<char*> args = move_negative_numbers(options, argc, argv, dashdash);
  try {
    return options.parse(static_cast<int>(args.size()), args.data());
  } catch (const cxxopts::exceptions::exception& e) {
    // cxxopts quotes with typographic marks; one plain line is easier to grep and read.
    std::string message = e.what();
    for (const std::string mark : {"\u2018", "\u2019"}) {
      for (auto at = message.find(mark); at != std::string::npos; at = message.find(mark)) {
        message.replace(at, mark.size(), "'");
      }
    }
    // The option cxxopts quotes, as the user typed it ("--tmeout", "-x").
    std::optional<std::string> value;
    if (const auto open = message.find('\''); open != std::string::npos) {
      const auto close = message.find('\'', open + 1);
      if (close != std::string::npos) {
        std::string name = message.substr(open + 1, close - open - 1);
        if (!name.empty() && name.front() != '-') name = (name.size() == 1 ? "-" : "--") + name;
        value = name;
      }
    }
    if (dynamic_cast<const cxxopts::exceptions::no_such_option*>(&e) != nullptr && value) {
      message = "unknown option '" + *value + "' (see --help)";
    }
    throw UsageError(ErrorKind::kUsage, message, value);
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
