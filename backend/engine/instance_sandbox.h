// What each instance's sandbox is made of: the SandboxSpec of a direct start and of a
// pre-started stem (argv, binds, environment, uid), the stem's own folder that receives the code,
// and the Python shim compiled once per engine.
#pragma once

#include "engine/sandbox_engine.h"
#include "engine/sandbox_launcher.h"
#include "engine/stem_pool.h"

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <filesystem>

namespace surge::engine {

// Compiles the Python shim once, with the sandboxes' own interpreter, into
// <sandboxesDir>/runtime-compiled/python/surge_runtime.pyc, and returns that folder's parent (to
// bind at kCompiledShimDir), or an empty path: then instances run the source. Blocks (it runs a
// process): call it off the loop.
std::filesystem::path compilePythonShim(const SandboxEngineOptions& options);

// The sandbox of a direct start of `spec` as instance `id`, running as the function's own uid.
// `compiledShimDir`: from compilePythonShim(), or empty.
absl::StatusOr<SandboxSpec> directSandbox(InstanceId id, const InstanceSpec& spec, const SandboxEngineOptions& options,
                                          const std::filesystem::path& compiledShimDir);

// The sandbox of stem `id` of kind `key`, with a uid of its own (from `serial`) and /code bound
// to <sandboxesDir>/i-<id>/code, the folder that receives its function's code.
SandboxSpec stemSandbox(InstanceId id, const StemKey& key, uint32_t serial, const SandboxEngineOptions& options,
                        const std::filesystem::path& compiledShimDir);
// The folder of a stem's sandbox (i-<id>), parent of its codeDir.
std::filesystem::path stemSandboxDir(const SandboxSpec& sandbox);

// A pooled sandbox's folder and its empty /code, both new (an error if either exists). Nothing
// for a direct start (`sandboxDir` empty).
absl::Status makeSandboxDir(const std::filesystem::path& sandboxDir, const std::filesystem::path& codeDir);
// Removes a pooled sandbox's folder: only links and folders of ours, the code itself stays.
void removeSandboxDir(const std::filesystem::path& sandboxDir);

} // namespace surge::engine
