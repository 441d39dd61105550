// Router::static_files(): files under one directory, never outside it. The request's path
// (decoded by the router) is refused if a component is "..", "." or holds NUL; what is left
// is opened relative to the directory's fd with openat2(RESOLVE_BENEATH), so the kernel
// refuses any way out, symbolic links included (on kernels before 5.6, the opened file's real
// path is checked instead). Every open, fstat and read runs on the thread pool; the fd is
// shared with those jobs, so a cancelled request cannot leave a job reading a reused fd.
// Conditional requests (If-None-Match, If-Modified-Since) and one byte range (Range, If-Range)
// are answered as RFC 9110 says; a file larger than StaticOptions::max_buffered is streamed.
#include <spindle/http/router.hpp>
#include <spindle/http/streaming.hpp>
#include <spindle/thread.hpp>

#include <fcntl.h>
#include <linux/openat2.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <system_error>

namespace spindle::http {

namespace {

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct StaticDir {
  std::shared_ptr<Fd> root;
  std::string real;  // the directory's real path (for the check without openat2)
  StaticOptions options;
};

struct Opened {
  int error = 0;  // errno of a failed open
  std::shared_ptr<Fd> file;
  struct stat st {};
  bool directory = false;  // the path named a directory (and its index was opened, if any)
  std::string body;        // read at once when asked and small enough
  bool read = false;
  std::string name;        // the file's name (for its type)
};

/// openat2 beneath `dir`; the fallback resolves normally and checks the real path.
int open_beneath(const StaticDir& dir, const std::string& rel) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;  // (a FIFO must not block)
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const long fd = ::syscall(SYS_openat2, dir.root->fd, rel.c_str(), &how, sizeof how);
  if (fd >= 0 || errno != ENOSYS) return static_cast<int>(fd);
  const int f = ::openat(dir.root->fd, rel.c_str(), static_cast<int>(how.flags));
  if (f < 0) return f;
  char link[64], real[PATH_MAX];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", f);
  const ssize_t n = ::readlink(link, real, sizeof real - 1);
  const std::string path(real, n > 0 ? static_cast<std::size_t>(n) : 0);
  if (n <= 0 || (path != dir.real && !path.starts_with(dir.real + "/"))) {
    ::close(f);
    errno = EXDEV;
    return -1;
  }
  return f;
}

/// Up to len bytes at offset (fewer if the file is shorter now). Throws std::system_error.
std::string read_at(int fd, std::uint64_t offset, std::size_t len) {
  std::string out(len, '\0');
  std::size_t got = 0;
  while (got < len) {
    const ssize_t n = ::pread(fd, out.data() + got, len - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "static file read");
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

/// On the thread pool: open rel (its index if a directory), fstat, and read it whole when
/// `read_limit` allows.
Opened open_file(const StaticDir& dir, const std::string& rel, std::size_t read_limit) {
  Opened o;
  o.name = rel;
  int fd = open_beneath(dir, rel);
  if (fd >= 0 && ::fstat(fd, &o.st) == 0 && S_ISDIR(o.st.st_mode)) {
    ::close(fd);
    o.directory = true;
    fd = -1;
    errno = ENOENT;
    if (!dir.options.index.empty()) {
      o.name = (rel == "." ? "" : rel + "/") + dir.options.index;
      fd = open_beneath(dir, o.name);
      if (fd >= 0) ::fstat(fd, &o.st);
    }
  }
  if (fd < 0) {
    o.error = errno;
    return o;
  }
  o.file = std::make_shared<Fd>(fd);
  if (!S_ISREG(o.st.st_mode)) {
    o.error = ENOENT;
    o.file.reset();
    return o;
  }
  if (static_cast<std::uint64_t>(o.st.st_size) <= read_limit) {
    o.body = read_at(fd, 0, static_cast<std::size_t>(o.st.st_size));
    o.read = true;
  }
  return o;
}

std::string_view mime_type(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> types[] = {
      {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
      {"css", "text/css; charset=utf-8"}, {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"}, {"json", "application/json"},
      {"map", "application/json"}, {"txt", "text/plain; charset=utf-8"},
      {"md", "text/markdown; charset=utf-8"}, {"csv", "text/csv; charset=utf-8"},
      {"xml", "application/xml"}, {"svg", "image/svg+xml"}, {"png", "image/png"},
      {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"gif", "image/gif"},
      {"webp", "image/webp"}, {"avif", "image/avif"}, {"ico", "image/vnd.microsoft.icon"},
      {"bmp", "image/bmp"}, {"wasm", "application/wasm"}, {"pdf", "application/pdf"},
      {"woff", "font/woff"}, {"woff2", "font/woff2"}, {"ttf", "font/ttf"}, {"otf", "font/otf"},
      {"mp3", "audio/mpeg"}, {"ogg", "audio/ogg"}, {"wav", "audio/wav"}, {"mp4", "video/mp4"},
      {"webm", "video/webm"}, {"zip", "application/zip"}, {"gz", "application/gzip"},
      {"tar", "application/x-tar"}, {"txt", "text/plain; charset=utf-8"}};
  const auto slash = name.rfind('/');
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return "application/octet-stream";
  }
  const std::string_view ext = name.substr(dot + 1);
  for (const auto& [e, t] : types) {
    if (e.size() == ext.size() && ::strncasecmp(e.data(), ext.data(), e.size()) == 0) return t;
  }
  return "application/octet-stream";
}

std::string http_date(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

/// An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); none if it is not one.
std::optional<std::time_t> parse_http_date(std::string_view s) {
  std::tm tm{};
  const std::string text(s);
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return ::timegm(&tm);
}

/// Whether an If-None-Match list names `etag` (weak comparison), or is "*".
bool none_match(std::string_view list, const std::string& etag) {
  const auto opaque = [](std::string_view t) { return t.starts_with("W/") ? t.substr(2) : t; };
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == "*" || opaque(item) == opaque(etag)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

struct ByteRange {
  std::uint64_t first, last;  // inclusive
};

/// A single "bytes=a-b" / "a-" / "-n" range of a `size`-byte file: the range; nullopt to
/// ignore the header (malformed, several ranges); {1, 0} when unsatisfiable.
std::optional<ByteRange> parse_range(std::string_view h, std::uint64_t size) {
  if (h.size() < 6 || ::strncasecmp(h.data(), "bytes=", 6) != 0) return std::nullopt;
  h.remove_prefix(6);
  if (h.find(',') != std::string_view::npos) return std::nullopt;  // several: send it all
  const std::size_t dash = h.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto number = [](std::string_view s) -> std::optional<std::uint64_t> {
    if (s.empty() || s.size() > 19) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v;
  };
  const auto a = number(h.substr(0, dash)), b = number(h.substr(dash + 1));
  if (dash == 0) {  // the last n bytes
    if (!b) return std::nullopt;
    if (*b == 0 || size == 0) return ByteRange{1, 0};
    return ByteRange{size - std::min(*b, size), size - 1};
  }
  if (!a || (dash + 1 < h.size() && !b) || (b && *b < *a)) return std::nullopt;
  if (*a >= size) return ByteRange{1, 0};
  return ByteRange{*a, b ? std::min(*b, size - 1) : size - 1};
}

/// 307 to the request's path with a slash added (its query kept): a directory's address.
Response to_directory(const Request& req) {
  Response r = response(status::temporary_redirect);
  const std::string_view target(req.target().data(), req.target().size());
  const auto q = target.find('?');
  r.set(field::location, std::string(req.path()) + "/" +
                             std::string(q == std::string_view::npos ? "" : target.substr(q)));
  return r;
}

Response refuse_path(const Opened& o) {
  if (o.error == EACCES) throw HttpError(status::forbidden);
  throw HttpError(status::not_found);
}

Response serve_file(Request& req, const std::shared_ptr<const StaticDir>& shared) {
  const StaticDir& dir = *shared;
  // The path below the prefix, decoded by the router; refuse every way up or out.
  const std::string& rel = req.path_params().empty() ? std::string() : req.path_params()[0].value;
  std::string clean;
  for (std::size_t i = 0; i <= rel.size();) {
    std::size_t j = rel.find('/', i);
    if (j == std::string::npos) j = rel.size();
    const std::string_view part(rel.data() + i, j - i);
    if (part == ".." || part == "." || part.find('\0') != std::string_view::npos) {
      throw HttpError(status::not_found);
    }
    if (!part.empty()) clean += (clean.empty() ? "" : "/") + std::string(part);
    i = j + 1;
  }
  if (clean.empty()) clean = ".";
  const bool plain = req.find(field::if_none_match) == req.end() &&
                     req.find(field::if_modified_since) == req.end() &&
                     req.find(field::range) == req.end() && req.method() == verb::get;
  const std::size_t read_limit = plain ? dir.options.max_buffered : 0;
  // The job holds the directory too: a cancelled request returns at once, the job runs on.
  Opened o = spindle::to_thread(
      [shared, clean, read_limit] { return open_file(*shared, clean, read_limit); });
  if (o.directory && !rel.empty() && rel.back() != '/' && !o.error) {
    return to_directory(req);  // "/static/docs": its relative links need "/static/docs/"
  }
  if (o.error) return refuse_path(o);

  const std::uint64_t size = static_cast<std::uint64_t>(o.st.st_size);
  char etag_buf[64];
  std::snprintf(etag_buf, sizeof etag_buf, "\"%llx%09lx-%llx\"",
                static_cast<unsigned long long>(o.st.st_mtim.tv_sec),
                static_cast<unsigned long>(o.st.st_mtim.tv_nsec), static_cast<unsigned long long>(size));
  const std::string etag = etag_buf;
  const std::string modified = http_date(o.st.st_mtim.tv_sec);
  const auto validators = [&](Response& r) {
    r.set(field::etag, etag);
    r.set(field::last_modified, modified);
    if (!dir.options.cache_control.empty()) r.set(field::cache_control, dir.options.cache_control);
  };

  // Conditional requests (RFC 9110 13.2.2): If-None-Match first, If-Modified-Since without it.
  bool not_modified = false;
  if (const auto inm = req.header("If-None-Match")) {
    not_modified = none_match(*inm, etag);
  } else if (const auto ims = req.header("If-Modified-Since")) {
    const auto since = parse_http_date(*ims);
    not_modified = since && o.st.st_mtim.tv_sec <= *since;
  }
  if (not_modified) {
    Response r = response(status::not_modified);
    r.erase(field::content_type);
    validators(r);
    return r;
  }

  std::optional<ByteRange> range;
  if (const auto h = req.header("Range"); h && req.method() == verb::get) {
    const auto if_range = req.header("If-Range");
    if (!if_range || *if_range == etag || *if_range == modified) range = parse_range(*h, size);
  }
  if (range && range->first > range->last) {
    Response r = response(status::range_not_satisfiable);
    r.set(field::content_range, "bytes */" + std::to_string(size));
    validators(r);
    return r;
  }
  const std::uint64_t first = range ? range->first : 0;
  const std::uint64_t length = range ? range->last - range->first + 1 : size;
  Response r;
  if (o.read && !range) {
    r = response(status::ok, std::move(o.body), mime_type(o.name));
  } else {
    // HEAD, a range, a big file: the length is known; the producer reads as it sends (and
    // does not run at all for HEAD).
    StreamOptions so;
    so.code = range ? status::partial_content : status::ok;
    so.content_type = std::string(mime_type(o.name));
    so.content_length = length;
    const std::size_t piece = std::max<std::size_t>(64 * 1024, std::min<std::size_t>(dir.options.max_buffered, 1024 * 1024));
    r = stream(
        req,
        [file = o.file, first, length, piece](BodyWriter& w) {
          for (std::uint64_t done = 0; done < length;) {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(piece, length - done));
            std::string data = spindle::to_thread([file, at = first + done, n] {
              return read_at(file->fd, at, n);
            });
            if (data.empty()) break;  // the file shrank: the connection ends short
            w.write(data);
            done += data.size();
          }
        },
        std::move(so));
  }
  if (range) {
    r.set(field::content_range, "bytes " + std::to_string(range->first) + "-" +
                                    std::to_string(range->last) + "/" + std::to_string(size));
  }
  r.set(field::accept_ranges, "bytes");
  validators(r);
  return r;
}

}  // namespace

Router& Router::static_files(std::string_view prefix, const std::string& directory,
                             StaticOptions options) {
  const int fd = ::open(directory.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    throw std::system_error(errno, std::generic_category(),
                            "http::Router::static_files: " + directory);
  }
  auto dir = std::make_shared<StaticDir>();
  dir->root = std::make_shared<Fd>(fd);
  char real[PATH_MAX];
  dir->real = ::realpath(directory.c_str(), real) ? real : directory;
  dir->options = std::move(options);
  std::string p(prefix);
  while (!p.empty() && p.back() == '/') p.pop_back();
  RouteOptions o;
  o.include_in_schema = false;
  const auto files = [dir = std::shared_ptr<const StaticDir>(dir)](Request& req) {
    return serve_file(req, dir);
  };
  get(p + "/{path...}", files, o);
  if (p.empty()) {
    get("/", files, o);
  } else {
    get(p, [](Request& req) { return to_directory(req); }, o);
  }
  return *this;
}

}  // namespace spindle::http
