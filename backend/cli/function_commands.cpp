// The "surgectl function" commands: each parses its flags into a request, calls
// FunctionService, and prints the response as a table or JSON.
#include "cli/function_commands.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <google/protobuf/empty.pb.h>
#include <google/protobuf/field_mask.pb.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "cli/code_archive.h"
#include "cli/code_upload.h"
#include "cli/command_support.h"
#include "cli/context.h"
#include "cli/output.h"
#include "common/names.h"
#include "surge/v1/function.grpc.pb.h"

namespace surge::cli {
namespace {

namespace v1 = surge::v1;
using Stub = v1::FunctionService::Stub;

constexpr std::pair<std::string_view, v1::Runtime> kRuntimes[] = {
    {"python3", v1::RUNTIME_PYTHON3},
    {"nodejs", v1::RUNTIME_NODEJS},
    {"custom", v1::RUNTIME_CUSTOM},
};

std::optional<v1::Runtime> parseRuntime(std::string_view name) {
  for (const auto& [runtimeName, runtime] : kRuntimes) {
    if (name == runtimeName) return runtime;
  }
  return std::nullopt;
}

// Validators run while parsing, so their failures are usage errors with CLI11's
// "--flag: message" form.
CLI::Validator runtimeValidator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (parseRuntime(value)) return {};
        return absl::StrCat("'", value, "' is not a runtime; allowed: python3, nodejs, custom");
      },
      "", "runtime");
}

CLI::Validator onOffValidator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (value == "on" || value == "off") return {};
        return absl::StrCat("'", value, "' is not allowed; use on or off");
      },
      "", "on-off");
}

CLI::Validator envValidator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        const size_t equals = value.find('=');
        if (equals != std::string::npos && equals > 0) return {};
        return absl::StrCat("'", value, "' is not KEY=VALUE, e.g. --env LOG_LEVEL=debug");
      },
      "", "key-value");
}

// One config flag: the option, the FunctionConfig field it sets (the update mask path), and
// how it sets it.
struct ConfigField {
  CLI::Option* option = nullptr;
  std::string_view path;
  std::function<absl::Status(v1::FunctionConfig&)> apply;
};

// The values of the config flags shared by create and update; ConfigField::apply reads them.
struct ConfigFlags {
  std::string runtime;
  std::string handler;
  std::string initializer;
  uint32_t initializerTimeout = 0;
  uint32_t memory = 0;
  uint32_t timeout = 0;
  uint32_t concurrency = 0;
  uint32_t maxInstances = 0;
  uint32_t queueTimeout = 0;
  uint32_t maxQueue = 0;
  std::string network;
  std::vector<std::string> env;
  std::string description;

  std::vector<ConfigField> fields;
  CLI::Option* runtimeOption = nullptr;
  CLI::Option* handlerOption = nullptr;
  CLI::Option* envOption = nullptr;
};

absl::Status environmentFromFlags(const std::vector<std::string>& pairs,
                                  google::protobuf::Map<std::string, std::string>& environment) {
  environment.clear();
  for (const std::string& pair : pairs) {
    const size_t equals = pair.find('=');
    std::string key = pair.substr(0, equals);
    if (environment.contains(key)) {
      return absl::InvalidArgumentError(absl::StrCat("--env: key '", key, "' is given more than once"));
    }
    environment[std::move(key)] = pair.substr(equals + 1);
  }
  return absl::OkStatus();
}

// Adds the config flags to `command`; `flags` must outlive the parse and the action.
void addConfigFlags(CLI::App& command, ConfigFlags& flags) {
  auto add = [&](CLI::Option* option, std::string_view path, std::function<void(v1::FunctionConfig&)> apply) {
    flags.fields.push_back({option, path, [apply = std::move(apply)](v1::FunctionConfig& config) {
                              apply(config);
                              return absl::OkStatus();
                            }});
    return option;
  };
  auto number = [&](std::string_view flag, uint32_t& value, std::string_view unit, std::string_view help,
                    std::string_view path, void (v1::FunctionConfig::*setter)(uint32_t)) {
    add(command.add_option(std::string(flag), value, std::string(help))
            ->type_name(std::string(unit))
            ->check(wholeNumberValidator(0, UINT32_MAX)),
        path, [&value, setter](v1::FunctionConfig& config) { (config.*setter)(value); });
  };

  flags.runtimeOption =
      add(command.add_option("--runtime", flags.runtime, "Language runtime: python3, nodejs or custom")
              ->type_name("RUNTIME")
              ->check(runtimeValidator()),
          "runtime", [&flags](v1::FunctionConfig& config) { config.set_runtime(*parseRuntime(flags.runtime)); });
  flags.handlerOption = add(command
                                .add_option("--handler", flags.handler,
                                            "Entry point \"module.function\", e.g. index.handler (python3: "
                                            "index.py, nodejs: index.js; custom: passed to bootstrap)")
                                ->type_name("HANDLER"),
                            "handler", [&flags](v1::FunctionConfig& config) { config.set_handler(flags.handler); });
  number("--memory", flags.memory, "MB", "Memory per instance in MiB, 64-4096 (default 128)", "memory_mb",
         &v1::FunctionConfig::set_memory_mb);
  number("--timeout", flags.timeout, "SECONDS", "Seconds one invocation may run, 1-900 (default 60)", "timeout_seconds",
         &v1::FunctionConfig::set_timeout_seconds);
  number("--concurrency", flags.concurrency, "N", "Requests one instance serves at once, 1-100 (default 1)",
         "instance_concurrency", &v1::FunctionConfig::set_instance_concurrency);
  number("--max-instances", flags.maxInstances, "N", "Most instances at once, 1-1000 (default 100)", "max_instances",
         &v1::FunctionConfig::set_max_instances);
  add(command
          .add_option("--initializer", flags.initializer,
                      "\"module.function\" run once per instance before its first request")
          ->type_name("HANDLER"),
      "initializer", [&flags](v1::FunctionConfig& config) { config.set_initializer(flags.initializer); });
  number("--initializer-timeout", flags.initializerTimeout, "SECONDS",
         "Seconds the initializer may run, 1-900 (default 30)", "initializer_timeout_seconds",
         &v1::FunctionConfig::set_initializer_timeout_seconds);
  number("--queue-timeout", flags.queueTimeout, "SECONDS",
         "Seconds a request may wait for an instance, 1-900 (default: the timeout)", "queue_timeout_seconds",
         &v1::FunctionConfig::set_queue_timeout_seconds);
  number("--max-queue", flags.maxQueue, "N", "Most requests waiting for an instance, 1-100000 (default 1000)",
         "max_queue_length", &v1::FunctionConfig::set_max_queue_length);
  add(command
          .add_option("--network", flags.network, "Whether instances may reach the network: on or off (default off)")
          ->type_name("on|off")
          ->check(onOffValidator()),
      "network_access", [&flags](v1::FunctionConfig& config) { config.set_network_access(flags.network == "on"); });
  flags.envOption = command
                        .add_option("--env", flags.env,
                                    "Environment variable KEY=VALUE; repeat for more. On update the "
                                    "variables given replace the whole environment")
                        ->type_name("KEY=VALUE")
                        ->check(envValidator());
  flags.fields.push_back({flags.envOption, "environment", [&flags](v1::FunctionConfig& config) {
                            return environmentFromFlags(flags.env, *config.mutable_environment());
                          }});
  add(command.add_option("--description", flags.description, "Free text, at most 256 bytes")->type_name("TEXT"),
      "description", [&flags](v1::FunctionConfig& config) { config.set_description(flags.description); });
}

// Sets in `config` every field whose flag was given and, if `mask` is not null, names each
// one there. A flag given with 0 or "" sets 0 or "", which the server reads as the default.
absl::Status applyConfigFlags(const ConfigFlags& flags, v1::FunctionConfig& config, google::protobuf::FieldMask* mask) {
  for (const ConfigField& field : flags.fields) {
    if (field.option->count() == 0) continue;
    if (auto status = field.apply(config); !status.ok()) return status;
    if (mask != nullptr) mask->add_paths(std::string(field.path));
  }
  return absl::OkStatus();
}

CLI::Option* addRevisionFlag(CLI::App& command, int64_t& revision) {
  return command
      .add_option("--revision", revision,
                  "Apply only if the function's revision still equals N (see 'function get'); "
                  "otherwise the server answers ABORTED")
      ->type_name("N")
      ->check(wholeNumberValidator(1, INT64_MAX));
}

void addNameArgument(CLI::App& command, std::string& name) {
  command.add_option("name", name, "Function name: lowercase letters, digits and '-'")->type_name("NAME")->required();
}

CLI::Option* addCodeFlag(CLI::App& command, std::string& code) {
  return command
      .add_option("--code", code,
                  "A .zip file, or a directory to zip (entries named .git or __pycache__ are "
                  "left out; symlinks and special files are refused)")
      ->type_name("PATH")
      ->required();
}

std::unique_ptr<Stub> newStub(Context& context) { return v1::FunctionService::NewStub(context.channel()); }

std::string displayName(const Context& context, std::string_view name) {
  return qualifiedName(context.options().ns, name);
}

std::string shortSha(std::string_view sha256) { return std::string(sha256.substr(0, 12)); }

void printFunction(std::ostream& out, const v1::Function& function) {
  const v1::FunctionConfig& config = function.config();
  auto orDash = [](const std::string& text) { return text.empty() ? std::string("-") : text; };
  auto seconds = [](uint32_t value) { return absl::StrCat(value, "s"); };
  KeyValueBlock block;
  block.add("namespace", function.namespace_());
  block.add("name", function.name());
  block.add("runtime", std::string(runtimeName(config.runtime())));
  block.add("handler", config.handler());
  block.add("initializer", orDash(config.initializer()));
  block.add("initializer-timeout", seconds(config.initializer_timeout_seconds()));
  block.add("memory", formatMemory(config.memory_mb()));
  block.add("timeout", seconds(config.timeout_seconds()));
  block.add("concurrency", absl::StrCat(config.instance_concurrency()));
  block.add("max-instances", absl::StrCat(config.max_instances()));
  block.add("queue-timeout", seconds(config.queue_timeout_seconds()));
  block.add("max-queue", absl::StrCat(config.max_queue_length()));
  block.add("reserved", absl::StrCat(config.reserved_target()));
  block.add("network", config.network_access() ? "on" : "off");
  block.add("description", orDash(config.description()));
  block.add("active-version", function.active_version() == 0 ? "none" : absl::StrCat(function.active_version()));
  block.add("revision", absl::StrCat(function.revision()));
  block.add("created", formatTimestamp(function.create_time()));
  block.add("updated", formatTimestamp(function.update_time()));
  // Sorted, since a proto map has no stable order.
  std::vector<std::pair<std::string, std::string>> environment(config.environment().begin(),
                                                               config.environment().end());
  std::sort(environment.begin(), environment.end());
  block.add("environment", environment.empty() ? "-" : "");
  block.print(out);
  for (const auto& [key, value] : environment) out << "  " << key << '=' << value << '\n';
}

// ---- create ----

struct CreateState {
  std::string name;
  std::string code;
  ConfigFlags config;
};

// Removes the function a failed create made, at the revision create returned, so that a
// function changed meanwhile by someone else (or whose upload landed after all) is kept.
int undoCreate(Context& context, Stub& stub, const std::string& name, int64_t revision,
               const grpc::Status& uploadStatus) {
  const int exitCode = context.rpcError(uploadStatus);
  v1::DeleteFunctionRequest request;
  request.set_namespace_(context.options().ns);
  request.set_name(name);
  request.set_expected_revision(revision);
  google::protobuf::Empty empty;
  auto call = context.newCall();
  grpc::Status status = stub.DeleteFunction(call.get(), request, &empty);
  if (status.ok()) {
    context.err() << "note: removed function '" << displayName(context, name)
                  << "' again, since its code was not uploaded; nothing was created\n";
  } else {
    context.err() << "warning: could not remove function '" << displayName(context, name)
                  << "' after the failed upload (" << statusCodeName(status.error_code()) << ": "
                  << status.error_message() << "); check it with 'surgectl --namespace " << context.options().ns
                  << " function get " << name << "' and delete it if unwanted\n";
  }
  return exitCode;
}

int runCreate(Context& context, const CreateState& state) {
  if (auto status = common::validateName("function name", state.name); !status.ok()) {
    return context.usageError(status);
  }
  v1::CreateFunctionRequest request;
  request.set_namespace_(context.options().ns);
  request.set_name(state.name);
  if (auto status = applyConfigFlags(state.config, *request.mutable_config(), nullptr); !status.ok()) {
    return context.usageError(status);
  }
  // Read the code before creating anything, so that a bad path leaves no function behind.
  auto archive = buildCodeArchive(state.code);
  if (!archive.ok()) return context.usageError(archive.status());

  auto stub = newStub(context);
  v1::Function created;
  auto createCall = context.newCall();
  if (auto status = stub->CreateFunction(createCall.get(), request, &created); !status.ok()) {
    return context.rpcError(status);
  }
  v1::UploadCodeResponse uploaded;
  auto uploadCall = context.newCall(kUploadDeadline);
  grpc::Status status =
      uploadCode(*stub, *uploadCall, {context.options().ns, state.name, created.revision()}, *archive, &uploaded);
  if (!status.ok()) return undoCreate(context, *stub, state.name, created.revision(), status);
  return context.print(uploaded, [&](std::ostream& out) {
    out << "created function " << displayName(context, state.name) << " with code version "
        << uploaded.version().version() << " (sha256 " << shortSha(uploaded.version().sha256()) << ", "
        << formatBytes(uploaded.version().size_bytes()) << ", " << uploaded.version().file_count() << " files)\n";
  });
}

void addCreateCommand(CLI::App& group, Context& context) {
  CLI::App* command =
      group.add_subcommand("create", "Create a function and upload its code; if the upload fails, the function is "
                                     "removed again");
  auto state = std::make_shared<CreateState>();
  addNameArgument(*command, state->name);
  addCodeFlag(*command, state->code);
  addConfigFlags(*command, state->config);
  state->config.runtimeOption->required();
  state->config.handlerOption->required();
  command->footer(commandFooter("surgectl function create hello --runtime python3 "
                                "--handler index.handler --code ./hello --memory 256 --env LOG_LEVEL=debug"));
  setAction(*command, context, state, &runCreate);
}

// ---- update ----

struct UpdateState {
  std::string name;
  ConfigFlags config;
  bool clearEnv = false;
  int64_t revision = 0;
};

int runUpdate(Context& context, const UpdateState& state) {
  if (auto status = common::validateName("function name", state.name); !status.ok()) {
    return context.usageError(status);
  }
  v1::UpdateFunctionConfigRequest request;
  request.set_namespace_(context.options().ns);
  request.set_name(state.name);
  request.set_expected_revision(state.revision);
  if (auto status = applyConfigFlags(state.config, *request.mutable_config(), request.mutable_update_mask());
      !status.ok()) {
    return context.usageError(status);
  }
  // --env and --clear-env exclude each other, so "environment" is never named twice.
  if (state.clearEnv) request.mutable_update_mask()->add_paths("environment");
  if (request.update_mask().paths().empty()) {
    return context.usageError("nothing to update: give at least one config flag, e.g. --memory 256 "
                              "(see 'surgectl function update --help')");
  }

  auto stub = newStub(context);
  v1::Function updated;
  auto call = context.newCall();
  if (auto status = stub->UpdateFunctionConfig(call.get(), request, &updated); !status.ok()) {
    return context.rpcError(status);
  }
  return context.print(updated, [&](std::ostream& out) {
    out << "updated " << absl::StrJoin(request.update_mask().paths(), ", ") << " of function "
        << displayName(context, state.name) << " (revision " << updated.revision() << ")\n";
  });
}

void addUpdateCommand(CLI::App& group, Context& context) {
  CLI::App* command =
      group.add_subcommand("update", "Change a function's configuration: only the flags given are changed; a "
                                     "number given as 0 resets it to its default");
  auto state = std::make_shared<UpdateState>();
  addNameArgument(*command, state->name);
  addConfigFlags(*command, state->config);
  command->add_flag("--clear-env", state->clearEnv, "Remove every environment variable")
      ->excludes(state->config.envOption);
  addRevisionFlag(*command, state->revision);
  command->footer(commandFooter("surgectl function update hello --memory 512 --timeout 120\n  "
                                "surgectl function update hello --env LOG_LEVEL=info --env REGION=eu\n  "
                                "surgectl function update hello --clear-env --revision 7"));
  setAction(*command, context, state, &runUpdate);
}

// ---- deploy ----

struct DeployState {
  std::string name;
  std::string code;
  int64_t revision = 0;
};

int runDeploy(Context& context, const DeployState& state) {
  if (auto status = common::validateName("function name", state.name); !status.ok()) {
    return context.usageError(status);
  }
  auto archive = buildCodeArchive(state.code);
  if (!archive.ok()) return context.usageError(archive.status());

  auto stub = newStub(context);
  v1::UploadCodeResponse uploaded;
  auto call = context.newCall(kUploadDeadline);
  grpc::Status status =
      uploadCode(*stub, *call, {context.options().ns, state.name, state.revision}, *archive, &uploaded);
  if (!status.ok()) return context.rpcError(status);
  return context.print(uploaded, [&](std::ostream& out) {
    const v1::CodeVersion& version = uploaded.version();
    if (!uploaded.created()) {
      out << "unchanged: archive equals active version " << version.version() << '\n';
      return;
    }
    out << "deployed version " << version.version() << " of function " << displayName(context, state.name)
        << " (sha256 " << shortSha(version.sha256()) << ", " << formatBytes(version.size_bytes()) << ", "
        << version.file_count() << " files)\n";
  });
}

void addDeployCommand(CLI::App& group, Context& context) {
  CLI::App* command =
      group.add_subcommand("deploy", "Upload new code and make it the active version; uploading the active "
                                     "version's archive again changes nothing");
  auto state = std::make_shared<DeployState>();
  addNameArgument(*command, state->name);
  addCodeFlag(*command, state->code);
  addRevisionFlag(*command, state->revision);
  command->footer(commandFooter("surgectl function deploy hello --code ./hello"));
  setAction(*command, context, state, &runDeploy);
}

// ---- get ----

struct GetState {
  std::string name;
};

int runGet(Context& context, const GetState& state) {
  if (auto status = common::validateName("function name", state.name); !status.ok()) {
    return context.usageError(status);
  }
  v1::GetFunctionRequest request;
  request.set_namespace_(context.options().ns);
  request.set_name(state.name);
  auto stub = newStub(context);
  v1::Function function;
  auto call = context.newCall();
  if (auto status = stub->GetFunction(call.get(), request, &function); !status.ok()) {
    return context.rpcError(status);
  }
  return context.print(function, [&](std::ostream& out) { printFunction(out, function); });
}

void addGetCommand(CLI::App& group, Context& context) {
  CLI::App* command = group.add_subcommand("get", "Show a function's configuration and state");
  auto state = std::make_shared<GetState>();
  addNameArgument(*command, state->name);
  command->footer(commandFooter("surgectl function get hello\n  surgectl -o json function get hello"));
  setAction(*command, context, state, &runGet);
}

// ---- list ----

struct ListState {
  std::string prefix;
  int32_t pageSize = 0;
};

int runList(Context& context, const ListState& state) {
  v1::ListFunctionsRequest request;
  request.set_namespace_(context.options().ns);
  request.set_prefix(state.prefix);
  request.set_page_size(state.pageSize);
  auto stub = newStub(context);
  v1::ListFunctionsResponse all;
  const int fetched = fetchAllPages(context, request, all, [&](grpc::ClientContext* rpc, const auto& r, auto* page) {
    return stub->ListFunctions(rpc, r, page);
  });
  if (fetched != kExitOk) return fetched;
  return context.print(all, [&](std::ostream& out) {
    if (all.functions().empty()) {
      // On stderr, so that scripts reading the table see no rows.
      context.err() << "no functions in namespace '" << context.options().ns << "'"
                    << (state.prefix.empty() ? "" : absl::StrCat(" starting with '", state.prefix, "'")) << '\n';
      return;
    }
    Table table({"NAME", "RUNTIME", "HANDLER", "MEMORY", "VERSION", "REVISION", "UPDATED"});
    for (const v1::Function& function : all.functions()) {
      table.addRow({function.name(), std::string(runtimeName(function.config().runtime())), function.config().handler(),
                    formatMemory(function.config().memory_mb()),
                    function.active_version() == 0 ? "-" : absl::StrCat(function.active_version()),
                    absl::StrCat(function.revision()), formatTimestamp(function.update_time())});
    }
    table.print(out);
  });
}

void addListCommand(CLI::App& group, Context& context) {
  CLI::App* command = group.add_subcommand("list", "List the namespace's functions in name order (all pages)");
  auto state = std::make_shared<ListState>();
  command->add_option("--prefix", state->prefix, "Only names starting with this")->type_name("PREFIX");
  command
      ->add_option("--page-size", state->pageSize,
                   "Functions fetched per request, 1-1000 (default 100); all pages are shown")
      ->type_name("N")
      ->check(wholeNumberValidator(1, 1000));
  command->footer(commandFooter("surgectl --namespace shop function list --prefix order-"));
  setAction(*command, context, state, &runList);
}

// ---- versions ----

struct VersionsState {
  std::string name;
};

int runVersions(Context& context, const VersionsState& state) {
  if (auto status = common::validateName("function name", state.name); !status.ok()) {
    return context.usageError(status);
  }
  v1::ListCodeVersionsRequest request;
  request.set_namespace_(context.options().ns);
  request.set_name(state.name);
  auto stub = newStub(context);
  v1::ListCodeVersionsResponse response;
  auto call = context.newCall();
  if (auto status = stub->ListCodeVersions(call.get(), request, &response); !status.ok()) {
    return context.rpcError(status);
  }
  return context.print(response, [&](std::ostream& out) {
    if (response.versions().empty()) {
      context.err() << "function " << displayName(context, state.name) << " has no code versions\n";
      return;
    }
    Table table({"VERSION", "ACTIVE", "SHA256", "SIZE", "UNPACKED", "FILES", "UPLOADED"});
    for (const v1::CodeVersion& version : response.versions()) {
      table.addRow({absl::StrCat(version.version()), version.active() ? "*" : "", shortSha(version.sha256()),
                    formatBytes(version.size_bytes()), formatBytes(version.unpacked_bytes()),
                    absl::StrCat(version.file_count()), formatTimestamp(version.upload_time())});
    }
    table.print(out);
  });
}

void addVersionsCommand(CLI::App& group, Context& context) {
  CLI::App* command = group.add_subcommand("versions", "List a function's retained code versions, newest first");
  auto state = std::make_shared<VersionsState>();
  addNameArgument(*command, state->name);
  command->footer(commandFooter("surgectl function versions hello"));
  setAction(*command, context, state, &runVersions);
}

// ---- rollback ----

struct RollbackState {
  std::string name;
  int64_t version = 0;
  int64_t revision = 0;
};

int runRollback(Context& context, const RollbackState& state) {
  if (auto status = common::validateName("function name", state.name); !status.ok()) {
    return context.usageError(status);
  }
  v1::SetActiveVersionRequest request;
  request.set_namespace_(context.options().ns);
  request.set_name(state.name);
  request.set_version(state.version);
  request.set_expected_revision(state.revision);
  auto stub = newStub(context);
  v1::Function function;
  auto call = context.newCall();
  if (auto status = stub->SetActiveVersion(call.get(), request, &function); !status.ok()) {
    return context.rpcError(status);
  }
  return context.print(function, [&](std::ostream& out) {
    out << "active version of function " << displayName(context, state.name) << " is now " << function.active_version()
        << " (revision " << function.revision() << ")\n";
  });
}

void addRollbackCommand(CLI::App& group, Context& context) {
  CLI::App* command =
      group.add_subcommand("rollback", "Make a retained code version the active one (see 'function versions')");
  auto state = std::make_shared<RollbackState>();
  addNameArgument(*command, state->name);
  command->add_option("--version", state->version, "The code version to activate")
      ->type_name("N")
      ->required()
      ->check(wholeNumberValidator(1, INT64_MAX));
  addRevisionFlag(*command, state->revision);
  command->footer(commandFooter("surgectl function rollback hello --version 3"));
  setAction(*command, context, state, &runRollback);
}

// ---- delete ----

struct DeleteState {
  std::string name;
  int64_t revision = 0;
};

int runDelete(Context& context, const DeleteState& state) {
  if (auto status = common::validateName("function name", state.name); !status.ok()) {
    return context.usageError(status);
  }
  v1::DeleteFunctionRequest request;
  request.set_namespace_(context.options().ns);
  request.set_name(state.name);
  request.set_expected_revision(state.revision);
  auto stub = newStub(context);
  google::protobuf::Empty empty;
  auto call = context.newCall();
  if (auto status = stub->DeleteFunction(call.get(), request, &empty); !status.ok()) {
    return context.rpcError(status);
  }
  return context.print(
      empty, [&](std::ostream& out) { out << "deleted function " << displayName(context, state.name) << '\n'; });
}

void addDeleteCommand(CLI::App& group, Context& context) {
  CLI::App* command = group.add_subcommand("delete", "Delete a function with all its code versions");
  auto state = std::make_shared<DeleteState>();
  addNameArgument(*command, state->name);
  addRevisionFlag(*command, state->revision);
  command->footer(commandFooter("surgectl function delete hello"));
  setAction(*command, context, state, &runDelete);
}

} // namespace

void registerFunctionCommands(CLI::App& app, Context& context) {
  CLI::App* group = app.add_subcommand("function", "Manage functions and their code");
  group->require_subcommand(1);
  group->footer("Run 'surgectl function COMMAND --help' for a command's flags and examples.");
  addCreateCommand(*group, context);
  addUpdateCommand(*group, context);
  addDeployCommand(*group, context);
  addGetCommand(*group, context);
  addListCommand(*group, context);
  addVersionsCommand(*group, context);
  addRollbackCommand(*group, context);
  addDeleteCommand(*group, context);
}

} // namespace surge::cli
