// Builds zip archives for tests with libzip, patching the headers for entries libzip refuses.
#include "support/zip_builder.h"

#include <zip.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <stdexcept>
#include <string_view>

namespace surge::testing {
namespace {

// 2020-01-01T00:00:00Z, so archives do not depend on when they were built.
constexpr time_t kFixedMtime = 1577836800;

// State of the source that yields `size` zero bytes; libzip owns it and frees it with
// ZIP_SOURCE_FREE.
struct ZerosSource {
  uint64_t size = 0;
  uint64_t position = 0;
  zip_error_t error{};
};

zip_int64_t zerosCallback(void* userdata, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
  auto* source = static_cast<ZerosSource*>(userdata);
  switch (cmd) {
  case ZIP_SOURCE_OPEN: source->position = 0; return 0;
  case ZIP_SOURCE_READ: {
    const uint64_t n = std::min<uint64_t>(len, source->size - source->position);
    std::memset(data, 0, n);
    source->position += n;
    return static_cast<zip_int64_t>(n);
  }
  case ZIP_SOURCE_CLOSE: return 0;
  case ZIP_SOURCE_STAT: {
    auto* st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &source->error);
    if (st == nullptr) return -1;
    zip_stat_init(st);
    st->size = source->size;
    st->mtime = kFixedMtime;
    st->valid |= ZIP_STAT_SIZE | ZIP_STAT_MTIME;
    return sizeof(*st);
  }
  case ZIP_SOURCE_ERROR: return zip_error_to_data(&source->error, data, len);
  case ZIP_SOURCE_FREE:
    zip_error_fini(&source->error);
    delete source;
    return 0;
  case ZIP_SOURCE_SUPPORTS:
    return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
                                          ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, -1);
  default: zip_error_set(&source->error, ZIP_ER_OPNOTSUPP, 0); return -1;
  }
}

uint16_t get16(const std::string& s, size_t at) {
  if (at + 2 > s.size()) throw std::runtime_error("ZipBuilder: header runs past the archive");
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) | static_cast<uint8_t>(s[at + 1]) << 8);
}

uint32_t get32(const std::string& s, size_t at) { return get16(s, at) | static_cast<uint32_t>(get16(s, at + 2)) << 16; }

void put32(std::string& s, size_t at, uint32_t value) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(value >> (8 * i));
}

// A name of the same length as `name` that no entry uses, so that the headers can be patched
// back to `name` without moving anything.
std::string placeholderFor(const std::string& name, std::set<std::string>& taken) {
  for (uint64_t k = 0;; ++k) {
    std::string candidate = name;
    std::replace(candidate.begin(), candidate.end(), '\0', '_');
    uint64_t rest = k;
    for (size_t p = candidate.size(); p-- > 0 && (rest > 0 || p + 1 == candidate.size());) {
      candidate[p] = static_cast<char>('a' + rest % 26);
      rest /= 26;
    }
    if (rest > 0 || candidate.empty()) {
      throw std::runtime_error("ZipBuilder: no placeholder of the same length for '" + name + "'");
    }
    if (taken.insert(candidate).second) return candidate;
  }
}

struct Patch {
  std::optional<std::string> name;
  std::optional<uint32_t> declaredSize;
};

// Applies `patches[i]` to the i-th entry, in both its central and its local header. Handles the
// plain (non-zip64) headers libzip writes for the small archives tests build.
void patchHeaders(std::string& zip, const std::vector<Patch>& patches) {
  const size_t eocd = zip.rfind(std::string_view("PK\x05\x06", 4));
  if (eocd == std::string::npos) throw std::runtime_error("ZipBuilder: no end of central directory");
  const uint16_t count = get16(zip, eocd + 10);
  size_t central = get32(zip, eocd + 16);
  for (size_t i = 0; i < count && i < patches.size(); ++i) {
    if (get32(zip, central) != 0x02014b50) throw std::runtime_error("ZipBuilder: bad central header");
    const uint16_t nameLength = get16(zip, central + 28);
    const size_t next = central + 46 + nameLength + get16(zip, central + 30) + get16(zip, central + 32);
    const size_t local = get32(zip, central + 42);
    if (get32(zip, local) != 0x04034b50) throw std::runtime_error("ZipBuilder: bad local header");
    if (const auto& name = patches[i].name) {
      if (name->size() != nameLength || get16(zip, local + 26) != nameLength) {
        throw std::runtime_error("ZipBuilder: placeholder length mismatch");
      }
      zip.replace(central + 46, nameLength, *name);
      zip.replace(local + 30, nameLength, *name);
    }
    if (const auto size = patches[i].declaredSize) {
      if ((get16(zip, local + 6) & 0x8) != 0 || get32(zip, central + 24) == 0xffffffff) {
        throw std::runtime_error("ZipBuilder: declareSize needs plain headers without zip64 or a data descriptor");
      }
      put32(zip, central + 24, *size);
      put32(zip, local + 22, *size);
    }
    central = next;
  }
}

[[noreturn]] void fail(std::string_view what, zip_error_t* error) {
  throw std::runtime_error("ZipBuilder: " + std::string(what) + ": " + zip_error_strerror(error));
}

} // namespace

ZipBuilder& ZipBuilder::method(Method method) {
  method_ = method;
  return *this;
}

ZipBuilder& ZipBuilder::add(Entry entry) {
  entry.method = method_;
  entries_.push_back(std::move(entry));
  return *this;
}

ZipBuilder& ZipBuilder::addFile(std::string name, std::string bytes, uint32_t mode) {
  return addEntry(std::move(name), std::move(bytes), ZIP_OPSYS_UNIX, (S_IFREG | (mode & 07777)) << 16);
}

ZipBuilder& ZipBuilder::addZeros(std::string name, uint64_t size, uint32_t mode) {
  Entry entry;
  entry.name = std::move(name);
  entry.zeros = size;
  entry.opsys = ZIP_OPSYS_UNIX;
  entry.attributes = (S_IFREG | (mode & 07777)) << 16;
  return add(std::move(entry));
}

ZipBuilder& ZipBuilder::addDirectory(std::string name, uint32_t mode) {
  Entry entry;
  entry.name = std::move(name);
  if (entry.name.empty() || entry.name.back() != '/') entry.name += '/';
  entry.directory = true;
  entry.opsys = ZIP_OPSYS_UNIX;
  // 0x10 is the MS-DOS directory bit, which Info-ZIP also sets.
  entry.attributes = (S_IFDIR | (mode & 07777)) << 16 | 0x10;
  return add(std::move(entry));
}

ZipBuilder& ZipBuilder::addSymlink(std::string name, std::string target) {
  return addEntry(std::move(name), std::move(target), ZIP_OPSYS_UNIX, (S_IFLNK | 0777u) << 16);
}

ZipBuilder& ZipBuilder::addCharDevice(std::string name) {
  return addEntry(std::move(name), "", ZIP_OPSYS_UNIX, (S_IFCHR | 0644u) << 16);
}

ZipBuilder& ZipBuilder::addEntry(std::string name, std::string bytes, uint8_t opsys, uint32_t externalAttributes) {
  Entry entry;
  entry.name = std::move(name);
  entry.bytes = std::move(bytes);
  entry.opsys = opsys;
  entry.attributes = externalAttributes;
  return add(std::move(entry));
}

ZipBuilder& ZipBuilder::declareSize(uint32_t size) {
  if (entries_.empty()) throw std::runtime_error("ZipBuilder: declareSize needs an entry");
  entries_.back().declaredSize = size;
  return *this;
}

std::string ZipBuilder::bytes() const {
  // libzip writes nothing at all for an archive without entries; a valid empty zip is a bare
  // end-of-central-directory record.
  if (entries_.empty()) return std::string("PK\x05\x06", 4) + std::string(18, '\0');

  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  if (buffer == nullptr) fail("cannot create a buffer", &error);
  zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  if (archive == nullptr) {
    zip_source_free(buffer);
    fail("cannot open the buffer", &error);
  }
  // Keep the buffer alive past zip_close(), which would otherwise free it with the archive.
  zip_source_keep(buffer);
  auto abandon = [&](std::string_view what) {
    const std::string reason = zip_strerror(archive);
    zip_discard(archive);
    zip_source_free(buffer);
    throw std::runtime_error("ZipBuilder: " + std::string(what) + ": " + reason);
  };

  std::set<std::string> taken;
  for (const Entry& entry : entries_) taken.insert(entry.name);
  std::set<std::string> added;
  std::vector<Patch> patches(entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& entry = entries_[i];
    std::string name = entry.name;
    const bool needsPlaceholder = name.find('\0') != std::string::npos || !added.insert(name).second;
    if (needsPlaceholder) {
      patches[i].name = entry.name;
      name = placeholderFor(entry.name, taken);
    }
    patches[i].declaredSize = entry.declaredSize;

    zip_source_t* source = nullptr;
    if (entry.zeros > 0) {
      auto* state = new ZerosSource;
      state->size = entry.zeros;
      zip_error_init(&state->error);
      source = zip_source_function(archive, zerosCallback, state);
      if (source == nullptr) {
        delete state;
        abandon("cannot create a source of zeros");
      }
    } else {
      source = zip_source_buffer(archive, entry.bytes.data(), entry.bytes.size(), 0);
      if (source == nullptr) abandon("cannot create a source");
    }
    const zip_int64_t index = zip_file_add(archive, name.c_str(), source, 0);
    if (index < 0) {
      zip_source_free(source);
      abandon("cannot add '" + name + "'");
    }
    const auto at = static_cast<zip_uint64_t>(index);
    const int method = entry.method == Method::kStore || entry.directory ? ZIP_CM_STORE : ZIP_CM_DEFLATE;
    if (zip_set_file_compression(archive, at, method, 0) < 0 ||
        zip_file_set_external_attributes(archive, at, 0, entry.opsys, entry.attributes) < 0 ||
        zip_file_set_mtime(archive, at, kFixedMtime, 0) < 0) {
      abandon("cannot set the attributes of '" + name + "'");
    }
  }
  if (zip_close(archive) < 0) abandon("cannot write the archive");

  std::string out;
  zip_stat_t st;
  if (zip_source_open(buffer) < 0 || zip_source_stat(buffer, &st) < 0) {
    zip_source_free(buffer);
    throw std::runtime_error("ZipBuilder: cannot read the built archive back");
  }
  out.resize(st.size);
  const zip_int64_t read = zip_source_read(buffer, out.data(), out.size());
  zip_source_close(buffer);
  zip_source_free(buffer);
  if (read < 0 || static_cast<uint64_t>(read) != out.size()) {
    throw std::runtime_error("ZipBuilder: short read of the built archive");
  }
  patchHeaders(out, patches);
  return out;
}

void ZipBuilder::writeTo(const std::filesystem::path& path) const {
  const std::string data = bytes();
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(data.data(), static_cast<std::streamsize>(data.size()));
  file.close();
  if (!file) throw std::runtime_error("ZipBuilder: cannot write " + path.string());
}

} // namespace surge::testing
