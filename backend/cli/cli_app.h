// surgectl's entry point as a library: parses the command line, runs the chosen command and
// returns the process exit code, so that tests can drive the whole client in-process.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace surge::cli {

// Runs surgectl with `args` (without the program name), printing results to `out` and errors
// to `err`. Returns kExitOk (0), kExitRpcError (1) or kExitUsage (2); see context.h. Bad
// input never throws: parse errors become kExitUsage.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// As above with main()'s arguments, std::cout and std::cerr.
int run(int argc, char** argv);

} // namespace surge::cli
