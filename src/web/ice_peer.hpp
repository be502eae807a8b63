// Private to src/web/: the server-side ICE peer of one browser check, a libnice full agent in
// the controlled role. Only ICE matters: when the browser's binding checks succeed the media
// path works; DTLS and SCTP are never started (docs/web.md).
#pragma once

#include <glib.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace natdiag::web {

/// Which transport the server offers candidates on.
enum class PeerTransport { kUdp, kTcp };

/// The browser's side of the check: its ICE credentials and "candidate:..." lines.
struct RemoteIce {
  std::string ufrag;
  std::string pwd;
  std::vector<std::string> candidates;
};

/// Our side, once gathered: what the browser needs to build the SDP answer.
struct LocalIce {
  std::string ufrag;
  std::string pwd;
  std::vector<std::string> candidates;  ///< "candidate:..." lines
};

/// One ICE agent on CONTEXT; READY runs once with the local side (empty on failure), STATE with
/// true when a pair connected, false when ICE failed. Destroying the peer closes its sockets.
class IcePeer {
 public:
  IcePeer(GMainContext* context, PeerTransport transport, std::uint16_t port_min, std::uint16_t port_max,
          const std::string& local_ip, RemoteIce remote, std::function<void(const LocalIce&)> ready,
          std::function<void(bool)> state);
  ~IcePeer();
  IcePeer(const IcePeer&) = delete;
  IcePeer& operator=(const IcePeer&) = delete;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace natdiag::web
