// The numbers and paths a sandbox is built with, on which the launcher, the engine's side of the
// zygote and the zygote program (zygote/zygote_main.cpp) must agree. Plain constants with no
// project includes: the zygote executable links nothing of Surge's but can include this.
#pragma once

#include <sys/types.h>

namespace surge::engine::sandbox {

// The uid and gid a sandbox runs as: unprivileged, and never "nobody", which unrelated daemons
// share.
inline constexpr uid_t kMinId = 10000;
inline constexpr uid_t kOverflowId = 65534;

// Descriptor numbers inside the sandbox, as bubblewrap or the zygote is told them. 0-2 are stdio.
inline constexpr int kProtocolFd = 3; // the runtime protocol: the last one the program keeps
inline constexpr int kSeccompFd = 4;  // from here on consumed while the sandbox is built
inline constexpr int kPasswdFd = 5;
inline constexpr int kGroupFd = 6;
inline constexpr int kHostsFd = 7;
inline constexpr int kNsswitchFd = 8;
inline constexpr int kResolvFd = 9; // network sandboxes only
inline constexpr int kFdCount = 10; // 0-9
// The zygote starts sandboxes without network only: descriptors 0-8.
inline constexpr int kZygoteFdCount = kResolvFd;

// The zygote program's own descriptors, as the engine starts it.
inline constexpr int kZygoteControlFd = 3; // SOCK_SEQPACKET, to the engine
inline constexpr int kZygoteShimFd = 4;    // the Python shim's source

// Paths inside the sandbox.
inline constexpr const char* kCodeDir = "/code";
inline constexpr const char* kShimDir = "/runtime";                  // the runtime shims, read-only
inline constexpr const char* kCompiledShimDir = "/runtime-compiled"; // the compiled Python shim
inline constexpr const char* kNode = "/usr/bin/node";
inline constexpr const char* kNodeShim = "/runtime/nodejs/surge_runtime.js";
inline constexpr const char* kCustomBootstrap = "/code/bootstrap";
inline constexpr const char* kPython = "/usr/bin/python3";
inline constexpr const char* kPythonShim = "/runtime/python/surge_runtime.py";
inline constexpr const char* kCompiledPythonShim = "/runtime-compiled/python/surge_runtime.pyc";

} // namespace surge::engine::sandbox
