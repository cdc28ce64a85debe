/* profile: per-runtime facts (config files, how the running config is reported, reload and
 * restart), looked up by the Version reply's runtime_name. Facts, sources and lab findings inline. */
#include "profile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cri.h"
#include "util.h"

static const prof_runtime profiles[] = {
	{
		.kind = PROF_UNKNOWN,
		.name = "unknown",
		.config_path = NULL,
		.config_format = NULL,
		.running_config_how = "unknown for this runtime",
		.running_config_supported = false,
		.reloads_on_sighup = false,
		.sighup_note = "unknown runtime: critic sends it no SIGHUP",
		.systemd_unit = NULL,
		.restart_cmd = NULL,
		.note = "critic knows containerd and CRI-O; for another runtime give the config file "
			"(--config) and restart it with its own tools",
	},
	{
		.kind = PROF_CONTAINERD,
		.name = "containerd",
		.config_path = "/etc/containerd/config.toml",
		.config_dropins = NULL, /* `imports = [...]` inside the file instead */
		.config_format = "TOML",
		/* containerd's CRI plugin returns its whole config in Status with
		 * verbose = true: info["config"] is the JSON of its config struct. */
		.running_config_how = "CRI Status with verbose=true: info[\"config\"] is the CRI plugin's "
				      "config as JSON (containerd.runtimes, cni, sandboxImage, …)",
		.running_config_supported = true,
		/* containerd reads config.toml once at start and has no reload. Its
		 * signal handler takes SIGTERM, SIGINT, SIGUSR1 (stack dump) and
		 * SIGPIPE; SIGHUP is left to Go's default, which ends the process.
		 * Checked on critic's lab (containerd 1.6.20, tests/test_config_lab.c):
		 * it is gone in 10-30 ms, leaves its socket file behind (connect:
		 * ECONNREFUSED), logs nothing; a pod started before is READY again
		 * after the restart. */
		.reloads_on_sighup = false,
		.sighup_note = "containerd has no config reload: SIGHUP is not handled and Go's default "
			       "ends the process (containerd 1.6.20 on critic's lab: gone within ~30 ms, its "
			       "socket file left behind refusing connections, nothing logged; running pods "
			       "survive in their shims); under Debian's unit (Restart=always, RestartSec=5) "
			       "systemd starts it again 5 s later: a crash, not a reload",
		.systemd_unit = "containerd.service",
		.restart_cmd = "systemctl restart containerd",
		.note = "config.toml is read once at start: a change (a new runtime handler) takes effect "
			"only after a restart; running containers survive it (their shims keep them)",
	},
	{
		.kind = PROF_CRIO,
		.name = "cri-o",
		.config_path = "/etc/crio/crio.conf",
		.config_dropins = "/etc/crio/crio.conf.d",
		.config_format = "TOML",
		/* `crio status config` prints it, asking the info socket
		 * (GET /config on /var/run/crio/crio.sock). */
		.running_config_how = "`crio status config` (GET /config on its info socket "
				      "/var/run/crio/crio.sock): not supported here",
		.running_config_supported = false,
		/* crio.conf(5): options marked "This option supports live
		 * configuration reload" (log level, pause image, registries,
		 * seccomp and AppArmor profiles, decryption keys and, in newer
		 * versions, runtime handlers) are reloaded on SIGHUP. */
		.reloads_on_sighup = true,
		.sighup_note = "CRI-O reloads the options crio.conf(5) marks as supporting live "
			       "configuration reload (log_level, pause_image, registries, seccomp/AppArmor "
			       "profiles, …) on SIGHUP; everything else needs a restart",
		.systemd_unit = "crio.service",
		.restart_cmd = "systemctl restart crio",
		.note = "drop-in files in /etc/crio/crio.conf.d override crio.conf in lexical order",
	},
};

const prof_runtime *prof_get(prof_kind kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(profiles); i++)
		if (profiles[i].kind == kind)
			return &profiles[i];
	return &profiles[0];
}

const prof_runtime *prof_lookup(const char *runtime_name)
{
	if (!runtime_name)
		return prof_get(PROF_UNKNOWN);
	if (!strcasecmp(runtime_name, "containerd"))
		return prof_get(PROF_CONTAINERD);
	if (!strcasecmp(runtime_name, "cri-o") || !strcasecmp(runtime_name, "crio"))
		return prof_get(PROF_CRIO);
	return prof_get(PROF_UNKNOWN);
}

const prof_runtime *prof_from_socket(const char *path)
{
	const char *base = path ? strrchr(path, '/') : NULL;
	base = base ? base + 1 : path ? path : "";
	if (strstr(base, "containerd"))
		return prof_get(PROF_CONTAINERD);
	if (strstr(base, "crio"))
		return prof_get(PROF_CRIO);
	return prof_get(PROF_UNKNOWN);
}

int prof_running_config(const prof_runtime *p, cri_conn *c, int timeout_ms, char **json, crit_err *e)
{
	*json = NULL;
	if (!p || p->kind != PROF_CONTAINERD)
		return err_set(e, -ENOTSUP, "running config of %s: %s", p ? p->name : "(no profile)",
			       p ? p->running_config_how : "unknown");
	Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
	req.verbose = 1;
	Runtime__V1__StatusResponse *resp = NULL;
	int rc = CRI_CALL_T(c, Status, &req, &resp, timeout_ms, e);
	if (rc < 0)
		return err_wrap(e, "running config");
	for (size_t i = 0; i < resp->n_info; i++) {
		if (resp->info[i]->key && !strcmp(resp->info[i]->key, "config")) {
			*json = strdup(resp->info[i]->value ? resp->info[i]->value : "");
			cri_free(resp);
			return *json ? 0 : err_set(e, -ENOMEM, "out of memory");
		}
	}
	cri_free(resp);
	return err_set(e, -ENOENT, "running config: %s's verbose Status has no \"config\" entry", cri_endpoint(c));
}

int prof_may_sighup_reload(const prof_runtime *p, crit_err *e)
{
	if (p && p->reloads_on_sighup)
		return 0;
	return err_set(e, -EPERM, "%s: SIGHUP is no reload: %s; restart it instead%s%s%s",
		       p ? p->name : "unknown runtime", p ? p->sighup_note : "unknown",
		       p && p->restart_cmd ? " (`" : "", p && p->restart_cmd ? p->restart_cmd : "",
		       p && p->restart_cmd ? "`)" : "");
}
