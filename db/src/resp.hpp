// RESP2 and RESP3 replies, read incrementally: bytes are fed as they arrive and each complete
// reply comes out as a tree of RespNode. Aggregates in progress are kept on a stack, so a
// reply that arrives in many pieces is parsed once (linear in its size), however large.
// (Debian 12's hiredis, 0.14, predates RESP3; this reader replaces it.) Private to
// spindle-redis.
#pragma once

#include <spindle/redis.hpp>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace spindle::redis::detail {

struct RespNode {
  Reply::Type type = Reply::Type::Nil;
  std::string str;           // String, Status, Error, BigNumber, Verbatim (text), Double (text)
  long long integer = 0;     // Integer; Boolean as 0 or 1
  double number = 0;         // Double
  std::string format;        // Verbatim: "txt", "mkd"
  std::vector<RespNode> elements;  // Array, Set, Push; Map as key, value, key, value...
};

/// A reply the server should not have sent.
struct ProtocolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class RespReader {
 public:
  /// Appends received bytes.
  void feed(std::string_view data) {
    if (pos_ > 0 && pos_ == buf_.size()) {  // (all consumed: start afresh, no copy)
      buf_.clear();
      pos_ = 0;
    } else if (pos_ > 64 * 1024 && pos_ > buf_.size() / 2) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    buf_.append(data);
  }

  /// The next complete reply, or nullptr until more bytes come. Throws ProtocolError.
  std::unique_ptr<RespNode> get() {
    for (;;) {
      const auto eol = buf_.find("\r\n", pos_);
      if (eol == std::string::npos) {
        if (buf_.size() - pos_ > kMaxLine) throw ProtocolError("a reply line longer than 64 KiB");
        return nullptr;
      }
      const char kind = buf_[pos_];
      const std::string_view line(buf_.data() + pos_ + 1, eol - pos_ - 1);
      RespNode node;
      std::size_t count = 0;  // elements to come, for an aggregate
      bool aggregate = false;
      std::size_t next = eol + 2;
      switch (kind) {
        case '+': node.type = Reply::Type::Status; node.str = line; break;
        case '-': node.type = Reply::Type::Error; node.str = line; break;
        case ':': node.type = Reply::Type::Integer; node.integer = integer(line); break;
        case '_': node.type = Reply::Type::Nil; break;
        case '#':
          if (line != "t" && line != "f") throw ProtocolError("a boolean that is not t or f");
          node.type = Reply::Type::Boolean;
          node.integer = line == "t";
          break;
        case ',': node.type = Reply::Type::Double; node.str = line; node.number = to_double(line); break;
        case '(': node.type = Reply::Type::BigNumber; node.str = line; break;
        case '$': case '!': case '=': {
          const long long len = integer(line);
          if (len < 0) {
            if (len != -1) throw ProtocolError("a negative length");
            node.type = Reply::Type::Nil;
            break;
          }
          if (static_cast<unsigned long long>(len) > kMaxBulk) throw ProtocolError("a string longer than 512 MiB");
          const auto n = static_cast<std::size_t>(len);
          if (buf_.size() - next < n + 2) return nullptr;  // (the line is read again then)
          if (buf_.compare(next + n, 2, "\r\n") != 0) throw ProtocolError("a string not ended by CRLF");
          const std::string_view body(buf_.data() + next, n);
          next += n + 2;
          if (kind == '$') {
            node.type = Reply::Type::String;
            node.str = body;
          } else if (kind == '!') {
            node.type = Reply::Type::Error;
            node.str = body;
          } else {
            if (n < 4 || body[3] != ':') throw ProtocolError("a verbatim string without its format");
            node.type = Reply::Type::Verbatim;
            node.format = body.substr(0, 3);
            node.str = body.substr(4);
          }
          break;
        }
        case '*': case '%': case '~': case '>': case '|': {
          const long long n = integer(line);
          if (n < 0) {
            if (n != -1 || kind != '*') throw ProtocolError("a negative element count");
            node.type = Reply::Type::Nil;
            break;
          }
          if (static_cast<unsigned long long>(n) > kMaxElements) throw ProtocolError("an aggregate of too many elements");
          node.type = kind == '*'   ? Reply::Type::Array
                      : kind == '%' ? Reply::Type::Map
                      : kind == '~' ? Reply::Type::Set
                      : kind == '>' ? Reply::Type::Push
                                    : Reply::Type::Map;  // (an attribute: dropped below)
          count = static_cast<std::size_t>(n) * (kind == '%' || kind == '|' ? 2 : 1);
          aggregate = count > 0;
          if (kind == '|' && count == 0) {  // an empty attribute: nothing to attach it to
            pos_ = next;
            continue;
          }
          break;
        }
        default:
          throw ProtocolError(std::string("a reply of unknown type '") + kind + "'");
      }
      pos_ = next;
      if (aggregate) {
        node.elements.reserve(std::min<std::size_t>(count, 1024));
        if (kind == '|') {
          attributes_.push_back(std::make_unique<RespNode>(std::move(node)));
          stack_.push_back({attributes_.back().get(), count, true});
        } else {
          stack_.push_back({place(std::move(node)), count, false});
        }
        continue;
      }
      place(std::move(node));
      // Complete aggregates end; a finished attribute is dropped (spindle uses none).
      while (!stack_.empty() && stack_.back().left == 0) {
        const bool attribute = stack_.back().attribute;
        stack_.pop_back();
        if (attribute) attributes_.pop_back();
      }
      if (stack_.empty() && root_) return std::move(root_);
    }
  }

 private:
  static constexpr std::size_t kMaxLine = 64 * 1024;
  static constexpr std::size_t kMaxBulk = 512u << 20;
  static constexpr std::size_t kMaxElements = 1u << 30;

  struct Frame {
    RespNode* node;
    std::size_t left;
    bool attribute;
  };

  /// Puts a parsed node where it belongs (its parent's elements, or the root); returns it.
  RespNode* place(RespNode node) {
    if (stack_.empty()) {
      root_ = std::make_unique<RespNode>(std::move(node));
      return root_.get();
    }
    Frame& top = stack_.back();
    --top.left;
    top.node->elements.push_back(std::move(node));
    return &top.node->elements.back();
  }

  static long long integer(std::string_view s) {
    long long v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) {
      throw ProtocolError("\"" + std::string(s.substr(0, 32)) + "\" is not an integer");
    }
    return v;
  }

  static double to_double(std::string_view s) {
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
    if (s == "nan" || s == "-nan") return std::numeric_limits<double>::quiet_NaN();
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) {
      throw ProtocolError("\"" + std::string(s.substr(0, 32)) + "\" is not a double");
    }
    return v;
  }

  std::string buf_;
  std::size_t pos_ = 0;
  std::unique_ptr<RespNode> root_;
  std::vector<Frame> stack_;
  std::vector<std::unique_ptr<RespNode>> attributes_;
};

}  // namespace spindle::redis::detail
