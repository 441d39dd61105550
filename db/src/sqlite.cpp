// spindle::sqlite: each statement is a job for the loop's thread pool. The loop side keeps
// them in order with a fair Lock; the handle's mutex keeps a cancelled job that is still
// running from overlapping the next.
#include <spindle/cancel.hpp>
#include <spindle/db/detail/gate.hpp>
#include <spindle/errors.hpp>
#include <spindle/lock.hpp>
#include <spindle/sqlite.hpp>
#include <spindle/task.hpp>
#include <spindle/thread.hpp>

#include <sqlite3.h>

#include <atomic>
#include <charconv>
#include <mutex>

namespace spindle::sqlite {

Error::Error(int code, const std::string& message)
    : std::runtime_error("sqlite: " + message + " (code " + std::to_string(code) + ")"), code_(code) {}

const std::string& Result::column_name(std::size_t col) const {
  if (col >= names_.size()) {
    throw std::out_of_range("sqlite::Result: no column " + std::to_string(col) + " of " +
                            std::to_string(names_.size()));
  }
  return names_[col];
}

const std::string& Result::column_type(std::size_t col) const {
  column_name(col);  // (the range check)
  return types_[col];
}

std::size_t Result::column(std::string_view name) const {
  for (std::size_t c = 0; c < names_.size(); ++c) {
    if (names_[c] == name) return c;
  }
  throw std::out_of_range("sqlite::Result: no column named \"" + std::string(name) + "\"");
}

const std::optional<std::string>& Result::get(std::size_t row, std::size_t col) const {
  if (row >= rows_.size() || col >= names_.size()) {
    throw std::out_of_range("sqlite::Result: no cell (" + std::to_string(row) + ", " +
                            std::to_string(col) + ") in " + std::to_string(rows_.size()) +
                            " rows of " + std::to_string(names_.size()) + " columns");
  }
  return rows_[row][col];
}

struct Database::Handle {
  sqlite3* db = nullptr;
  std::mutex running;  // one statement at a time, even one whose task gave up on it
  Lock order;          // the loop's tasks take turns in arrival order
  db::detail::TaskHold transaction;  // by the task inside transaction()
  ~Handle() {
    if (!db) return;
    // Closing may write (a WAL checkpoint) and free much: from a task (the last reference
    // dropped on the loop: Database::close(), ~Database), on the thread pool, the task parked
    // meanwhile and its cancellation held back. Elsewhere (a pool thread, no loop) here.
    if (spindle::current_task()) {
      try {
        CancelShield shield;
        to_thread([d = db] { sqlite3_close_v2(d); });
        return;
      } catch (...) {
        // the pool could not take the job (it did not run): close here
      }
    }
    sqlite3_close_v2(db);
  }
};

namespace {

[[noreturn]] void fail(sqlite3* db, int rc) {
  throw Error(db ? sqlite3_extended_errcode(db) : rc, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

}  // namespace

/// Runs the statements of one query() on a pool thread.
struct Statement {
  static Result run(sqlite3* db, const std::string& sql, const std::vector<db::Value>& params) {
    Result out;
    const char* tail = sql.c_str();
    const char* end = tail + sql.size();
    bool first = true;
    while (tail < end) {
      sqlite3_stmt* st = nullptr;
      const int rc = sqlite3_prepare_v2(db, tail, static_cast<int>(end - tail), &st, &tail);
      if (rc != SQLITE_OK) fail(db, rc);
      if (!st) continue;  // whitespace or a comment
      std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(st, sqlite3_finalize);
      if (!first && !params.empty()) {
        throw Error(SQLITE_MISUSE, "parameters go with a single statement; the text holds more");
      }
      first = false;
      bind_all(db, st, params);
      Result r;
      describe(st, r);
      for (;;) {
        const int s = sqlite3_step(st);
        if (s == SQLITE_DONE) break;
        if (s != SQLITE_ROW) fail(db, s);
        read_row(st, r);
      }
      r.affected_ = sqlite3_stmt_readonly(st) ? 0 : static_cast<std::uint64_t>(sqlite3_changes(db));
      r.last_rowid_ = sqlite3_last_insert_rowid(db);
      out = std::move(r);
    }
    return out;
  }

  /// Runs the one statement in sql once per row of parameters, inside a savepoint; returns
  /// the rows changed. A failure rolls every row back and names the row.
  static std::uint64_t run_many(sqlite3* db, const std::string& sql,
                                const std::vector<std::vector<db::Value>>& rows) {
    const auto guard = prepare_single(db, sql, "executemany");
    sqlite3_stmt* st = guard.get();
    exec(db, "SAVEPOINT spindle_executemany");
    std::uint64_t changed = 0;
    std::size_t k = 0;
    try {
      for (; k < rows.size(); ++k) {
        bind_all(db, st, rows[k]);
        for (;;) {
          const int s = sqlite3_step(st);
          if (s == SQLITE_DONE) break;
          if (s != SQLITE_ROW) fail(db, s);
        }
        changed += static_cast<std::uint64_t>(sqlite3_changes(db));
        sqlite3_reset(st);
      }
    } catch (const Error& e) {
      sqlite3_reset(st);
      sqlite3_exec(db, "ROLLBACK TO spindle_executemany; RELEASE spindle_executemany", nullptr,
                   nullptr, nullptr);
      throw Error(e.code(), "executemany row " + std::to_string(k + 1) + " of " +
                                std::to_string(rows.size()) + ": " + detail_of(e));
    }
    exec(db, "RELEASE spindle_executemany");
    return changed;
  }

  /// Names and declared types of st's columns into r.
  static void describe(sqlite3_stmt* st, Result& r) {
    const int ncols = sqlite3_column_count(st);
    for (int c = 0; c < ncols; ++c) {
      r.names_.emplace_back(sqlite3_column_name(st, c));
      const char* type = sqlite3_column_decltype(st, c);
      r.types_.emplace_back(type ? type : "expression");
    }
  }

  /// Appends the row st stands on to r; returns its size in bytes.
  static std::size_t read_row(sqlite3_stmt* st, Result& r) {
    const int ncols = static_cast<int>(r.names_.size());
    auto& row = r.rows_.emplace_back();
    row.reserve(static_cast<std::size_t>(ncols));
    std::size_t bytes = 0;
    for (int c = 0; c < ncols; ++c) {
      const int type = sqlite3_column_type(st, c);
      if (type == SQLITE_NULL) {
        row.emplace_back();
      } else if (type == SQLITE_FLOAT) {
        // The shortest text that reads back as the same double (SQLite's own text keeps
        // 15 digits, which loses some).
        char buf[32];
        const auto end = std::to_chars(buf, buf + sizeof buf, sqlite3_column_double(st, c)).ptr;
        row.emplace_back(std::string(buf, end));
      } else {
        const auto* p = static_cast<const char*>(sqlite3_column_blob(st, c));
        row.emplace_back(std::string(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(st, c))));
      }
      bytes += row.back() ? row.back()->size() + sizeof(std::string) : sizeof(std::string);
    }
    return bytes;
  }

  /// Binds params to st's parameters in order. Throws Error (SQLITE_RANGE) for a count that
  /// does not match.
  static void bind_all(sqlite3* db, sqlite3_stmt* st, const std::vector<db::Value>& params) {
    const int expected = sqlite3_bind_parameter_count(st);
    if (static_cast<std::size_t>(expected) != params.size()) {
      throw Error(SQLITE_RANGE, "the statement takes " + std::to_string(expected) +
                                    " parameters, " + std::to_string(params.size()) + " given");
    }
    for (std::size_t i = 0; i < params.size(); ++i) bind(db, st, static_cast<int>(i + 1), params[i]);
  }

  using Prepared = std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)>;

  /// Prepares sql, which must be one statement (for `what`: executemany, stream).
  static Prepared prepare_single(sqlite3* db, const std::string& sql, const char* what) {
    sqlite3_stmt* st = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &st, &tail);
    if (rc != SQLITE_OK) fail(db, rc);
    Prepared guard(st, sqlite3_finalize);
    if (!st) throw Error(SQLITE_MISUSE, std::string(what) + ": the text holds no statement");
    sqlite3_stmt* more = nullptr;  // (what follows may be only whitespace and comments)
    rc = sqlite3_prepare_v2(db, tail, static_cast<int>(sql.c_str() + sql.size() - tail), &more, nullptr);
    sqlite3_finalize(more);
    if (rc != SQLITE_OK || more) {
      throw Error(SQLITE_MISUSE, std::string(what) + " takes one statement; the text holds more");
    }
    return guard;
  }

  static void exec(sqlite3* db, const char* sql) {
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) fail(db, rc);
  }

  /// An Error's message without the "sqlite: " and " (code N)" around it.
  static std::string detail_of(const Error& e) {
    std::string_view m = e.what();
    if (m.starts_with("sqlite: ")) m.remove_prefix(8);
    if (const auto at = m.rfind(" (code "); at != std::string_view::npos) m = m.substr(0, at);
    return std::string(m);
  }

  static void bind(sqlite3* db, sqlite3_stmt* st, int i, const db::Value& v) {
    int rc = SQLITE_OK;
    if (std::holds_alternative<std::monostate>(v)) {
      rc = sqlite3_bind_null(st, i);
    } else if (const auto* n = std::get_if<std::int64_t>(&v)) {
      rc = sqlite3_bind_int64(st, i, *n);
    } else if (const auto* d = std::get_if<double>(&v)) {
      rc = sqlite3_bind_double(st, i, *d);
    } else if (const auto* b = std::get_if<bool>(&v)) {
      rc = sqlite3_bind_int(st, i, *b ? 1 : 0);
    } else if (const auto* blob = std::get_if<db::Bytes>(&v)) {
      // (an empty vector's data() may be null, which SQLite would bind as NULL)
      rc = blob->empty() ? sqlite3_bind_zeroblob(st, i, 0)
                         : sqlite3_bind_blob64(st, i, blob->data(), blob->size(), SQLITE_TRANSIENT);
    } else {
      const auto& s = std::get<std::string>(v);
      rc = sqlite3_bind_text64(st, i, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    }
    if (rc != SQLITE_OK) fail(db, rc);
  }
};

Database::Database() noexcept = default;
Database::Database(std::shared_ptr<Handle> h) noexcept : h_(std::move(h)) {}
Database::Database(Database&&) noexcept = default;
Database& Database::operator=(Database&&) noexcept = default;
Database::~Database() = default;

/// Runs job(db) on the thread pool in this task's turn: statements run one at a time, in the
/// order the tasks asked. A cancelled task's job is dropped if not started, interrupted if
/// running.
template <class Job>
auto Database::on_pool(const std::shared_ptr<Handle>& handle, Job job, SourceLocation where) {
  if (!handle) throw std::logic_error("sqlite::Database::query: the database is closed");
  auto h = handle;  // the job holds the handle: a closed Database waits for it
  h->transaction.wait_turn(where);  // another task's transaction: after it
  h->order.lock(where);
  std::unique_lock turn(h->order, std::adopt_lock);
  auto abandoned = std::make_shared<std::atomic<bool>>(false);
  try {
    return to_thread([h, abandoned, job = std::move(job)] {
      std::lock_guard run(h->running);
      if (abandoned->load()) throw Error(SQLITE_INTERRUPT, "abandoned");
      return job(h->db);
    });
  } catch (const CancelledError&) {
    abandoned->store(true);
    sqlite3_interrupt(h->db);  // thread-safe; stops the statement if it is running now
    throw;
  }
}

Result Database::query_values(std::string_view sql, std::span<const db::Value> params,
                              SourceLocation where) {
  return on_pool(h_, [text = std::string(sql), values = std::vector<db::Value>(params.begin(), params.end())](
                     sqlite3* db) { return Statement::run(db, text, values); },
                 where);
}

std::uint64_t Database::executemany_values(std::string_view sql,
                                           std::vector<std::vector<db::Value>> rows,
                                           SourceLocation where) {
  return on_pool(h_, [text = std::string(sql), rows = std::move(rows)](sqlite3* db) {
    return Statement::run_many(db, text, rows);
  }, where);
}

Database::Hold::Hold(Database& d) : h_(d.h_) {
  if (!h_) throw std::logic_error("sqlite::Database::transaction: the database is closed");
  if (h_->transaction.mine()) return;  // (BEGIN will say it cannot nest)
  h_->transaction.take();
  held_ = true;
}

Database::Hold::~Hold() {
  if (!held_) return;
  h_->transaction.give_back();
}

void Database::rollback() noexcept {
  if (!h_) return;
  CancelShield shield;
  try {
    query("ROLLBACK");
  } catch (...) {
    // No transaction was open any more (SQLite rolls back by itself after some errors).
  }
}

// ---- streams ----

/// A stream's prepared statement, shared with the job stepping it (which may still run when
/// a cancelled stream is destroyed): finalized when both are done with it.
struct RowStream::State {
  std::shared_ptr<Database::Handle> h;
  sqlite3_stmt* st = nullptr;
  Result shape;  // the column names and types, copied into each batch
  bool stepped_out = false;  // SQLite said SQLITE_DONE (read after the job is joined)
  std::optional<Error> failed;  // a step's error, thrown after the rows before it
  ~State() {
    if (st) sqlite3_finalize(st);
  }
};

RowStream Database::stream_values(std::string_view sql, std::span<const db::Value> params,
                                  SourceLocation where) {
  if (!h_) throw std::logic_error("sqlite::Database::stream: the database is closed");
  auto hold = std::make_unique<Hold>(*this);  // (parks while another task holds it)
  auto state = on_pool(h_, [h = h_, text = std::string(sql),
                            values = std::vector<db::Value>(params.begin(), params.end())](sqlite3* db) {
    auto guard = Statement::prepare_single(db, text, "stream");
    Statement::bind_all(db, guard.get(), values);
    auto st = std::make_shared<RowStream::State>();
    st->h = h;
    Statement::describe(guard.get(), st->shape);
    st->st = guard.release();
    return st;
  }, where);
  return RowStream(std::move(state), std::move(hold));
}

RowStream::RowStream(std::shared_ptr<State> state, std::unique_ptr<Database::Hold> hold) noexcept
    : state_(std::move(state)), hold_(std::move(hold)) {}

RowStream::RowStream(RowStream&& o) noexcept
    : state_(std::move(o.state_)), hold_(std::move(o.hold_)), batch_(std::move(o.batch_)),
      index_(o.index_), started_(o.started_), done_(o.done_), count_(o.count_) {
  o.done_ = true;
}

RowStream::~RowStream() { finish(); }

/// Lets go of the statement (finalized once no job uses it) and of the database.
void RowStream::finish() noexcept {
  done_ = true;
  state_.reset();
  hold_.reset();
}

RowStream::iterator RowStream::begin() {
  if (!started_) next();
  return iterator(this);
}

bool RowStream::next(SourceLocation where) {
  started_ = true;
  if (done_) return false;
  if (index_ + 1 < batch_.size()) {
    ++index_;
    ++count_;
    return true;
  }
  if (state_->failed) {
    const Error e = *state_->failed;
    finish();
    throw e;
  }
  if (state_->stepped_out) {
    finish();
    return false;
  }
  constexpr std::size_t kRows = 256, kBytes = 1 << 20;
  try {
    batch_ = Database::on_pool(state_->h, [state = state_](sqlite3* db) {
      Result batch = state->shape;
      std::size_t bytes = 0;
      while (batch.size() < kRows && bytes < kBytes) {
        const int s = sqlite3_step(state->st);
        if (s == SQLITE_DONE) {
          state->stepped_out = true;
          break;
        }
        if (s != SQLITE_ROW) {
          if (batch.empty()) fail(db, s);
          // (the rows stepped before it go first; the error comes with the next call)
          state->failed.emplace(sqlite3_extended_errcode(db), sqlite3_errmsg(db));
          break;
        }
        bytes += Statement::read_row(state->st, batch);
      }
      return batch;
    }, where);
  } catch (...) {
    finish();
    throw;
  }
  index_ = 0;
  if (batch_.empty()) {
    finish();
    return false;
  }
  ++count_;
  return true;
}

void Database::close() noexcept { h_.reset(); }

sqlite3* Database::native_handle() const noexcept { return h_ ? h_->db : nullptr; }

Database open(std::string_view path, [[maybe_unused]] SourceLocation where) {
  auto h = std::make_shared<Database::Handle>();
  // The job owns the handle too: if the task is cancelled meanwhile, it is closed when the
  // job is done with it.
  to_thread([h, p = std::string(path)] {
    const int rc = sqlite3_open_v2(p.c_str(), &h->db,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                       SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_URI,
                                   nullptr);
    if (rc != SQLITE_OK) {
      const std::string m = h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc);
      throw Error(rc, m + ": " + p);
    }
    sqlite3_busy_timeout(h->db, 5000);
    sqlite3_extended_result_codes(h->db, 1);
  });
  return Database(std::move(h));
}

}  // namespace spindle::sqlite
