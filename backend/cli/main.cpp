// surgectl, the command-line client of Surge; everything but this file lives in surge_cli.
#include "cli/cli_app.h"

int main(int argc, char** argv) { return surge::cli::run(argc, argv); }
