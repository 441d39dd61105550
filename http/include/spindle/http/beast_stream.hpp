// BeastStream: a spindle::io::Stream as Boost.Beast's (and Asio's) synchronous stream, so
// Beast code written for blocking sockets runs in a task unchanged: a Beast read or write
// parks the task, not the thread.
#pragma once

#include <spindle/io/stream.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/system/system_error.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace spindle::http {

/// Adapts an io::Stream (plain or TLS) to Asio's SyncReadStream and SyncWriteStream, which
/// Beast's synchronous http::read/write and websocket::stream use. Reads take what the
/// stream has buffered first; end of stream is asio::error::eof; an OS error becomes an
/// error_code with the same errno. Writes are sent before write_some returns.
///
/// Cancellation: a CancelledError (and a with_timeout expiry, which is one underneath) from
/// the stream is an exception, not an error_code: it passes through Beast's frames (Beast
/// catches nothing) up to the task. A Beast parser or WebSocket interrupted that way may be
/// halfway through a message: close the connection rather than use it again (http::serve
/// does). Bytes the stream had not handed to Beast stay in the stream.
class BeastStream {
 public:
  using executor_type = boost::asio::io_context::executor_type;

  explicit BeastStream(io::Stream& s) noexcept : s_(&s) {}
  /// The stream underneath.
  io::Stream& stream() const noexcept { return *s_; }

  /// Required by Beast's types; synchronous operations never use it.
  static executor_type get_executor() noexcept {
    static boost::asio::io_context unused;
    return unused.get_executor();
  }

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
    ec = {};
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      const boost::asio::mutable_buffer b = *it;
      if (b.size() == 0) continue;
      try {
        const std::size_t n = s_->read_some(std::span(static_cast<std::byte*>(b.data()), b.size()));
        if (n == 0) ec = boost::asio::error::eof;
        return n;
      } catch (const std::system_error& e) {
        ec.assign(e.code().value(), boost::system::generic_category());
        return 0;
      }
    }
    return 0;  // only empty buffers: nothing to read, and no waiting
  }

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    boost::system::error_code ec;
    return or_throw(read_some(buffers, ec), ec);
  }

  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
    ec = {};
    try {
      // Small pieces (an HTTP header and its body) go out together, in one send, joined in
      // a buffer this thread keeps (write() has copied what it did not send when it returns).
      const std::size_t total = boost::asio::buffer_size(buffers);
      if (total <= 16 * 1024) {
        thread_local std::string joined;
        joined.resize(total);
        boost::asio::buffer_copy(boost::asio::buffer(joined), buffers);
        s_->write(joined);
      } else {
        for (auto it = boost::asio::buffer_sequence_begin(buffers);
             it != boost::asio::buffer_sequence_end(buffers); ++it) {
          const boost::asio::const_buffer b = *it;
          s_->write(std::string_view(static_cast<const char*>(b.data()), b.size()));
        }
      }
      s_->drain();
      return total;
    } catch (const std::system_error& e) {
      ec.assign(e.code().value(), boost::system::generic_category());
      return 0;
    }
  }

  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers) {
    boost::system::error_code ec;
    return or_throw(write_some(buffers, ec), ec);
  }

 private:
  // The throwing forms: Asio's boost::system::system_error for an error code.
  static std::size_t or_throw(std::size_t n, const boost::system::error_code& ec) {
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  io::Stream* s_;
};

/// Closes the stream when a WebSocket closes (Beast finds it by argument-dependent lookup).
inline void teardown(boost::beast::role_type, BeastStream& s, boost::beast::error_code& ec) {
  ec = {};
  s.stream().close();
}

}  // namespace spindle::http
