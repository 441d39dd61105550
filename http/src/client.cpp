// http::fetch on libcurl's multi interface, driven by the loop: curl's socket callback
// starts a watcher task per socket (an io::FdWaiter for the directions curl asks for, then
// curl_multi_socket_action), its timer callback becomes a loop timer. A fetch adds its easy
// handle and parks on an Event that the engine sets when curl reports the transfer done.
// No thread, no polling. Connections (and HTTP/2 streams) are reused across fetches of the
// same loop, since they share one multi handle.
//
// Lifetime: one engine per loop, made by the first fetch, owned by a keeper task that only
// waits; run()'s shutdown cancels it (after the fetches: youngest first), which tears the
// engine down, so the next loop on this thread starts a fresh one.
#include <spindle/event.hpp>
#include <spindle/http/client.hpp>
#include <spindle/io/wait.hpp>
#include <spindle/task.hpp>

#include <curl/curl.h>

#include <cerrno>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>

namespace spindle::http {
namespace {

struct Transfer {
  CURL* easy = nullptr;
  FetchResult result;
  CURLcode code = CURLE_OK;
  spindle::Event done;
  char error[CURL_ERROR_SIZE] = {};
};

class Engine {
 public:
  Engine() : multi_(curl_multi_init()) {
    if (!multi_) throw FetchError(CURLE_FAILED_INIT, "curl_multi_init failed");
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Engine::on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Engine::on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  }
  ~Engine() {
    timer_.reset();
    for (auto& [fd, w] : watches_) drop(*w);
    watches_.clear();
    curl_multi_cleanup(multi_);
  }

  /// The running loop's engine (made, with its keeper task, on first use).
  static Engine& current() {
    if (!tls_engine_) {
      tls_engine_ = std::make_unique<Engine>();
      spindle::spawn(spindle::TaskOptions{.name = "http fetch engine"}, [] {
        struct Teardown {
          ~Teardown() { tls_engine_.reset(); }
        } teardown;
        spindle::Event never;
        never.wait();
      });
    }
    return *tls_engine_;
  }

  CURLM* multi() const noexcept { return multi_; }

  /// Lets curl act on `fd` (or on its timers), then hands finished transfers back.
  void act(curl_socket_t fd, int events) {
    int running = 0;
    curl_multi_socket_action(multi_, fd, events, &running);
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &t);
      t->code = m->data.result;
      t->done.set();
    }
  }

 private:
  /// What watches one of curl's sockets: one task, parked on an FdWaiter (the fd stays
  /// registered between waits: no epoll_ctl per wait) for the directions curl asked for.
  struct Watch {
    explicit Watch(curl_socket_t fd) : waiter(fd) {}
    io::FdWaiter waiter;
    bool in = false, out = false;  // what curl wants
    bool parked = false;           // the task waits (for waiting_in/out)
    bool waiting_in = false, waiting_out = false;
    bool removed = false;
    std::optional<Task<void>> task;
  };

  /// The watcher: waits for what curl wants, lets curl act, again; an interest that changes
  /// while it waits wakes it (the waiter closed: ECANCELED) to wait anew.
  void watch(std::shared_ptr<Watch> w, curl_socket_t fd) {
    while (!w->removed && (w->in || w->out)) {
      const bool in = w->in, out = w->out;
      try {
        w->parked = true;
        w->waiting_in = in;
        w->waiting_out = out;
        struct Unpark {
          Watch& w;
          ~Unpark() { w.parked = false; }
        } unpark{*w};
        if (in && out) {
          w->waiter.wait_either();
        } else if (in) {
          w->waiter.wait_readable();
        } else {
          w->waiter.wait_writable();
        }
      } catch (const std::system_error& e) {
        if (e.code().value() == ECANCELED) continue;  // woken to wait for something else
        throw;
      }
      if (w->removed) return;
      act(fd, (in ? CURL_CSELECT_IN : 0) | (out ? CURL_CSELECT_OUT : 0));
    }
  }

  /// Ends a watch: its task wakes (or finds out when it runs) and leaves.
  static void drop(Watch& w) noexcept {
    w.removed = true;
    w.waiter.close();
    if (w.task) {
      w.task->cancel();
      w.task.reset();  // (the task holds the Watch; this holds no task)
    }
  }

  static int on_socket(CURL*, curl_socket_t fd, int what, void* self, void*) {
    auto& e = *static_cast<Engine*>(self);
    auto found = e.watches_.find(fd);
    if (what == CURL_POLL_REMOVE) {  // (before curl closes the fd)
      if (found != e.watches_.end()) {
        drop(*found->second);
        e.watches_.erase(found);
      }
      return 0;
    }
    if (found == e.watches_.end()) found = e.watches_.emplace(fd, std::make_shared<Watch>(fd)).first;
    const std::shared_ptr<Watch>& w = found->second;
    w->in = what == CURL_POLL_IN || what == CURL_POLL_INOUT;
    w->out = what == CURL_POLL_OUT || what == CURL_POLL_INOUT;
    if (w->task && w->task->done()) w->task.reset();
    if (!w->task) {
      if (w->in || w->out) {
        w->task = spindle::spawn(spindle::TaskOptions{.name = "http fetch socket"},
                                 [&e, w, fd] { e.watch(w, fd); });
      }
    } else if (w->parked && (w->waiting_in != w->in || w->waiting_out != w->out)) {
      w->waiter.close();  // wakes it to wait for the new interest (registered afresh)
    }
    return 0;
  }

  static int on_timer(CURLM*, long ms, void* self) {
    auto& e = *static_cast<Engine*>(self);
    e.timer_.reset();
    if (ms >= 0) {
      e.timer_.emplace(spindle::Loop::current().call_later(
          std::chrono::milliseconds(ms), [&e] { e.act(CURL_SOCKET_TIMEOUT, 0); }));
    }
    return 0;
  }

  struct TimerGuard {
    explicit TimerGuard(TimerHandle handle) : h(std::move(handle)) {}
    ~TimerGuard() { h.cancel(); }
    TimerHandle h;
  };

  CURLM* multi_;
  std::map<curl_socket_t, std::shared_ptr<Watch>> watches_;
  std::optional<TimerGuard> timer_;
  static thread_local std::unique_ptr<Engine> tls_engine_;
};

thread_local std::unique_ptr<Engine> Engine::tls_engine_;

size_t on_body(char* data, size_t, size_t n, void* t) {
  static_cast<Transfer*>(t)->result.body.append(data, n);
  return n;
}

size_t on_header(char* data, size_t, size_t n, void* t) {
  auto& headers = static_cast<Transfer*>(t)->result.headers;
  std::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    headers.clear();  // a new response (after a redirect or a 100 Continue): its own fields
    return n;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  return n;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

FetchResult fetch(std::string url, FetchOptions o, SourceLocation where) {
  global_init();
  Engine& engine = Engine::current();
  Transfer t;
  t.easy = curl_easy_init();
  if (!t.easy) throw FetchError(CURLE_FAILED_INIT, "curl_easy_init failed");
  curl_slist* headers = nullptr;
  struct Release {  // also on cancellation: the transfer is aborted and freed
    Engine& e;
    Transfer& t;
    curl_slist*& headers;
    bool added = false;
    ~Release() {
      if (added) curl_multi_remove_handle(e.multi(), t.easy);
      curl_easy_cleanup(t.easy);
      curl_slist_free_all(headers);
    }
  } release{engine, t, headers};
  CURL* h = t.easy;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t.error);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, o.follow_redirects ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         o.connect_timeout).count()));
  if (o.timeout) {
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           *o.timeout).count()));
  }
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, o.verify ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, o.verify ? 2L : 0L);
  if (!o.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, o.ca_file.c_str());
  if (o.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (o.method != "GET" || !o.body.empty()) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, o.method.c_str());
    if (!o.body.empty() || o.method == "POST" || o.method == "PUT") {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, o.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(o.body.size()));
    }
  }
  for (const auto& [k, v] : o.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
  if (headers) curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);

  if (const CURLMcode m = curl_multi_add_handle(engine.multi(), h); m != CURLM_OK) {
    throw FetchError(CURLE_FAILED_INIT, std::string("curl_multi_add_handle: ") + curl_multi_strerror(m));
  }
  release.added = true;
  t.done.wait(where);
  if (t.code != CURLE_OK) {
    std::string what = curl_easy_strerror(t.code);
    if (t.error[0]) what += std::string(": ") + t.error;
    throw FetchError(static_cast<int>(t.code), what + " (" + url + ")");
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  t.result.status = static_cast<int>(status);
  return std::move(t.result);
}

FetchResult Client::request(std::string method, std::string url, std::string body,
                            std::vector<std::pair<std::string, std::string>> headers,
                            SourceLocation where) {
  FetchOptions o = defaults_;
  o.method = std::move(method);
  o.body = std::move(body);
  for (auto& h : headers) o.headers.push_back(std::move(h));
  return http::fetch(std::move(url), std::move(o), where);
}

bool fetch_available() noexcept { return true; }

}  // namespace spindle::http
