/* sonobuoy: hand critic's results to Sonobuoy the way its plugins do — a results
 * tarball in the plugin's results dir and a `done` file naming it. */
#ifndef CRITIC_SONOBUOY_H
#define CRITIC_SONOBUOY_H

#include <stddef.h>

#include "err.h"

/* The results dir Sonobuoy gives a plugin when --sonobuoy-results is "-". */
#define SONOBUOY_DEFAULT_DIR "/tmp/sonobuoy/results"

/* Pack the report files that exist among files[] into
 * DIR/critic-results.tar.gz and write DIR/done with its path (Sonobuoy's
 * worker waits for that file). When no report exists (the run ended before
 * its first test), write DIR/critic-junit.xml with one failing test case
 * carrying why (run_rc, error) and hand that over instead, so the
 * aggregator never waits for a plugin that will not report. */
int sonobuoy_finish(const char *dir, const char *const files[], size_t n, int run_rc, const char *error,
		    crit_err *e);

#endif
