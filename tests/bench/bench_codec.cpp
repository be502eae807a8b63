// Codec microbenchmarks (Google Benchmark). design.md target: decode + FINGERPRINT check of a
// Binding response in ≤ 100 ns with no heap allocation (pion/stun: about 20-60 ns).
#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <new>

#include "stun/proto/attributes.hpp"
#include "stun/proto/integrity.hpp"
#include "stun/proto/message.hpp"

using namespace natdiag::stun;

namespace {

// Counts heap allocations so the benchmark can report that the hot path makes none.
std::size_t g_allocations = 0;

std::vector<std::uint8_t> binding_response() {
  std::array<std::uint8_t, 256> buffer{};
  MessageBuilder b(buffer, compose_message_type(Method::kBinding, MessageClass::kSuccessResponse),
                   TransactionId{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  b.add_xor_address(AttributeType::kXorMappedAddress, *TransportAddress::parse("203.0.113.1:54321"))
      .add_address(AttributeType::kResponseOrigin, *TransportAddress::parse("198.51.100.10:3478"))
      .add_address(AttributeType::kOtherAddress, *TransportAddress::parse("198.51.100.11:3479"))
      .add_string(AttributeType::kSoftware, "natdiag 0.1.0")
      .add_fingerprint();
  return {b.bytes().begin(), b.bytes().end()};
}

void BM_DecodeAndCheckFingerprint(benchmark::State& state) {
  const auto packet = binding_response();
  const std::size_t before = g_allocations;
  for (auto _ : state) {
    auto view = MessageView::parse(packet);
    const bool ok = view.ok() && check_fingerprint(view.value()) == Check::kValid;
    auto mapped = find_mapped_address(view.value());
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(mapped);
  }
  state.counters["heap_allocs_per_op"] =
      static_cast<double>(g_allocations - before) / static_cast<double>(state.iterations());
  state.counters["bytes"] = static_cast<double>(packet.size());
}
BENCHMARK(BM_DecodeAndCheckFingerprint);

void BM_EncodeBindingRequest(benchmark::State& state) {
  std::array<std::uint8_t, 128> buffer{};
  const TransactionId id{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const std::size_t before = g_allocations;
  for (auto _ : state) {
    MessageBuilder b(buffer, compose_message_type(Method::kBinding, MessageClass::kRequest), id);
    b.add_string(AttributeType::kSoftware, "natdiag 0.1.0").add_fingerprint();
    benchmark::DoNotOptimize(b.bytes().data());
  }
  state.counters["heap_allocs_per_op"] =
      static_cast<double>(g_allocations - before) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_EncodeBindingRequest);

void BM_CheckMessageIntegrity(benchmark::State& state) {
  std::array<std::uint8_t, 256> buffer{};
  const auto key = short_term_key("VOkJxbRl1RmTxUk/WvJxBt");
  MessageBuilder b(buffer, compose_message_type(Method::kBinding, MessageClass::kRequest), TransactionId{7});
  b.add_string(AttributeType::kUsername, "evtj:h6vY").add_message_integrity(key).add_fingerprint();
  const std::vector<std::uint8_t> packet(b.bytes().begin(), b.bytes().end());
  for (auto _ : state) {
    auto view = MessageView::parse(packet);
    benchmark::DoNotOptimize(check_message_integrity(view.value(), key));
  }
}
BENCHMARK(BM_CheckMessageIntegrity);

}  // namespace

// The replacement operators pair malloc with free on purpose; GCC cannot see that.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

BENCHMARK_MAIN();
