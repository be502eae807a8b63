#include "src/profile/config/hocon.hpp"

#include <vector>

#include "src/profile/config/parsers.hpp"

namespace natdiag::profile::config {
namespace {

enum class Tok {
  lbrace,
  rbrace,
  lbracket,
  rbracket,
  equals,
  colon,
  comma,
  newline,
  quoted,
  unquoted,
  end
};

struct Token {
  Tok kind = Tok::end;
  std::string text;  ///< strings: the value, escapes resolved
  std::size_t begin = 0;
  std::size_t end = 0;
  int line = 1;
};

struct Error {
  int line;
  std::string message;
};

// HOCON spec, "Unquoted strings": these characters cannot appear in one.
bool forbidden(char c) {
  return std::string_view("$\"{}[]:=,+#`^?!@*&\\").find(c) != std::string_view::npos;
}
bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\f';
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  // The next token, or an Error for what the subset does not read.
  Token next() {
    skip_blanks_and_comments();
    Token t;
    t.begin = pos_;
    t.line = line_;
    if (pos_ == text_.size()) return finish(t, Tok::end, 0);
    const char c = text_[pos_];
    switch (c) {
      case '{': return finish(t, Tok::lbrace, 1);
      case '}': return finish(t, Tok::rbrace, 1);
      case '[': return finish(t, Tok::lbracket, 1);
      case ']': return finish(t, Tok::rbracket, 1);
      case '=': return finish(t, Tok::equals, 1);
      case ':': return finish(t, Tok::colon, 1);
      case ',': return finish(t, Tok::comma, 1);
      case '\n': {
        auto n = finish(t, Tok::newline, 1);
        ++line_;
        return n;
      }
      case '"': return quoted(t);
      default: break;
    }
    if (c == '+' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '=') {
      throw Error{line_, "'+=' (append) is outside natdiag's HOCON subset"};
    }
    if (c == '$') throw Error{line_, "substitution '${...}' is outside natdiag's HOCON subset"};
    if (forbidden(c)) throw Error{line_, std::string("unexpected '") + c + "'"};
    std::size_t end = pos_;
    std::size_t last = pos_;  // one past the last non-blank character
    while (end < text_.size() && text_[end] != '\n' && !forbidden(text_[end]) &&
           text_.substr(end, 2) != "//") {
      if (!blank(text_[end])) last = end + 1;
      ++end;
    }
    t.kind = Tok::unquoted;
    t.text = std::string(text_.substr(pos_, last - pos_));
    t.end = last;
    pos_ = last;
    return t;
  }

 private:
  Token finish(Token& t, Tok kind, std::size_t length) {
    t.kind = kind;
    pos_ += length;
    t.end = pos_;
    return t;
  }

  void skip_blanks_and_comments() {
    while (pos_ < text_.size()) {
      if (blank(text_[pos_])) {
        ++pos_;
      } else if (text_[pos_] == '#' || text_.substr(pos_, 2) == "//") {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        return;
      }
    }
  }

  Token quoted(Token& t) {
    if (text_.substr(pos_, 3) == "\"\"\"") {
      throw Error{line_, "triple-quoted strings are outside natdiag's HOCON subset"};
    }
    std::string out;
    std::size_t i = pos_ + 1;
    while (true) {
      if (i >= text_.size() || text_[i] == '\n') throw Error{line_, "unterminated quoted string"};
      const char c = text_[i];
      if (c == '"') break;
      if (c != '\\') {
        out += c;
        ++i;
        continue;
      }
      if (i + 1 >= text_.size()) throw Error{line_, "unterminated quoted string"};
      const char e = text_[i + 1];
      i += 2;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        default:
          throw Error{line_, std::string("unsupported escape '\\") + e + "' in a quoted string"};
      }
    }
    t.kind = Tok::quoted;
    t.text = std::move(out);
    pos_ = i + 1;
    t.end = pos_;
    return t;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

// Objects and arrays nest at most this deep: deeper is an error, never a stack overflow.
constexpr int kMaxDepth = 64;

std::string join(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

class Parser {
 public:
  Parser(std::string_view text, ParsedFile& file) : text_(text), lexer_(text), file_(file) {
    advance();
  }

  void root() {
    skip_newlines();
    if (tok_.kind == Tok::lbrace) {
      const int open = tok_.line;
      advance();
      object("", Tok::rbrace, open);
      skip_newlines();
      if (tok_.kind != Tok::end) throw Error{tok_.line, "text after the root object's '}'"};
    } else {
      object("", Tok::end, 0);
    }
  }

 private:
  void advance() { tok_ = lexer_.next(); }
  void skip_newlines() {
    while (tok_.kind == Tok::newline) advance();
  }

  // Fields up to `closer` (the '}' of an object opened on line `open`, or the end).
  void object(const std::string& prefix, Tok closer, int open) {
    while (true) {
      skip_newlines();
      if (tok_.kind == closer) {
        if (closer != Tok::end) advance();
        return;
      }
      if (tok_.kind == Tok::end)
        throw Error{tok_.line, "'{' opened on line " + std::to_string(open) + " is not closed"};
      field(prefix);
      if (tok_.kind == Tok::comma) {
        advance();
      } else if (tok_.kind != Tok::newline && tok_.kind != closer) {
        throw Error{tok_.line, "expected a new line, ',' or the end of the object after a field"};
      }
    }
  }

  void field(const std::string& prefix) {
    if (tok_.kind == Tok::unquoted &&
        (tok_.text == "include" || tok_.text.starts_with("include ")) && !followed_by_separator()) {
      include();
      return;
    }
    const int key_line = tok_.line;
    const std::string path = join(prefix, key());
    if (tok_.kind == Tok::equals || tok_.kind == Tok::colon) {
      advance();
    } else if (tok_.kind != Tok::lbrace) {
      throw Error{key_line, "expected '=', ':' or '{' after the key '" + path + "'"};
    }
    value(path);
  }

  // `include = 1` names a key "include"; only `include "file"` and the like include.
  bool followed_by_separator() const {
    const auto next = text_.find_first_not_of(" \t", tok_.end);
    return next != std::string_view::npos &&
           (text_[next] == '=' || text_[next] == ':' || text_[next] == '{');
  }

  // A key: quoted and unquoted pieces written together, split on the unquoted dots.
  std::string key() {
    if (tok_.kind != Tok::quoted && tok_.kind != Tok::unquoted)
      throw Error{tok_.line, "expected a key"};
    std::string path;
    std::string segment;
    bool first = true;
    std::size_t end = tok_.begin;
    while ((tok_.kind == Tok::quoted || tok_.kind == Tok::unquoted) &&
           (first || tok_.begin == end)) {
      if (tok_.kind == Tok::quoted) {
        segment += tok_.text;
      } else {
        for (const char c : tok_.text) {
          if (c == '.') {
            path = join(path, segment);
            segment.clear();
          } else {
            segment += c;
          }
        }
      }
      first = false;
      end = tok_.end;
      advance();
    }
    return join(path, segment);
  }

  void value(const std::string& path) {
    if ((tok_.kind == Tok::lbrace || tok_.kind == Tok::lbracket) && ++depth_ > kMaxDepth) {
      throw Error{tok_.line,
                  "objects and arrays nested deeper than " + std::to_string(kMaxDepth) + " levels"};
    }
    const Depth restore{depth_, tok_.kind == Tok::lbrace || tok_.kind == Tok::lbracket};
    if (tok_.kind == Tok::lbrace) {
      const int open = tok_.line;
      advance();
      object(path, Tok::rbrace, open);
    } else if (tok_.kind == Tok::lbracket) {
      array(path);
    } else if (tok_.kind == Tok::quoted || tok_.kind == Tok::unquoted) {
      file_.settings.push_back({path, tok_.text, tok_.line});
      const int line = tok_.line;
      advance();
      if (tok_.kind == Tok::quoted || tok_.kind == Tok::unquoted) {
        throw Error{
            line, "value concatenation is outside natdiag's HOCON subset (quote the whole value)"};
      }
    } else {
      throw Error{tok_.line, "expected a value for '" + path + "'"};
    }
  }

  void array(const std::string& path) {
    const int open = tok_.line;
    advance();
    int index = 0;
    while (true) {
      skip_newlines();
      if (tok_.kind == Tok::rbracket) {
        advance();
        return;
      }
      if (tok_.kind == Tok::end)
        throw Error{tok_.line, "'[' opened on line " + std::to_string(open) + " is not closed"};
      value(path + "." + std::to_string(index++));
      skip_newlines();
      if (tok_.kind == Tok::comma) advance();
    }
  }

  // `include "file"`, `include required("file")`: noted as the setting "include", never read.
  void include() {
    const int line = tok_.line;
    const std::size_t begin = tok_.begin + 7;
    std::size_t end = tok_.end;
    advance();
    while (tok_.kind != Tok::newline && tok_.kind != Tok::end) {
      end = tok_.end;
      advance();
    }
    std::string target(text_.substr(begin, end - begin));
    while (!target.empty() && blank(target.front())) target.erase(target.begin());
    if (target.size() >= 2 && target.front() == '"' && target.back() == '"')
      target = target.substr(1, target.size() - 2);
    file_.settings.push_back({"include", target, line});
  }

  // Undoes value()'s depth count when the object or array is read.
  struct Depth {
    int& depth;
    bool counted;
    ~Depth() {
      if (counted) --depth;
    }
  };

  std::string_view text_;
  Lexer lexer_;
  ParsedFile& file_;
  Token tok_;
  int depth_ = 0;
};

bool safe_unquoted(std::string_view value) {
  if (value.empty() || value.find("//") != std::string_view::npos) return false;
  for (const char c : value) {
    if (forbidden(c) || blank(c) || c == '\n') return false;
  }
  return true;
}

std::string quote(std::string_view value) {
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

ParsedFile parse_hocon(std::string path, std::string_view text) {
  ParsedFile file;
  file.path = std::move(path);
  file.syntax = "hocon";
  file.lines = split_lines(text);
  try {
    Parser(text, file).root();
  } catch (const Error& e) {
    file.settings.clear();
    file.error = ParseError{e.line, e.message};
  }
  return file;
}

std::optional<std::string> hocon_replace_value(std::string_view line, std::string_view key,
                                               std::string_view old_value, std::string_view value) {
  std::vector<Token> tokens;
  try {
    Lexer lexer(line);
    for (auto t = lexer.next(); t.kind != Tok::end && t.kind != Tok::newline; t = lexer.next()) {
      tokens.push_back(t);
    }
  } catch (const Error&) {
    return std::nullopt;
  }
  // The setting's own name: the last part of its path that is not an array index.
  std::string_view want = key;
  while (true) {
    const auto dot = want.rfind('.');
    const auto last = dot == std::string_view::npos ? want : want.substr(dot + 1);
    if (dot == std::string_view::npos ||
        last.find_first_not_of("0123456789") != std::string_view::npos) {
      want = last;
      break;
    }
    want = want.substr(0, dot);
  }
  const auto is_key = [&](std::size_t i) {
    return i + 1 < tokens.size() &&
           (tokens[i + 1].kind == Tok::equals || tokens[i + 1].kind == Tok::colon ||
            tokens[i + 1].kind == Tok::lbrace);
  };
  std::vector<std::size_t> named;  // matches whose nearest key on the line is `want`
  std::vector<std::size_t> keyless;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if ((tokens[i].kind != Tok::quoted && tokens[i].kind != Tok::unquoted) || is_key(i) ||
        tokens[i].text != old_value)
      continue;
    std::optional<std::string_view> owner;
    for (std::size_t k = i; k-- > 0;) {
      if ((tokens[k].kind == Tok::quoted || tokens[k].kind == Tok::unquoted) && is_key(k)) {
        owner = tokens[k].text;
        break;
      }
    }
    if (!owner) {
      keyless.push_back(i);
    } else {
      const auto dot = owner->rfind('.');
      if ((dot == std::string_view::npos ? *owner : owner->substr(dot + 1)) == want)
        named.push_back(i);
    }
  }
  const auto& chosen = named.empty() ? keyless : named;
  if (chosen.size() != 1) return std::nullopt;
  const Token& t = tokens[chosen.front()];
  const std::string written =
      t.kind == Tok::unquoted && safe_unquoted(value) ? std::string(value) : quote(value);
  return std::string(line.substr(0, t.begin)) + written + std::string(line.substr(t.end));
}

}  // namespace natdiag::profile::config
