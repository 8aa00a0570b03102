// log_store: implemented on the logs branch.
#include "logs/log_store.h"
