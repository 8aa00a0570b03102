// Builds zip archives for tests with libzip, including the hostile entries an unpacker must refuse.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace surge::testing {

// Collects entries, then writes them as one archive. Output is deterministic: every entry gets
// the same fixed mtime, so equal inputs give equal bytes. Names are taken as given, so "../evil",
// "/abs", "" and even duplicate names or names with a NUL byte can be added. libzip refuses the
// last two, so such entries are written under a placeholder name of the same length and the
// headers are patched afterwards. Errors throw std::runtime_error; this is test-only code.
class ZipBuilder {
public:
  enum class Method { kStore, kDeflate };

  // Compression for the entries added after this call; deflate until changed.
  ZipBuilder& method(Method method);

  // A regular file; `mode` holds the permission bits (S_IFREG is added).
  ZipBuilder& addFile(std::string name, std::string bytes, uint32_t mode = 0644);
  // A regular file of `size` zero bytes, produced in chunks so that even a 1 GiB zip bomb never
  // sits in memory while it is compressed.
  ZipBuilder& addZeros(std::string name, uint64_t size, uint32_t mode = 0644);
  // A directory; libzip appends the '/' if `name` lacks it.
  ZipBuilder& addDirectory(std::string name, uint32_t mode = 0755);
  // A Unix symlink entry (S_IFLNK), whose data is the target, as Info-ZIP writes it.
  ZipBuilder& addSymlink(std::string name, std::string target);
  // A Unix character device entry (S_IFCHR) with no data.
  ZipBuilder& addCharDevice(std::string name);
  // Anything else: raw external attributes as seen by `opsys` (ZIP_OPSYS_*).
  ZipBuilder& addEntry(std::string name, std::string bytes, uint8_t opsys, uint32_t externalAttributes);

  // Makes the last entry's headers (local and central) claim `size` uncompressed bytes, as a
  // hostile archive would to get past checks that trust the header.
  ZipBuilder& declareSize(uint32_t size);

  std::string bytes() const;
  void writeTo(const std::filesystem::path& path) const;

private:
  struct Entry {
    std::string name;
    std::string bytes;
    uint64_t zeros = 0; // when nonzero, the data is this many zero bytes instead of `bytes`
    bool directory = false;
    Method method = Method::kDeflate;
    uint8_t opsys = 0;
    uint32_t attributes = 0;
    std::optional<uint32_t> declaredSize;
  };

  ZipBuilder& add(Entry entry);

  std::vector<Entry> entries_;
  Method method_ = Method::kDeflate;
};

} // namespace surge::testing
