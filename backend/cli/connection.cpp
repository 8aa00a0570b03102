// Channel and call-context creation for surgectl.
#include "cli/connection.h"

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

namespace surge::cli {

std::shared_ptr<grpc::Channel> createChannel(const ConnectionOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  // TLS arrives with a later issue; surged listens in plaintext until then.
  return grpc::CreateCustomChannel(options.server, grpc::InsecureChannelCredentials(), args);
}

std::unique_ptr<grpc::ClientContext> newCallContext(std::chrono::seconds deadline) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + deadline);
  return context;
}

} // namespace surge::cli
