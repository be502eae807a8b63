// RFC 5780 NAT behaviour discovery as a state machine without I/O (the stuntman model): the
// caller passes the time in, transmits what poll() asks for, and feeds the decoded responses
// back. Mapping (§4.3) and filtering (§4.4) run on two separate local sockets, concurrently,
// so the mapping tests cannot open pinholes that bias the filtering tests.
//
//   mapping socket:   M1 -> A1:P1 ; then M2 -> A2:P1 and M3 -> A2:P2 at once
//   filtering socket: F1 -> A1:P1 ; then F2 (change IP and port) and F3 (change port) at once
//
// Silence from F2/F3 only means "filtered" if the server can answer from its other address.
// M3 has opened a pinhole for A2:P2 on the mapping socket, so two capability checks from that
// socket must be answered by any honest server whatever the NAT filters: C1 (to A1:P1, change
// IP and port) and C2 (to A2:P1, change port), both answered from A2:P2. With endpoint-
// independent mapping that pinhole is on the mapping every request uses; otherwise the checks
// carry RESPONSE-PORT (RFC 5780 §7.5) naming M3's public port, so the answer lands on M3's
// own mapping. A server that fails them (or cannot do RESPONSE-PORT) leaves silence
// unexplained: filtering is `unknown`, never a verdict.
//
// A NAT that maps endpoint-independently still gives a flow a new public port when an older
// flow holds the tuple it would use: Linux does, and an earlier run's unanswered CHANGE-REQUEST
// answers (from A2:P2 and A1:P2) stay in its table for 30 s. One socket cannot tell that from
// a mapping policy, so a mapping that changed is asked again from a third, fresh socket: R1 to
// A1:P1 and R2 to A2:P1 (ports no earlier answer comes from). Only when the recheck changes
// too is the mapping called dependent; when it does not, or cannot run, the mapping is unknown.
//
// Tests that must be answered are retransmitted until the overall deadline (re-paced from the
// first RTT measured). Tests whose silence is an answer (F2, F3) are retransmitted inside a
// window derived from the RTT that F1 measured on the same path, never shorter than a floor,
// and never with fewer transmissions than the loss seen so far requires; a window the deadline
// cuts short is no evidence. An ICMP port unreachable ends a test at once: nothing listens.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stun/proto/retransmit.hpp"
#include "stun/proto/types.hpp"

namespace natdiag::stun::rfc5780 {

/// RFC 4787 behaviour names, plus `direct` (no NAT) and `unknown`.
enum class Behaviour : std::uint8_t {
  kUnknown,
  kDirect,
  kEndpointIndependent,
  kAddressDependent,
  kAddressAndPortDependent,
};
/// "endpoint-independent", ... (design.md's JSON values).
[[nodiscard]] std::string_view behaviour_name(Behaviour b) noexcept;

/// Why the mapping stayed unknown: each asks for a different remedy.
enum class UnknownWhy : std::uint8_t {
  kNone,              ///< decided
  kNoAnswer,          ///< no usable answer from the server at all
  kTimeRanOut,        ///< the time given ended a test before its answer or window
  kNoOtherAddress,    ///< one server without a usable RFC 5780 OTHER-ADDRESS
  kAlternateSilent,   ///< the server's alternate address did not answer
  kRecheckDisagrees,  ///< a fresh socket kept one mapping where the first changed (port clash)
  kRecheckFailed,     ///< the recheck of a changed mapping could not run or got no answer
  kOneServer,         ///< multi-server method: only one server answered
  kServersShareIp,    ///< multi-server method: the servers share one IP
  kNeedSecondPort,    ///< multi-server method: dependent, but no two ports of one IP to say how
};
/// "no-answer", "time-ran-out", ... ("" for kNone): the profile fact `mapping_unknown`.
[[nodiscard]] std::string_view unknown_why_name(UnknownWhy why) noexcept;

/// The local sockets: the third only for the recheck.
enum class Socket : std::uint8_t { kMapping, kFiltering, kRecheck };

/// The six RFC 5780 tests, the two capability checks and the two-test recheck of a mapping
/// that was not endpoint-independent.
enum class Test : std::uint8_t { kM1, kM2, kM3, kF1, kF2, kF3, kC1, kC2, kR1, kR2 };
inline constexpr std::size_t kTestCount = 10;
[[nodiscard]] std::string_view test_name(Test t) noexcept;
/// The socket a test is sent from.
[[nodiscard]] Socket socket_of(Test t) noexcept;

/// One transmission the caller must make now. Retransmissions of a test repeat its
/// transaction ID (the caller keeps one ID per test).
struct Send {
  Test test{};
  Socket socket{};
  TransportAddress destination;
  bool change_ip = false;
  bool change_port = false;
  std::optional<std::uint16_t> response_port;  ///< RFC 5780 §7.5 RESPONSE-PORT to ask for
};

/// What a response said, already matched to its test by transaction ID.
struct Observation {
  TransportAddress source;                     ///< where the response came from
  std::optional<TransportAddress> mapped;
  std::optional<TransportAddress> other_address;
  std::optional<int> error_code;               ///< for error responses
};

/// Timing knobs. Defaults suit both a LAN lab and the Internet.
struct Timing {
  Duration initial_rto = std::chrono::milliseconds(200);  ///< first contact, RTT unknown
  Duration rto_floor = std::chrono::milliseconds(50);     ///< never retransmit faster
  /// Silence windows spread their tries over the window (at most one per 2*RTT, never
  /// faster than this): many tries, a bounded count.
  Duration silence_rto_floor = std::chrono::milliseconds(20);
  Duration silence_floor = std::chrono::milliseconds(250);  ///< shortest silence window
  int silence_rtt_factor = 6;                           ///< window = max(floor, factor*RTT)
  /// A silence window holds at least this many transmissions (14: an answer lost on all of
  /// them below 1/10,000 up to 30 % loss each way), more when the loss seen so far makes that
  /// many too likely to all be lost (at most the max).
  int min_silence_transmissions = 14;
  int max_silence_transmissions = 20;
  /// "UDP blocked" needs M1 and F1 each unanswered after at least this many transmissions.
  int min_blocked_transmissions = 3;
};

/// What happened to one test.
struct TestRecord {
  TransportAddress destination;  ///< where the requests went
  bool change_ip = false;        ///< CHANGE-REQUEST flags sent
  bool change_port = false;
  bool started = false;
  bool answered = false;
  bool silent = false;       ///< closed without an answer
  bool cut_short = false;    ///< silent, but the deadline ended it before its window was full
  bool unreachable = false;  ///< ICMP port unreachable: nothing listens at the destination
  std::optional<std::uint16_t> response_port;  ///< RESPONSE-PORT sent
  int transmissions = 0;
  Duration rtt{};            ///< from the transmission just before the answer
  Observation observation;   ///< valid when answered
  std::string note;          ///< e.g. "answered from the wrong address"
};

/// The verdict and the reasons behind it.
struct Verdict {
  Behaviour mapping = Behaviour::kUnknown;
  Behaviour filtering = Behaviour::kUnknown;
  std::optional<bool> port_preservation;
  std::optional<TransportAddress> public_address;  ///< M1's mapped address
  /// Neither M1 nor F1 got any answer after enough tries (and no ICMP error came back).
  bool udp_blocked = false;
  /// ICMP port unreachable for A1:P1 and no answer: nothing listens on UDP there.
  bool port_unreachable = false;
  bool server_has_other_address = false;
  /// C1 and C2 answered: the server can answer CHANGE-REQUEST from its other address.
  /// nullopt when they could not run.
  std::optional<bool> server_change_request_verified;
  /// The behaviours the evidence leaves open: one when decided, two when it could not
  /// separate them (e.g. address-dependent or address-and-port-dependent), empty when
  /// nothing narrowed the answer.
  std::vector<Behaviour> mapping_candidates;
  std::vector<Behaviour> filtering_candidates;
  /// With no NAT, what a firewall does to unsolicited packets from other addresses, in the
  /// filtering names (the verdict itself stays `direct`).
  Behaviour firewall_filtering = Behaviour::kUnknown;
  UnknownWhy mapping_unknown = UnknownWhy::kNone;  ///< why mapping stayed unknown
  std::string mapping_reason;
  std::string filtering_reason;
};

/// The discovery itself.
class Discovery {
 public:
  /// `server` is A1:P1. `local_mapping` / `local_filtering` are the two sockets' local
  /// addresses as the routing table would source them (to recognise "no NAT").
  Discovery(const TransportAddress& server, const TransportAddress& local_mapping,
            const TransportAddress& local_filtering, TimePoint start, TimePoint deadline,
            Timing timing = {});

  /// The transmissions due at `now` (first sends and retransmissions).
  [[nodiscard]] std::vector<Send> poll(TimePoint now);
  /// A response to `test`. Late, duplicate and out-of-place answers are recorded, never
  /// allowed to change a decided test.
  void on_response(Test test, const Observation& observation, TimePoint now);
  /// An ICMP port unreachable for a request of `test` (the kernel matched it to the socket
  /// and destination). Ends the test; a real answer arriving later still counts.
  void on_port_unreachable(Test test, TimePoint now);
  /// When poll() next has something to do.
  [[nodiscard]] TimePoint next_event() const noexcept;
  [[nodiscard]] bool done() const noexcept;
  [[nodiscard]] Verdict verdict() const;
  [[nodiscard]] const TestRecord& record(Test t) const noexcept {
    return tests_[static_cast<std::size_t>(t)].record;
  }
  /// Packets that answered a test but were not believed (wrong source, after the window).
  [[nodiscard]] int disbelieved() const noexcept { return disbelieved_; }

 private:
  struct State {
    TestRecord record;
    Send send;
    bool expects_silence = false;
    TimePoint next_send{};
    TimePoint closes{};  ///< answer window end (silence tests) or the overall deadline
    bool window_cut = false;  ///< `closes` is the deadline, earlier than the window wanted
    Duration rto{};
  };
  void start(Test t, const TransportAddress& to, bool change_ip, bool change_port, TimePoint now,
             Duration rto, bool expects_silence, Duration window = {},
             std::optional<std::uint16_t> response_port = std::nullopt);
  void after_m1(TimePoint now);
  void after_f1(TimePoint now);
  void after_m3(TimePoint now);
  void recheck_if_dependent(TimePoint now);
  void repace(Duration rtt, TimePoint now);
  [[nodiscard]] int required_silence_transmissions() const noexcept;
  void decide_mapping(Verdict& v) const;
  void decide_filtering(Verdict& v) const;
  [[nodiscard]] bool is_local(Socket s, const TransportAddress& mapped) const noexcept;
  State& state(Test t) noexcept { return tests_[static_cast<std::size_t>(t)]; }
  [[nodiscard]] const State& state(Test t) const noexcept {
    return tests_[static_cast<std::size_t>(t)];
  }

  TransportAddress server_;
  TransportAddress local_mapping_;
  TransportAddress local_filtering_;
  TimePoint deadline_;
  Timing timing_;
  std::array<State, kTestCount> tests_{};
  std::optional<TransportAddress> other_;  ///< A2:P2, from M1 or F1
  std::array<TimePoint, kTestCount> last_sent_{};
  Duration rto_cap_ = std::chrono::seconds(1);  ///< backoff cap; lower once the server answered
  int disbelieved_ = 0;
};

}  // namespace natdiag::stun::rfc5780
