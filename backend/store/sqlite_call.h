// The one place where a SQLite::Exception becomes an absl::Status, for the store and for auth's
// tables in the same database.
#pragma once

#include <SQLiteCpp/Exception.h>
#include <absl/base/thread_annotations.h>
#include <absl/status/status.h>

#include <utility>

namespace surge::store {

// FAILED_PRECONDITION for a constraint violation, INTERNAL for anything else (busy and locked
// included: the busy timeout has run out by then), with SQLite's message.
absl::Status sqliteError(const SQLite::Exception& e);

// Runs `f`, which returns absl::Status or absl::StatusOr<T>, and answers sqliteError() for a
// SQLite::Exception it throws; a SQLite::Transaction inside `f` has rolled back by then. A lambda
// that uses the writer connection states ABSL_EXCLUSIVE_LOCKS_REQUIRED itself: clang checks the
// lambda's body against it, and the caller holds the lock around this call.
template <class F> ABSL_NO_THREAD_SAFETY_ANALYSIS auto sqliteCall(F&& f) -> decltype(f()) {
  try {
    return std::forward<F>(f)();
  } catch (const SQLite::Exception& e) {
    return sqliteError(e);
  }
}

} // namespace surge::store
