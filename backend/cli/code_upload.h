// Streams a code archive to FunctionService.UploadCode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include "cli/code_archive.h"
#include "surge/v1/function.grpc.pb.h"

namespace surge::cli {

// The API's limit on one UploadCodeRequest.chunk.
inline constexpr size_t kUploadChunkBytes = 1 << 20;

struct UploadTarget {
  std::string ns;
  std::string name;
  // 0: unconditional; otherwise the upload applies only at this function revision.
  int64_t expectedRevision = 0;
};

// Sends `archive` as one UploadCode stream: the first message names the function and carries
// the SHA-256 and the first chunk, later messages carry only chunks of kUploadChunkBytes at
// most. Returns the RPC's status; `response` is filled on OK. `context` carries the deadline.
grpc::Status uploadCode(surge::v1::FunctionService::StubInterface& stub, grpc::ClientContext& context,
                        const UploadTarget& target, const CodeArchive& archive,
                        surge::v1::UploadCodeResponse* response);

} // namespace surge::cli
