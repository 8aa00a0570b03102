// log_pipeline: implemented on the logs branch.
#include "logs/log_pipeline.h"
