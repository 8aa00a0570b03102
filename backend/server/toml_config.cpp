// surged's TOML config file, parsed by toml++.
#include "server/toml_config.h"

#include <toml++/toml.h>

#include <iterator>
#include <sstream>

namespace surge::server {
namespace {

std::string scalarToString(const toml::node& node, const std::string& key) {
  if (auto s = node.value<std::string>(); s && node.is_string()) return *s;
  if (node.is_integer()) return std::to_string(*node.value<int64_t>());
  if (node.is_floating_point()) {
    std::ostringstream out;
    out << *node.value<double>();
    return out.str();
  }
  if (node.is_boolean()) return *node.value<bool>() ? "true" : "false";
  throw CLI::ConfigError("config key '" + key + "' must be a string, number or boolean");
}

} // namespace

std::string TomlConfig::to_config(const CLI::App* app, bool, bool, std::string) const {
  std::ostringstream out;
  for (const CLI::Option* option : app->get_options()) {
    if (option->get_lnames().empty() || !option->get_configurable()) continue;
    const std::string& name = option->get_lnames().front();
    if (option->count() > 0) out << name << " = \"" << option->as<std::string>() << "\"\n";
  }
  return out.str();
}

std::vector<CLI::ConfigItem> TomlConfig::from_config(std::istream& input) const {
  const std::string text{std::istreambuf_iterator<char>(input), std::istreambuf_iterator<char>()};
  toml::table table;
  try {
    table = toml::parse(text);
  } catch (const toml::parse_error& e) {
    std::ostringstream message;
    message << "config file is not valid TOML at line " << e.source().begin.line << ", column "
            << e.source().begin.column << ": " << e.description();
    throw CLI::ConfigError(message.str());
  }
  std::vector<CLI::ConfigItem> items;
  for (const auto& [rawKey, node] : table) {
    const std::string key(rawKey.str());
    if (!knownKeys_.contains(key)) {
      std::string known;
      for (const auto& k : knownKeys_) known += (known.empty() ? "" : ", ") + k;
      throw CLI::ConfigError("unknown key '" + key + "' in config file; known keys: " + known);
    }
    CLI::ConfigItem item;
    item.name = key;
    if (const toml::array* array = node.as_array()) {
      for (const toml::node& element : *array) item.inputs.push_back(scalarToString(element, key));
    } else if (node.is_table()) {
      throw CLI::ConfigError("config key '" + key + "' must be a value, not a table");
    } else {
      item.inputs.push_back(scalarToString(node, key));
    }
    items.push_back(std::move(item));
  }
  return items;
}

} // namespace surge::server
