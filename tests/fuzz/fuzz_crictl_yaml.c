/* fuzz_crictl_yaml: libFuzzer target for critic's crictl.yaml reader
 * (ep_parse_crictl_yaml_buf): no crash, no leak, and only sane results. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ep_config cfg;
	memset(&cfg, 0, sizeof cfg);
	crit_err e;
	err_clear(&e);
	int rc = ep_parse_crictl_yaml_buf(&cfg, "fuzz.yaml", (const char *)data, size, &e);
	if (rc == 0) {
		/* Whatever was accepted is a canonical unix endpoint and a
		 * bounded timeout. */
		if (cfg.runtime[0] && strncmp(cfg.runtime, "unix:///", 8))
			abort();
		if (cfg.image[0] && strncmp(cfg.image, "unix:///", 8))
			abort();
		if (cfg.timeout_ms < 0 || cfg.timeout_ms > 86400 * 1000)
			abort();
	} else {
		/* A failure always says where ("fuzz.yaml:LINE:COL: ..."). */
		if (rc > 0 || strncmp(e.msg, "fuzz.yaml:", 10))
			abort();
	}
	return 0;
}
