// The "surgectl key" commands: each parses its flags into a request, calls AdminService, and
// prints the response as a table or JSON. Secrets are printed once, by "key create", and never
// again.
#include "cli/key_commands.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "cli/command_support.h"
#include "cli/context.h"
#include "cli/output.h"
#include "common/names.h"
#include "surge/v1/admin.grpc.pb.h"

namespace surge::cli {
namespace {

namespace v1 = surge::v1;
using Stub = v1::AdminService::Stub;

constexpr std::pair<std::string_view, v1::Role> kRoles[] = {
    {"admin", v1::ADMIN},
    {"developer", v1::DEVELOPER},
    {"invoker", v1::INVOKER},
    {"viewer", v1::VIEWER},
};

std::optional<v1::Role> parseRole(std::string_view name) {
  for (const auto& [roleName, role] : kRoles) {
    if (name == roleName) return role;
  }
  return std::nullopt;
}

std::string_view roleName(v1::Role role) {
  for (const auto& [name, known] : kRoles) {
    if (role == known) return name;
  }
  return "unspecified";
}

CLI::Validator roleValidator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (parseRole(value)) return {};
        return absl::StrCat("'", value, "' is not a role; allowed: admin, developer, invoker, viewer");
      },
      "", "role");
}

std::unique_ptr<Stub> newStub(Context& context) { return v1::AdminService::NewStub(context.channel()); }

// A key's scope for the table: the listed names, or what an empty list means.
std::string scopeCell(const google::protobuf::RepeatedPtrField<std::string>& names, std::string_view whenEmpty) {
  return names.empty() ? std::string(whenEmpty) : absl::StrJoin(names, ",");
}

// ---- create ----

struct CreateState {
  std::string name;
  std::string role;
  std::vector<std::string> functions;
  std::vector<std::string> namespaces;
};

int runCreate(Context& context, const CreateState& state) {
  if (auto status = common::validateName("key name", state.name); !status.ok()) return context.usageError(status);
  for (const std::string& function : state.functions) {
    if (auto status = common::validateName("--functions: function name", function); !status.ok()) {
      return context.usageError(status);
    }
  }
  for (const std::string& ns : state.namespaces) {
    if (auto status = common::validateName("--namespaces: namespace", ns); !status.ok()) {
      return context.usageError(status);
    }
  }
  v1::CreateApiKeyRequest request;
  request.set_name(state.name);
  request.set_role(*parseRole(state.role));
  for (const std::string& function : state.functions) request.add_functions(function);
  for (const std::string& ns : state.namespaces) request.add_namespaces(ns);

  auto stub = newStub(context);
  v1::CreateApiKeyResponse response;
  auto call = context.newCall();
  if (auto status = stub->CreateApiKey(call.get(), request, &response); !status.ok()) {
    return context.rpcError(status);
  }
  return context.print(response, [&](std::ostream& out) {
    const v1::ApiKey& key = response.key();
    out << "created key " << key.name() << " (id " << key.id() << ", role " << roleName(key.role()) << ")\n"
        << "secret: " << response.secret() << '\n';
    context.err() << "warning: the secret is shown only now and cannot be shown again; store it safely, e.g. in a "
                     "file for --key-file\n";
  });
}

void addCreateCommand(CLI::App& group, Context& context) {
  CLI::App* command = group.add_subcommand("create", "Create an API key and print its secret, once");
  auto state = std::make_shared<CreateState>();
  command->add_option("name", state->name, "Key name: lowercase letters, digits and '-', unique among active keys")
      ->type_name("NAME")
      ->required();
  command
      ->add_option("--role", state->role,
                   "admin: everything, keys included; developer: functions, code, reservations, metrics, logs "
                   "and invoke; invoker: invoke only; viewer: read-only calls")
      ->type_name("admin|developer|invoker|viewer")
      ->required()
      ->check(roleValidator());
  command
      ->add_option("--functions", state->functions,
                   "For invoker keys: the only functions the key may invoke, comma-separated (default: all in its "
                   "namespaces)")
      ->type_name("NAME,...")
      ->delimiter(',');
  command
      ->add_option("--namespaces", state->namespaces,
                   "The only namespaces the key may see, comma-separated (default: all)")
      ->type_name("NS,...")
      ->delimiter(',');
  command->footer(commandFooter("surgectl key create ci --role developer\n  "
                                "surgectl key create shop-web --role invoker --functions order-create,order-get "
                                "--namespaces shop"));
  setAction(*command, context, state, &runCreate);
}

// ---- list ----

struct ListState {
  bool all = false;
};

int runList(Context& context, const ListState& state) {
  v1::ListApiKeysRequest request;
  request.set_include_revoked(state.all);
  auto stub = newStub(context);
  v1::ListApiKeysResponse response;
  auto call = context.newCall();
  if (auto status = stub->ListApiKeys(call.get(), request, &response); !status.ok()) {
    return context.rpcError(status);
  }
  return context.print(response, [&](std::ostream& out) {
    if (response.keys().empty()) {
      // On stderr, so that scripts reading the table see no rows.
      context.err() << (state.all ? "no API keys\n" : "no active API keys\n");
      return;
    }
    std::vector<std::string> header = {"ID", "NAME", "ROLE", "FUNCTIONS", "NAMESPACES", "CREATED", "LAST USED"};
    if (state.all) header.push_back("REVOKED");
    Table table(std::move(header));
    for (const v1::ApiKey& key : response.keys()) {
      std::vector<std::string> row = {
          key.id(),
          key.name(),
          std::string(roleName(key.role())),
          // A function list means something only for invoker keys.
          scopeCell(key.functions(), key.role() == v1::INVOKER ? "all" : "-"),
          scopeCell(key.namespaces(), "all"),
          formatTimestamp(key.create_time()),
          key.has_last_used_time() ? formatTimestamp(key.last_used_time()) : "never",
      };
      if (state.all) row.push_back(key.has_revoke_time() ? formatTimestamp(key.revoke_time()) : "-");
      table.addRow(std::move(row));
    }
    table.print(out);
  });
}

void addListCommand(CLI::App& group, Context& context) {
  CLI::App* command = group.add_subcommand("list", "List the API keys (never their secrets)");
  auto state = std::make_shared<ListState>();
  command->add_flag("--all", state->all, "Also list revoked keys, with the time they were revoked");
  command->footer(commandFooter("surgectl key list\n  surgectl key list --all -o json"));
  setAction(*command, context, state, &runList);
}

// ---- revoke ----

struct RevokeState {
  std::string name;
};

int runRevoke(Context& context, const RevokeState& state) {
  if (state.name.empty()) return context.usageError("key name is required");
  v1::RevokeApiKeyRequest request;
  request.set_name(state.name);
  auto stub = newStub(context);
  v1::ApiKey revoked;
  auto call = context.newCall();
  if (auto status = stub->RevokeApiKey(call.get(), request, &revoked); !status.ok()) {
    return context.rpcError(status);
  }
  return context.print(revoked, [&](std::ostream& out) {
    out << "revoked key " << (revoked.name().empty() ? state.name : revoked.name()) << '\n';
  });
}

void addRevokeCommand(CLI::App& group, Context& context) {
  CLI::App* command = group.add_subcommand(
      "revoke", "Revoke an API key at once; the server refuses to revoke the last active admin key");
  auto state = std::make_shared<RevokeState>();
  command->add_option("name", state->name, "The key's name (or its id)")->type_name("NAME")->required();
  command->footer(commandFooter("surgectl key revoke ci"));
  setAction(*command, context, state, &runRevoke);
}

} // namespace

void registerKeyCommands(CLI::App& app, Context& context) {
  CLI::App* group = app.add_subcommand("key", "Manage API keys (needs an admin key)");
  group->require_subcommand(1);
  group->footer("Run 'surgectl key COMMAND --help' for a command's flags and examples.");
  addCreateCommand(*group, context);
  addListCommand(*group, context);
  addRevokeCommand(*group, context);
}

} // namespace surge::cli
