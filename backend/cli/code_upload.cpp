// Chunked client-streaming upload of code archives.
#include "cli/code_upload.h"

#include <string_view>

#include <grpcpp/client_context.h>
#include <grpcpp/support/sync_stream.h>

namespace surge::cli {

grpc::Status uploadCode(surge::v1::FunctionService::StubInterface& stub, grpc::ClientContext& context,
                        const UploadTarget& target, const CodeArchive& archive,
                        surge::v1::UploadCodeResponse* response) {
  auto writer = stub.UploadCode(&context, response);
  surge::v1::UploadCodeRequest request;
  request.set_namespace_(target.ns);
  request.set_name(target.name);
  request.set_sha256(archive.sha256);
  request.set_expected_revision(target.expectedRevision);

  const std::string_view bytes = archive.bytes;
  size_t offset = 0;
  bool streamOpen = true;
  // The first message always goes out, even for an empty archive, since it names the function.
  do {
    const std::string_view chunk = bytes.substr(offset, kUploadChunkBytes);
    request.set_chunk(chunk.data(), chunk.size());
    offset += chunk.size();
    // A failed Write means the server already ended the call; Finish() says why.
    streamOpen = writer->Write(request);
    request.Clear();
  } while (streamOpen && offset < bytes.size());
  if (streamOpen) writer->WritesDone();
  return writer->Finish();
}

} // namespace surge::cli
