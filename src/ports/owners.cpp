#include "src/ports/owners.hpp"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

namespace natdiag::ports {
namespace {

/// include/net/tcp_states.h: TCP_LISTEN.
constexpr unsigned kTcpListen = 0x0A;

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    const auto start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

template <typename T>
bool parse_number(std::string_view text, T& out, int base) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string process_name(const std::string& pid) {
  std::ifstream comm("/proc/" + pid + "/comm");
  std::string name;
  std::getline(comm, name);
  return name.empty() ? "unknown process" : name;
}

}  // namespace

std::optional<ProcNetEntry> parse_proc_net_line(std::string_view line) {
  // "  0: 00000000:01BB 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0  0 12345 ..."
  const auto f = fields(line);
  if (f.size() < 10) return std::nullopt;
  const auto local = f[1];
  const auto colon = local.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  ProcNetEntry e;
  if (!parse_number(local.substr(colon + 1), e.port, 16) || !parse_number(f[3], e.state, 16) ||
      !parse_number(f[9], e.inode, 10)) {
    return std::nullopt;
  }
  return e;
}

std::map<std::uint16_t, std::string> port_owners(Transport transport, const PortSet& ports) {
  std::map<unsigned long, std::uint16_t> inode_port;
  const bool tcp = transport == Transport::kTcp;
  const std::string base = tcp ? "/proc/net/tcp" : "/proc/net/udp";
  for (const std::string& file : {base, base + "6"}) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      const auto e = parse_proc_net_line(line);
      if (!e || !ports.contains(e->port) || e->inode == 0) continue;
      if (tcp && e->state != kTcpListen) continue;
      inode_port.emplace(e->inode, e->port);
    }
  }
  std::map<std::uint16_t, std::string> owners;
  if (inode_port.empty()) return owners;
  const pid_t self = ::getpid();
  if (DIR* proc = ::opendir("/proc")) {
    while (const dirent* d = ::readdir(proc)) {
      const std::string pid = d->d_name;
      if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
      if (pid == std::to_string(self)) continue;  // natdiag's own sockets are not an owner
      const std::string fd_dir = "/proc/" + pid + "/fd";
      DIR* fds = ::opendir(fd_dir.c_str());
      if (fds == nullptr) continue;
      while (const dirent* f = ::readdir(fds)) {
        char target[64] = {};
        const std::string link = fd_dir + "/" + f->d_name;
        const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
        if (n <= 8) continue;
        const std::string_view t(target, static_cast<std::size_t>(n));
        if (!t.starts_with("socket:[")) continue;
        unsigned long inode = 0;
        if (!parse_number(t.substr(8, t.size() - 9), inode, 10)) continue;
        const auto it = inode_port.find(inode);
        if (it == inode_port.end()) continue;
        owners.try_emplace(it->second, process_name(pid) + " (pid " + pid + ")");
      }
      ::closedir(fds);
    }
    ::closedir(proc);
  }
  for (const auto& [inode, port] : inode_port) {
    owners.try_emplace(port, "unknown process (socket inode " + std::to_string(inode) + ")");
  }
  return owners;
}

}  // namespace natdiag::ports
