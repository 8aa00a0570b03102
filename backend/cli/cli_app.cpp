// The surgectl command tree: global flags, the command groups, parsing and dispatch.
#include "cli/cli_app.h"

#include <cstdlib>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "cli/api_key.h"
#include "cli/audit_commands.h"
#include "cli/context.h"
#include "cli/cost_commands.h"
#include "cli/function_commands.h"
#include "cli/invoke_command.h"
#include "cli/key_commands.h"
#include "cli/log_commands.h"
#include "cli/metrics_commands.h"
#include "cli/scaling_commands.h"
#include "common/names.h"

namespace surge::cli {
namespace {

constexpr const char* kFooter = R"(API key: every call carries the first key found in
  --key, SURGE_API_KEY, --key-file, $SURGE_DATA_DIR/admin.key
SURGE_DATA_DIR defaults to ./surge-data, where surged started without --data-dir leaves
its admin key, so on surged's machine no key flag is needed.

Environment:
  SURGE_SERVER     default for --server
  SURGE_NAMESPACE  default for --namespace
  SURGE_API_KEY    the API key, tried after --key
  SURGE_DATA_DIR   surged's data dir, whose admin.key is the last key tried
  SURGE_TLS_CA, SURGE_TLS_CERT, SURGE_TLS_KEY  defaults for --tls-ca, --tls-cert, --tls-key

Exit codes:
  0  success
  1  the server refused the request (UNAUTHENTICATED, PERMISSION_DENIED, ...) or could not be
     reached
  2  usage error: bad flags or arguments, or a local input such as --code or --key-file is wrong

Global flags may come before or after the command, e.g.
  surgectl --namespace shop function list
  surgectl function get hello -o json
Run 'surgectl COMMAND --help' for a command's flags.)";

// The deepest command the parser got to, e.g. "function create", and its full name.
struct ParsedCommand {
  const CLI::App* app;
  std::string path;
};

ParsedCommand deepestCommand(const CLI::App& app) {
  ParsedCommand command{&app, app.get_name()};
  for (;;) {
    const auto parsed = command.app->get_subcommands();
    if (parsed.empty()) return command;
    command.app = parsed.front();
    command.path += " " + command.app->get_name();
  }
}

// CLI11 says "A subcommand is required" both when none is given and when an unknown one is;
// naming the commands there are helps in both cases.
std::string describeParseError(const CLI::ParseError& error, const ParsedCommand& command) {
  const auto children = command.app->get_subcommands([](const CLI::App*) { return true; });
  if (dynamic_cast<const CLI::RequiredError*>(&error) != nullptr && !children.empty()) {
    std::string names;
    for (const CLI::App* child : children) {
      if (!names.empty()) names += ", ";
      names += child->get_name();
    }
    return "'" + command.path + "' needs a command: " + names;
  }
  return error.what();
}

struct GlobalFlags {
  std::string output = "table";
  std::string key;
  std::string keyFile;
  CLI::Option* keyOption = nullptr;
  CLI::Option* keyFileOption = nullptr;
};

void addGlobalFlags(CLI::App& app, Context& context, GlobalFlags& flags) {
  GlobalOptions& options = context.options();
  app.add_option("--server", options.server, "Address of surged")
      ->envname("SURGE_SERVER")
      ->type_name("HOST:PORT")
      ->capture_default_str();
  app.add_option("-n,--namespace", options.ns, "Namespace of the functions")
      ->envname("SURGE_NAMESPACE")
      ->type_name("NS")
      ->capture_default_str();
  app.add_option("-o,--output", flags.output,
                 "table for people, json for scripts (protobuf's JSON mapping; lists merge all "
                 "pages into one object, except that metrics, top, logs and invocations print one "
                 "object per line)")
      ->type_name("table|json")
      ->check(CLI::IsMember({"table", "json"}).description(""))
      ->capture_default_str();

  // No envname: SURGE_API_KEY is read in applyGlobalFlags(), since it ranks between the two flags.
  flags.keyOption = app.add_option("--key", flags.key,
                                   "API key surge_<id>_<secret>; beware that other users can see it in the process "
                                   "list, so prefer SURGE_API_KEY or --key-file")
                        ->type_name("TOKEN");
  flags.keyFileOption =
      app.add_option("--key-file", flags.keyFile, "File holding the API key (trailing whitespace is ignored)")
          ->type_name("PATH")
          ->excludes(flags.keyOption);
  app.add_option("--tls-ca", options.tls.caPath, "PEM root certificates that sign surged's certificate; turns on TLS")
      ->envname("SURGE_TLS_CA")
      ->type_name("PATH");
  app.add_option("--tls-cert", options.tls.certPath, "PEM client certificate for mutual TLS; needs --tls-key")
      ->envname("SURGE_TLS_CERT")
      ->type_name("PATH");
  app.add_option("--tls-key", options.tls.keyPath, "PEM private key of --tls-cert, unencrypted")
      ->envname("SURGE_TLS_KEY")
      ->type_name("PATH");
  app.add_option("--tls-server-name", options.tls.serverName,
                 "Name to expect in surged's certificate instead of the host of --server, e.g. when connecting "
                 "by IP address")
      ->type_name("NAME");
}

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// Checks the global flags, which CLI11 cannot check alone since env vars fill them too.
int applyGlobalFlags(Context& context, const GlobalFlags& flags) {
  GlobalOptions& options = context.options();
  options.output = flags.output == "json" ? OutputFormat::kJson : OutputFormat::kTable;
  if (options.server.empty()) {
    return context.usageError("--server (or SURGE_SERVER) is empty; give HOST:PORT");
  }
  if (auto status = common::validateName("namespace", options.ns); !status.ok()) {
    return context.usageError(status);
  }
  auto tls = loadTlsCredentials(options.tls);
  if (!tls.ok()) return context.usageError(tls.status());

  KeySources sources;
  if (flags.keyOption->count() > 0) sources.flag = flags.key;
  sources.env = environment("SURGE_API_KEY");
  if (flags.keyFileOption->count() > 0) sources.file = flags.keyFile;
  sources.dataDir = environment("SURGE_DATA_DIR");
  auto key = resolveApiKey(sources);
  if (!key.ok()) return context.usageError(key.status());
  context.setCredentials(*std::move(key), *std::move(tls));
  return kExitOk;
}

} // namespace

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Context context(out, err);
  CLI::App app("surgectl: manage the functions, API keys and audit trail of a Surge server, and watch its metrics "
               "and logs.",
               "surgectl");
  // Global flags also work after the command, e.g. "surgectl function list -o json".
  app.fallthrough();
  app.require_subcommand(1);
  app.set_version_flag("--version", "surgectl " SURGE_VERSION_STRING);
  app.footer(kFooter);
  GlobalFlags flags;
  addGlobalFlags(app, context, flags);
  registerFunctionCommands(app, context);
  registerKeyCommands(app, context);
  registerAuditCommands(app, context);
  registerInvokeCommand(app, context);
  registerScalingCommands(app, context);
  registerCostCommands(app, context);
  registerMetricsCommands(app, context);
  registerLogCommands(app, context);

  try {
    // CLI11 consumes the arguments from the back.
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::ParseError& error) {
    // --help and --version arrive as "errors" with exit code 0.
    if (error.get_exit_code() == 0) return app.exit(error, out, err);
    const ParsedCommand command = deepestCommand(app);
    err << "error: " << describeParseError(error, command) << "\nRun '" << command.path << " --help' for usage.\n";
    return kExitUsage;
  }
  if (int code = applyGlobalFlags(context, flags); code != kExitOk) return code;
  // require_subcommand() on every group means a successful parse always chose a command.
  if (!context.action()) {
    err << app.help();
    return kExitUsage;
  }
  return context.action()();
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return run(args, std::cout, std::cerr);
}

} // namespace surge::cli
