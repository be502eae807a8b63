// YAML through yaml-cpp: LiveKit's livekit.yaml, plugNmeet's copy, bbb-webrtc-sfu's YAML.
#include <yaml-cpp/yaml.h>

#include "src/profile/config/parsers.hpp"

namespace natdiag::profile::config {
namespace {

// Deeper than any media server's file: a guard against a document built to exhaust the stack.
constexpr int kMaxDepth = 64;

void flatten(const YAML::Node& node, const std::string& path, int depth, ParsedFile& out) {
  if (depth > kMaxDepth)
    throw YAML::Exception(node.Mark(),
                          "nested deeper than " + std::to_string(kMaxDepth) + " levels");
  const auto join = [&](const std::string& name) {
    return path.empty() ? name : path + "." + name;
  };
  switch (node.Type()) {
    case YAML::NodeType::Map:
      for (const auto& kv : node) {
        // A key that is not a scalar (a complex key) names nothing natdiag checks.
        if (!kv.first.IsScalar()) continue;
        if (kv.second.IsNull()) {
          // `key:` with nothing after it: set, empty. The key's line is where it is written.
          out.settings.push_back({join(kv.first.Scalar()), "", kv.first.Mark().line + 1});
        } else {
          flatten(kv.second, join(kv.first.Scalar()), depth + 1, out);
        }
      }
      break;
    case YAML::NodeType::Sequence: {
      std::size_t index = 0;
      for (const auto& item : node) flatten(item, join(std::to_string(index++)), depth + 1, out);
      break;
    }
    case YAML::NodeType::Scalar:
      out.settings.push_back({path, node.Scalar(), node.Mark().line + 1});
      break;
    default: break;
  }
}

}  // namespace

void parse_yaml(const std::string& text, ParsedFile& out) {
  try {
    const YAML::Node root = YAML::Load(text);
    flatten(root, "", 0, out);
  } catch (const YAML::Exception& e) {
    out.settings.clear();
    out.error = ParseError{e.mark.is_null() ? 0 : e.mark.line + 1, e.msg};
  }
}

}  // namespace natdiag::profile::config
