// SQLite's exceptions as the store's status codes.
#include "store/sqlite_call.h"

#include <absl/strings/str_cat.h>
#include <sqlite3.h>

namespace surge::store {

absl::Status sqliteError(const SQLite::Exception& e) {
  if (e.getErrorCode() == SQLITE_CONSTRAINT) {
    return absl::FailedPreconditionError(absl::StrCat("store constraint failed: ", e.what()));
  }
  return absl::InternalError(absl::StrCat("store error: ", e.what()));
}

} // namespace surge::store
