// Incremental SHA-256 (OpenSSL) for content addressing code archives.
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace surge::common {

// Not thread-safe; one hasher per stream of bytes.
class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view bytes);
  // Lowercase hex digest of everything passed to update(). Call once.
  std::string hexDigest();

  // The hex digest of one buffer.
  static std::string of(std::string_view bytes);

private:
  struct CtxDeleter {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, CtxDeleter> ctx_;
};

// True for 64 lowercase hex characters.
bool isSha256Hex(std::string_view text);

} // namespace surge::common
