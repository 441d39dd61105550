// RFC 9112's framing and Host rules that Beast 1.81's parser lets through, checked on a
// request's header before its body is read: a request a proxy in front could frame
// differently is refused (and the connection closed), so bytes after it are never read as a
// request of their own. Beast itself already refuses: conflicting or malformed Content-Length,
// Content-Length beside Transfer-Encoding, whitespace before a field's colon, CR, LF or NUL
// inside a field, a malformed request line or chunk.
#pragma once

#include <spindle/http/request.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace spindle::http::detail {

/// Whether `host` is a Host field's value (RFC 9112 section 3.2: uri-host [":" port], an empty
/// value allowed): an IP literal in brackets, or reg-name / IPv4 characters, then digits.
inline bool valid_host(std::string_view host) {
  std::size_t i = 0;
  if (!host.empty() && host[0] == '[') {
    const std::size_t end = host.find(']');
    if (end == std::string_view::npos || end == 1) return false;
    for (char c : host.substr(1, end - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.' && c != 'v' &&
          c != 'V') {
        return false;
      }
    }
    i = end + 1;
  } else {
    static constexpr std::string_view kRegName = "-._~!$&'()*+,;=%";
    while (i < host.size() && host[i] != ':') {
      const char c = host[i++];
      if (!std::isalnum(static_cast<unsigned char>(c)) && kRegName.find(c) == std::string_view::npos) {
        return false;
      }
    }
  }
  if (i == host.size()) return true;
  if (host[i] != ':') return false;
  return std::all_of(host.begin() + static_cast<std::ptrdiff_t>(i) + 1, host.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

/// The transfer codings of every Transfer-Encoding field of h, in order, lower-cased, without
/// parameters (empty list elements skipped).
inline std::vector<std::string> transfer_codings(const Request::header_type& h) {
  std::vector<std::string> out;
  for (auto it = h.find(boost::beast::http::field::transfer_encoding);
       it != h.end() && it->name() == boost::beast::http::field::transfer_encoding; ++it) {
    const std::string_view value = it->value();
    std::size_t start = 0;
    while (start <= value.size()) {
      const std::size_t comma = std::min(value.find(',', start), value.size());
      std::string_view item = value.substr(start, comma - start);
      item = item.substr(0, item.find(';'));
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (!item.empty()) {
        std::string coding(item);
        for (char& c : coding) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.push_back(std::move(coding));
      }
      start = comma + 1;
    }
  }
  return out;
}

/// What is wrong with a request header by RFC 9112's rules Beast does not apply:
/// bad_request (400) for a missing, repeated or invalid Host in HTTP/1.1 (repeated or invalid
/// in HTTP/1.0), Transfer-Encoding in HTTP/1.0, chunked applied twice or not last;
/// not_implemented (501) for a transfer coding other than chunked. status::unknown when fine.
inline boost::beast::http::status framing_problem(const Request::header_type& h) {
  using boost::beast::http::field;
  using boost::beast::http::status;
  const std::size_t hosts = h.count(field::host);
  if (hosts > 1 || (hosts == 0 && h.version() >= 11)) return status::bad_request;
  if (hosts == 1 && !valid_host(h[field::host])) return status::bad_request;
  if (h.count(field::transfer_encoding) == 0) return status::unknown;
  // An HTTP/1.0 message with Transfer-Encoding: faulty framing (section 6.1).
  if (h.version() < 11) return status::bad_request;
  const std::vector<std::string> codings = transfer_codings(h);
  // Chunked must come last, and once (sections 6.1, 6.3, 7).
  if (codings.empty() || codings.back() != "chunked" ||
      std::count(codings.begin(), codings.end(), "chunked") > 1) {
    return status::bad_request;
  }
  // Anything before it is a coding this server does not decode (section 6.1: 501).
  return codings.size() > 1 ? status::not_implemented : status::unknown;
}

}  // namespace spindle::http::detail
