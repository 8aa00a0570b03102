// Reads surged's TOML config file (toml++) into CLI11's config items, so that CLI11 applies
// the precedence: flags override the file, the file overrides the embedded defaults.
#pragma once

#include <CLI/CLI.hpp>

#include <set>
#include <string>

namespace surge::server {

class TomlConfig final : public CLI::Config {
public:
  // `knownKeys` are the long flag names without dashes, e.g. "data-dir".
  explicit TomlConfig(std::set<std::string> knownKeys) : knownKeys_(std::move(knownKeys)) {}

  std::string to_config(const CLI::App* app, bool defaultAlso, bool writeDescription,
                        std::string prefix) const override;
  // Throws CLI::ConfigError naming the line of a syntax error, an unknown key, or a table.
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

private:
  std::set<std::string> knownKeys_;
};

} // namespace surge::server
