// Tests for unpacking code archives: one test per refusal rule, plus the handler-file check.
#include "store/archive_unpacker.h"

#include "support/temp_dir.h"
#include "support/zip_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zip.h>

#include <sys/stat.h>

#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace surge::store {
namespace {

namespace fs = std::filesystem;
using surge::testing::TempDir;
using surge::testing::ZipBuilder;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void writeFile(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

ArchiveLimits withMaxEntries(int64_t maxEntries) {
  ArchiveLimits limits;
  limits.maxEntries = maxEntries;
  return limits;
}

ArchiveLimits withMaxUnpackedBytes(int64_t maxUnpackedBytes) {
  ArchiveLimits limits;
  limits.maxUnpackedBytes = maxUnpackedBytes;
  return limits;
}

ArchiveLimits withRatioCheckMinBytes(int64_t ratioCheckMinBytes) {
  ArchiveLimits limits;
  limits.ratioCheckMinBytes = ratioCheckMinBytes;
  return limits;
}

fs::perms permsOf(const fs::path& path) { return fs::symlink_status(path).permissions(); }

constexpr fs::perms kReadOnly = fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read;
constexpr fs::perms kReadExecute = kReadOnly | fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec;

// Bytes this process has passed to write(2) so far, from /proc/self/io; -1 where the kernel
// does not keep I/O accounting. Lets a test see how much a refused archive wrote without timing
// anything.
int64_t bytesWrittenSoFar() {
  std::ifstream io("/proc/self/io");
  std::string key;
  int64_t value = 0;
  while (io >> key >> value) {
    if (key == "wchar:") return value;
  }
  return -1;
}

class ArchiveUnpackerTest : public ::testing::Test {
protected:
  fs::path zipPath() const { return temp_.path() / "code.zip"; }
  fs::path destDir() const { return temp_.path() / "code"; }

  absl::StatusOr<UnpackedArchive> unpack(const ZipBuilder& builder, const ArchiveLimits& limits = {}) {
    builder.writeTo(zipPath());
    return unpackArchive(zipPath(), destDir(), limits);
  }
  absl::StatusOr<UnpackedArchive> unpackBytes(std::string_view bytes, const ArchiveLimits& limits = {}) {
    writeFile(zipPath(), bytes);
    return unpackArchive(zipPath(), destDir(), limits);
  }

  // A refusal is INVALID_ARGUMENT with exactly `message`, and leaves nothing behind.
  void expectRefused(const absl::StatusOr<UnpackedArchive>& result, const std::string& message) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(result.status().message()), message);
    EXPECT_FALSE(fs::exists(fs::symlink_status(destDir())));
  }
  // For messages that carry libzip's wording or measured numbers, which are checked in part.
  void expectRefusedWith(const absl::StatusOr<UnpackedArchive>& result, const std::string& prefix,
                         const std::string& part) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(result.status().message()), StartsWith(prefix));
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(part));
    EXPECT_FALSE(fs::exists(fs::symlink_status(destDir())));
  }

  TempDir temp_;
};

// ---- Archives that unpack ----

TEST_F(ArchiveUnpackerTest, UnpacksNestedFilesReadOnlyKeepingExecutableBits) {
  ZipBuilder builder;
  builder.addFile("index.py", "def handler(event, context):\n    return 1\n", 0644)
      .addDirectory("lib")
      .addFile("lib/pkg/mod.py", "X = 2\n", 0600)
      .addFile("bin/run", "#!/bin/sh\necho hi\n", 0755)
      .addDirectory("empty", 0777)
      .method(ZipBuilder::Method::kStore)
      .addFile("lib/stored.txt", "stored, not deflated", 0640);

  auto result = unpack(builder);

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->fileCount, 4);
  EXPECT_EQ(result->unpackedBytes, 42 + 6 + 18 + 20);
  EXPECT_EQ(readFile(destDir() / "index.py"), "def handler(event, context):\n    return 1\n");
  EXPECT_EQ(readFile(destDir() / "lib/pkg/mod.py"), "X = 2\n");
  EXPECT_EQ(readFile(destDir() / "bin/run"), "#!/bin/sh\necho hi\n");
  EXPECT_EQ(readFile(destDir() / "lib/stored.txt"), "stored, not deflated");
  EXPECT_EQ(permsOf(destDir() / "index.py"), kReadOnly);
  EXPECT_EQ(permsOf(destDir() / "lib/pkg/mod.py"), kReadOnly);
  EXPECT_EQ(permsOf(destDir() / "lib/stored.txt"), kReadOnly);
  EXPECT_EQ(permsOf(destDir() / "bin/run"), kReadExecute);
  for (const char* directory : {"", "lib", "lib/pkg", "bin", "empty"}) {
    EXPECT_TRUE(fs::is_directory(destDir() / directory)) << directory;
    EXPECT_EQ(permsOf(destDir() / directory), kReadExecute) << directory;
  }
  EXPECT_TRUE(fs::is_empty(destDir() / "empty"));
}

TEST_F(ArchiveUnpackerTest, UnpacksAnArchiveWithoutEntriesToAnEmptyRoot) {
  auto result = unpack(ZipBuilder());

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->fileCount, 0);
  EXPECT_EQ(result->unpackedBytes, 0);
  EXPECT_TRUE(fs::is_empty(destDir()));
}

TEST_F(ArchiveUnpackerTest, DropsDotComponentsFromNames) {
  ZipBuilder builder;
  builder.addDirectory("./").addFile("./index.py", "a").addFile("lib//./util.py", "b");

  auto result = unpack(builder);

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->fileCount, 2);
  EXPECT_EQ(readFile(destDir() / "index.py"), "a");
  EXPECT_EQ(readFile(destDir() / "lib/util.py"), "b");
}

TEST_F(ArchiveUnpackerTest, TreatsEntriesFromNonUnixSystemsAsReadOnlyFiles) {
  // Attributes that would mean a symlink on Unix mean nothing for an MS-DOS entry.
  ZipBuilder builder;
  builder.addEntry("index.py", "print(1)\n", ZIP_OPSYS_DOS, (S_IFLNK | 0777u) << 16)
      .addEntry("dir/", "", ZIP_OPSYS_WINDOWS_NTFS, 0x10);

  auto result = unpack(builder);

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->fileCount, 1);
  EXPECT_EQ(fs::symlink_status(destDir() / "index.py").type(), fs::file_type::regular);
  EXPECT_EQ(permsOf(destDir() / "index.py"), kReadOnly);
  EXPECT_EQ(readFile(destDir() / "index.py"), "print(1)\n");
  EXPECT_TRUE(fs::is_directory(destDir() / "dir"));
}

TEST_F(ArchiveUnpackerTest, AcceptsExactlyMaxEntries) {
  ZipBuilder builder;
  for (int i = 0; i < 20; ++i) builder.addFile("f" + std::to_string(i), "x");

  auto result = unpack(builder, withMaxEntries(20));

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->fileCount, 20);
}

TEST_F(ArchiveUnpackerTest, AcceptsExactlyMaxUnpackedBytes) {
  ZipBuilder builder;
  builder.addFile("a", std::string(600, 'a')).addFile("b", std::string(400, 'b'));

  auto result = unpack(builder, withMaxUnpackedBytes(1000));

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->unpackedBytes, 1000);
}

// ---- Paths that escape the root ----

TEST_F(ArchiveUnpackerTest, RefusesParentComponent) {
  expectRefused(unpack(ZipBuilder().addFile("index.py", "ok").addFile("../evil", "x")),
                "code archive entry '../evil' escapes the function root with a '..' component");
}

TEST_F(ArchiveUnpackerTest, RefusesParentComponentInsideThePath) {
  expectRefused(unpack(ZipBuilder().addFile("lib/../../evil", "x")),
                "code archive entry 'lib/../../evil' escapes the function root with a '..' component");
}

TEST_F(ArchiveUnpackerTest, RefusesAbsolutePath) {
  expectRefused(unpack(ZipBuilder().addFile("/abs", "x")),
                "code archive entry '/abs' is an absolute path, which escapes the function root");
}

TEST_F(ArchiveUnpackerTest, RefusesDriveLetter) {
  expectRefused(unpack(ZipBuilder().addFile("C:evil", "x")),
                "code archive entry 'C:evil' starts with a drive letter, which escapes the function root");
}

TEST_F(ArchiveUnpackerTest, RefusesBackslash) {
  expectRefused(unpack(ZipBuilder().addFile("..\\evil", "x")),
                "code archive entry '..\\\\evil' contains a backslash, which could escape the function "
                "root; separate directories with '/'");
}

TEST_F(ArchiveUnpackerTest, RefusesEmptyName) {
  expectRefused(unpack(ZipBuilder().addFile("", "x")), "code archive entry '' has an empty name");
}

// libzip hands a stored NUL over as a space, so nothing after a NUL can hide from the checks.
TEST_F(ArchiveUnpackerTest, ChecksTheWholeNamePastANulByte) {
  expectRefused(unpack(ZipBuilder().addFile(std::string("index.py\0/../../evil", 20), "x")),
                "code archive entry 'index.py /../../evil' escapes the function root with a '..' component");
}

TEST_F(ArchiveUnpackerTest, RefusesControlCharacter) {
  expectRefused(unpack(ZipBuilder().addFile("a\nb", "x")),
                "code archive entry 'a\\nb' contains a control character; names must be printable");
}

TEST_F(ArchiveUnpackerTest, RefusesOverlongComponent) {
  const std::string name = "lib/" + std::string(256, 'n');
  expectRefused(unpack(ZipBuilder().addFile(name, "x")),
                "code archive entry '" + name + "' has a path component longer than 255 bytes");
}

TEST_F(ArchiveUnpackerTest, RefusesAFileNamedAsTheRoot) {
  expectRefused(unpack(ZipBuilder().addFile("./", "x", 0644).addFile(".", "y")),
                "code archive entry '.' names the function root itself, not a file inside it");
}

// ---- Entry types ----

TEST_F(ArchiveUnpackerTest, RefusesSymlink) {
  expectRefused(unpack(ZipBuilder().addFile("index.py", "ok").addSymlink("passwd", "/etc/passwd")),
                "code archive entry 'passwd' is a symlink; symlinks are not allowed");
}

TEST_F(ArchiveUnpackerTest, RefusesCharDevice) {
  expectRefused(unpack(ZipBuilder().addCharDevice("dev/null")),
                "code archive entry 'dev/null' is a character device; device and other special entries "
                "are not allowed");
}

TEST_F(ArchiveUnpackerTest, RefusesFifo) {
  expectRefused(unpack(ZipBuilder().addEntry("pipe", "", ZIP_OPSYS_UNIX, (S_IFIFO | 0644u) << 16)),
                "code archive entry 'pipe' is a FIFO; device and other special entries are not allowed");
}

TEST_F(ArchiveUnpackerTest, RefusesUnixDirectoryWithoutTrailingSlash) {
  expectRefused(unpack(ZipBuilder().addEntry("lib", "", ZIP_OPSYS_UNIX, (S_IFDIR | 0755u) << 16)),
                "code archive entry 'lib' is marked as a directory but its name does not end in '/'");
}

// ---- Names that collide ----

TEST_F(ArchiveUnpackerTest, RefusesDuplicateNames) {
  expectRefused(unpack(ZipBuilder().addFile("index.py", "first").addFile("index.py", "second")),
                "code archive entry 'index.py' appears more than once; entry names must be unique");
}

TEST_F(ArchiveUnpackerTest, RefusesNamesThatAreDuplicatesOnceNormalised) {
  expectRefused(unpack(ZipBuilder().addFile("index.py", "first").addFile("./index.py", "second")),
                "code archive entry './index.py' appears more than once (as 'index.py'); entry paths "
                "must be unique");
}

TEST_F(ArchiveUnpackerTest, RefusesAPathThatIsBothFileAndDirectory) {
  expectRefused(unpack(ZipBuilder().addFile("lib", "x").addDirectory("lib")),
                "code archive entry 'lib/' makes 'lib' both a file and a directory");
}

TEST_F(ArchiveUnpackerTest, RefusesAFileUsedAsAParentDirectory) {
  expectRefused(unpack(ZipBuilder().addFile("lib/util.py", "x").addFile("lib", "y")),
                "code archive entry 'lib' is a file, but other entries use 'lib' as a directory");
}

// ---- Counts and sizes ----

TEST_F(ArchiveUnpackerTest, RefusesMoreThanMaxEntries) {
  ZipBuilder builder;
  for (int i = 0; i < 21; ++i) builder.addFile("f" + std::to_string(i), "x");

  expectRefused(unpack(builder, withMaxEntries(20)), "code archive has 21 entries; at most 20 are allowed");
}

TEST_F(ArchiveUnpackerTest, CountsImpliedDirectoriesTowardsMaxEntries) {
  ZipBuilder builder;
  for (int i = 0; i < 15; ++i) builder.addFile("d" + std::to_string(i) + "/f", "x");

  // d0/f .. d9/f make 20 files and directories; d10/f passes the limit.
  expectRefused(unpack(builder, withMaxEntries(20)),
                "code archive entry 'd10/f' takes the archive past 20 files and directories, counting the "
                "directories that paths imply; at most 20 are allowed");
}

TEST_F(ArchiveUnpackerTest, RefusesDeepNamesThatImplyTooManyDirectories) {
  // Two entries 2,000 levels deep imply 4,000 directories.
  std::string deep;
  for (int i = 0; i < 2000; ++i) deep += "a/";
  ZipBuilder builder;
  builder.addFile("x/" + deep + "f", "x").addFile("y/" + deep + "f", "y");

  auto result = unpack(builder, withMaxEntries(3000));

  expectRefusedWith(result, "code archive entry 'y/a/a/a/", "at most 3000 are allowed");
}

TEST_F(ArchiveUnpackerTest, DefaultLimitRefusesTenThousandAndOneEntries) {
  ZipBuilder builder;
  builder.method(ZipBuilder::Method::kStore);
  for (int i = 0; i < 10001; ++i) builder.addFile("f" + std::to_string(i), "");

  expectRefused(unpack(builder), "code archive has 10001 entries; at most 10000 are allowed");
}

TEST_F(ArchiveUnpackerTest, RefusesDeclaredSizesPastTheLimitBeforeWritingAnything) {
  ZipBuilder builder;
  builder.addFile("a.bin", std::string(600, 'a')).addFile("b.bin", std::string(600, 'b'));

  expectRefused(unpack(builder, withMaxUnpackedBytes(1000)),
                "code archive unpacks to more than 1000 bytes (limit 1000 bytes): entry 'b.bin' declares "
                "600 bytes, taking the total to 1200");
}

TEST_F(ArchiveUnpackerTest, RefusesAnEntryThatDecompressesPastItsDeclaredSize) {
  ZipBuilder builder;
  builder.addFile("index.py", "ok").addFile("big.bin", std::string(600, 'b')).declareSize(6);

  expectRefused(unpack(builder), "code archive is corrupt or truncated: entry 'big.bin': it decompresses to "
                                 "more than the 6 bytes its header declares");
}

TEST_F(ArchiveUnpackerTest, RefusesDeclaredCompressionRatioAboveTheLimit) {
  ZipBuilder builder;
  builder.addZeros("zeros.bin", 2 << 20);

  expectRefusedWith(unpack(builder), "code archive entry 'zeros.bin' declares a compression ratio of ",
                    "(2097152 bytes from ");
}

TEST_F(ArchiveUnpackerTest, AcceptsAHighRatioBelowRatioCheckMinBytes) {
  ZipBuilder builder;
  builder.addZeros("zeros.bin", 512 << 10);

  auto result = unpack(builder);

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->unpackedBytes, 512 << 10);
  EXPECT_EQ(readFile(destDir() / "zeros.bin"), std::string(512 << 10, '\0'));
}

TEST_F(ArchiveUnpackerTest, RefusesAHighRatioAboveAConfiguredRatioCheckMinBytes) {
  ZipBuilder builder;
  builder.addZeros("zeros.bin", 512 << 10);

  expectRefusedWith(unpack(builder, withRatioCheckMinBytes(64 << 10)),
                    "code archive entry 'zeros.bin' declares a compression ratio of ", "(524288 bytes from ");
}

// Honest headers give a bomb away before a byte is written: 64 MiB of zeros deflate to about
// 64 KiB, a declared ratio of about 1000.
TEST_F(ArchiveUnpackerTest, RefusesAZipBombWithHonestHeadersWithoutWritingIt) {
  ZipBuilder builder;
  builder.addFile("index.py", "ok").addZeros("bomb.bin", 64 << 20);
  builder.writeTo(zipPath());

  const int64_t writtenBefore = bytesWrittenSoFar();
  auto result = unpackArchive(zipPath(), destDir(), {});
  const int64_t written = bytesWrittenSoFar() - writtenBefore;

  expectRefusedWith(result, "code archive entry 'bomb.bin' declares a compression ratio of ", "(67108864 bytes from ");
  if (writtenBefore >= 0) {
    EXPECT_LT(written, 64 << 10);
  }
}

// 1 GiB of zeros (about 1 MiB deflated, built in chunks) whose headers claim 1000 bytes, so that
// they pass every declared-size check: the first 64 KiB really decompressed give it away.
TEST_F(ArchiveUnpackerTest, RefusesAGigabyteZipBombWithLyingHeadersWithinOneChunk) {
  ZipBuilder builder;
  builder.addZeros("bomb.bin", int64_t{1} << 30).declareSize(1000);
  builder.writeTo(zipPath());

  const int64_t writtenBefore = bytesWrittenSoFar();
  auto result = unpackArchive(zipPath(), destDir(), {});
  const int64_t written = bytesWrittenSoFar() - writtenBefore;

  expectRefused(result, "code archive is corrupt or truncated: entry 'bomb.bin': it decompresses to more "
                        "than the 1000 bytes its header declares");
  if (writtenBefore >= 0) {
    EXPECT_LT(written, 64 << 10);
  }
}

// ---- Damaged archives ----

TEST_F(ArchiveUnpackerTest, RefusesRandomBytes) {
  std::mt19937 random(42);
  std::string bytes(4096, '\0');
  for (char& c : bytes) c = static_cast<char>(random());

  expectRefused(unpackBytes(bytes), "code archive is corrupt or truncated: Not a zip archive");
}

TEST_F(ArchiveUnpackerTest, RefusesAnEmptyFile) {
  expectRefused(unpackBytes(""), "code archive is corrupt or truncated: Not a zip archive");
}

TEST_F(ArchiveUnpackerTest, RefusesATruncatedArchive) {
  ZipBuilder builder;
  builder.addFile("index.py", std::string(5000, 'i')).addFile("lib/util.py", std::string(5000, 'u'));
  const std::string bytes = builder.bytes();

  expectRefused(unpackBytes(bytes.substr(0, bytes.size() / 2)),
                "code archive is corrupt or truncated: Not a zip archive");
}

TEST_F(ArchiveUnpackerTest, RefusesACrcMismatchAndRemovesWhatWasUnpacked) {
  ZipBuilder builder;
  builder.method(ZipBuilder::Method::kStore)
      .addFile("lib/first.py", "unpacked before the damaged entry")
      .addFile("second.py", "THE-STORED-DATA-OF-THE-SECOND-ENTRY");
  std::string bytes = builder.bytes();
  const size_t at = bytes.find("STORED-DATA");
  ASSERT_NE(at, std::string::npos);
  bytes[at] ^= 0x20;

  expectRefused(unpackBytes(bytes), "code archive is corrupt or truncated: entry 'second.py': CRC error");
}

TEST_F(ArchiveUnpackerTest, ReportsAMissingArchiveAsNotFound) {
  auto result = unpackArchive(temp_.path() / "missing.zip", destDir(), {});

  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(result.status().message(), "code archive " + (temp_.path() / "missing.zip").string() + " does not exist");
}

TEST_F(ArchiveUnpackerTest, LeavesAnExistingDestinationAlone) {
  fs::create_directory(destDir());
  writeFile(destDir() / "keep.txt", "mine");

  auto result = unpack(ZipBuilder().addFile("index.py", "x"));

  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(result.status().message(), "code directory " + destDir().string() + " already exists");
  EXPECT_EQ(readFile(destDir() / "keep.txt"), "mine");
}

// ---- The builder the tests rely on ----

TEST(ZipBuilder, SameEntriesGiveSameBytes) {
  auto build = [] { return ZipBuilder().addFile("a.py", "a", 0755).addDirectory("d").addZeros("z", 1000).bytes(); };
  EXPECT_EQ(build(), build());
}

// ---- checkHandlerFile ----

class CheckHandlerFileTest : public ArchiveUnpackerTest {
protected:
  // Unpacks `builder` as an upload would, so the checks see real unpacked modes.
  const fs::path& unpacked(const ZipBuilder& builder) {
    auto result = unpack(builder);
    EXPECT_TRUE(result.ok()) << result.status();
    return root_ = destDir();
  }
  fs::path root_;
};

TEST_F(CheckHandlerFileTest, AcceptsPythonModule) {
  EXPECT_TRUE(
      checkHandlerFile(unpacked(ZipBuilder().addFile("index.py", "")), common::Runtime::kPython3, "index.handler", true)
          .ok());
}

TEST_F(CheckHandlerFileTest, AcceptsNestedPythonModule) {
  EXPECT_TRUE(
      checkHandlerFile(unpacked(ZipBuilder().addFile("pkg/mod.py", "")), common::Runtime::kPython3, "pkg.mod.fn", true)
          .ok());
}

TEST_F(CheckHandlerFileTest, RefusesMissingPythonModuleAsInvalidArgumentForUploads) {
  const absl::Status status =
      checkHandlerFile(unpacked(ZipBuilder().addFile("main.py", "")), common::Runtime::kPython3, "index.handler", true);

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "code has no index.py, which handler 'index.handler' needs on python3");
}

TEST_F(CheckHandlerFileTest, RefusesMissingNestedModuleAsFailedPreconditionForConfigChanges) {
  const absl::Status status =
      checkHandlerFile(unpacked(ZipBuilder().addFile("pkg.py", "")), common::Runtime::kPython3, "pkg.mod.fn", false);

  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), "code has no pkg/mod.py, which handler 'pkg.mod.fn' needs on python3");
}

TEST_F(CheckHandlerFileTest, RefusesADirectoryWhereTheModuleShouldBe) {
  const absl::Status status = checkHandlerFile(unpacked(ZipBuilder().addFile("index.py/x", "")),
                                               common::Runtime::kPython3, "index.handler", true);

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "index.py in the code is a directory; handler 'index.handler' needs a regular file there on "
            "python3");
}

TEST_F(CheckHandlerFileTest, AcceptsNodeModule) {
  EXPECT_TRUE(checkHandlerFile(unpacked(ZipBuilder().addFile("lib/index.js", "")), common::Runtime::kNodejs,
                               "lib/index.handler", true)
                  .ok());
}

TEST_F(CheckHandlerFileTest, RefusesMissingNodeModule) {
  const absl::Status status =
      checkHandlerFile(unpacked(ZipBuilder().addFile("index.py", "")), common::Runtime::kNodejs, "index.handler", true);

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "code has no index.js, which handler 'index.handler' needs on nodejs");
}

TEST_F(CheckHandlerFileTest, AcceptsExecutableBootstrap) {
  EXPECT_TRUE(checkHandlerFile(unpacked(ZipBuilder().addFile("bootstrap", "#!/bin/sh\n", 0755)),
                               common::Runtime::kCustom, "index.handler", true)
                  .ok());
}

TEST_F(CheckHandlerFileTest, RefusesNonExecutableBootstrap) {
  const absl::Status status = checkHandlerFile(unpacked(ZipBuilder().addFile("bootstrap", "#!/bin/sh\n", 0644)),
                                               common::Runtime::kCustom, "index.handler", false);

  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), "bootstrap is not executable; the custom runtime runs it");
}

TEST_F(CheckHandlerFileTest, RefusesMissingBootstrap) {
  const absl::Status status =
      checkHandlerFile(unpacked(ZipBuilder().addFile("index.py", "")), common::Runtime::kCustom, "index.handler", true);

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "code has no bootstrap, which handler 'index.handler' needs on custom");
}

TEST_F(CheckHandlerFileTest, RefusesAHandlerThatLeavesTheCode) {
  const absl::Status status = checkHandlerFile(unpacked(ZipBuilder().addFile("index.py", "")), common::Runtime::kNodejs,
                                               "../outside.handler", false);

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "handler '../outside.handler' does not name a file inside the code");
}

} // namespace
} // namespace surge::store
