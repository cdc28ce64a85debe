/* doctor: one line per node health fact for a CRI endpoint (OK, WARN, FAIL), from the socket
 * and CRI replies, the runtime's profile, its config file against what it runs with, and CNI. */
#include "doctor.h"
#include "probe.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cri.h"
#include "endpoint.h"
#include "fault/config.h"
#include "lab.h"
#include "profile.h"
#include "rtctl.h"
#include "tst.h"
#include "util.h"

/* ------------------------------------------------------------ report */

const char *doctor_level_name(doctor_level l)
{
	switch (l) {
	case DOCTOR_OK: return "OK";
	case DOCTOR_WARN: return "WARN";
	default: return "FAIL";
	}
}

static void fact(doctor_report *r, doctor_level level, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void fact(doctor_report *r, doctor_level level, const char *name, const char *fmt, ...)
{
	doctor_fact *nf = realloc(r->facts, (r->n + 1) * sizeof *nf);
	if (!nf)
		abort();
	r->facts = nf;
	doctor_fact *f = &r->facts[r->n++];
	memset(f, 0, sizeof *f);
	f->level = level;
	snprintf(f->name, sizeof f->name, "%s", name);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof f->text, fmt, ap);
	va_end(ap);
	if (level == DOCTOR_FAIL)
		r->n_fail++;
	else if (level == DOCTOR_WARN)
		r->n_warn++;
}

const doctor_fact *doctor_find(const doctor_report *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->facts[i].name, name))
			return &r->facts[i];
	return NULL;
}

void doctor_report_free(doctor_report *r)
{
	free(r->facts);
	memset(r, 0, sizeof *r);
}

int doctor_exit_code(const doctor_report *r)
{
	if (r->unreachable)
		return 3;
	return r->n_fail ? 1 : 0;
}

void doctor_print(const doctor_report *r, FILE *f, bool color)
{
	for (size_t i = 0; i < r->n; i++) {
		const doctor_fact *x = &r->facts[i];
		const char *c = !color ? "" : x->level == DOCTOR_OK ? "\033[32m" : x->level == DOCTOR_WARN ? "\033[33m" : "\033[31m";
		fprintf(f, "%s%-4s%s  %-14s %s\n", c, doctor_level_name(x->level), color ? "\033[0m" : "", x->name,
			x->text);
	}
	fprintf(f, "%zu facts: %zu OK, %d WARN, %d FAIL%s\n", r->n, r->n - (size_t)r->n_warn - (size_t)r->n_fail,
		r->n_warn, r->n_fail, r->unreachable ? " (runtime unreachable)" : "");
}

/* ------------------------------------------------------------ checks */

static bool has_name(char **list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], name))
			return true;
	return false;
}

/* Run a sandbox with the handler in the node's network namespace (no CNI
 * needed), then stop and remove it. */
static int probe_handler(cri_conn *c, const char *handler, int timeout_ms, crit_err *e)
{
	char id[128];
	int rc = probe_sandbox_run(c, "critic-doctor-probe", "doctor-probe", handler, timeout_ms, id, sizeof id, e);
	if (rc < 0)
		return rc;
	Runtime__V1__StopPodSandboxRequest sreq = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__StopPodSandboxResponse *sresp = NULL;
	sreq.pod_sandbox_id = id;
	crit_err se;
	err_clear(&se);
	CRI_CALL_T(c, StopPodSandbox, &sreq, &sresp, timeout_ms, &se);
	cri_free(sresp);
	Runtime__V1__RemovePodSandboxRequest dreq = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RemovePodSandboxResponse *dresp = NULL;
	dreq.pod_sandbox_id = id;
	rc = CRI_CALL_T(c, RemovePodSandbox, &dreq, &dresp, timeout_ms, e);
	cri_free(dresp);
	if (rc < 0)
		return err_wrap(e, "sandbox %.13s ran, but removing it failed", id);
	return 0;
}

/* The CNI config the runtime would load: the first *.conf, *.conflist or
 * *.json of dir in lexical order (libcni's order); its plugin binaries
 * must be in one of bin_dirs (':'-separated). */
static void check_cni(doctor_report *r, const char *dir, const char *bin_dirs, const char *from)
{
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0) {
		fact(r, DOCTOR_FAIL, "cni", "conf dir %s (%s): %s: pods cannot get a network", dir, from,
		     strerror(errno));
		return;
	}
	char first[512] = "";
	int count = 0;
	for (int i = 0; i < n; i++) {
		const char *nm = ents[i]->d_name;
		size_t l = strlen(nm);
		bool ok = (l > 5 && !strcmp(nm + l - 5, ".conf")) || (l > 9 && !strcmp(nm + l - 9, ".conflist")) ||
			  (l > 5 && !strcmp(nm + l - 5, ".json"));
		if (ok && !first[0])
			snprintf(first, sizeof first, "%s", nm);
		count += ok;
		free(ents[i]);
	}
	free(ents);
	if (!count) {
		fact(r, DOCTOR_FAIL, "cni", "no CNI config (*.conf, *.conflist, *.json) in %s (%s): the runtime "
		     "reports NetworkReady false and pods cannot get a network", dir, from);
		return;
	}
	cleanup_free char *path = util_strdup_printf("%s/%s", dir, first);
	json_object *j = json_object_from_file(path);
	if (!j) {
		fact(r, DOCTOR_FAIL, "cni", "%s: not valid JSON (%s)", path, json_util_get_last_err());
		return;
	}
	json_object *name = NULL, *plugins = NULL, *type = NULL;
	json_object_object_get_ex(j, "name", &name);
	strbuf types = { 0 }, missing = { 0 };
	sb_append(&types, "", 0);
	sb_append(&missing, "", 0);
	size_t np = 0;
	if (!json_object_object_get_ex(j, "plugins", &plugins) || !json_object_is_type(plugins, json_type_array))
		plugins = NULL;
	if (plugins)
		np = json_object_array_length(plugins);
	else if (json_object_object_get_ex(j, "type", &type))
		np = 1;
	for (size_t i = 0; i < np; i++) {
		json_object *p = plugins ? json_object_array_get_idx(plugins, i) : j; /* a .conf: one plugin */
		json_object *t = NULL;
		if (!p || !json_object_object_get_ex(p, "type", &t))
			continue;
		const char *ty = json_object_get_string(t);
		sb_printf(&types, "%s%s", types.len ? ", " : "", ty);
		bool found = false;
		cleanup_free char *dirs = strdup(bin_dirs ? bin_dirs : "");
		char *save = NULL;
		for (char *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
			cleanup_free char *b = util_strdup_printf("%s/%s", d, ty);
			found = access(b, X_OK) == 0;
		}
		if (!found)
			sb_printf(&missing, "%s%s", missing.len ? ", " : "", ty);
	}
	if (!np)
		fact(r, DOCTOR_FAIL, "cni", "%s: no plugins in it", path);
	else if (missing.len)
		fact(r, DOCTOR_FAIL, "cni", "%s (network %s): plugin%s %s not found in %s", path,
		     name ? json_object_get_string(name) : "?", strchr(missing.buf, ',') ? "s" : "", missing.buf,
		     bin_dirs);
	else
		fact(r, DOCTOR_OK, "cni", "%s (network %s: %s; %d config file%s in %s, %s; plugins in %s)", path,
		     name ? json_object_get_string(name) : "?", types.buf, count, count == 1 ? "" : "s", dir, from,
		     bin_dirs);
	sb_free(&types);
	sb_free(&missing);
	json_object_put(j);
}

/* The value of --config/-c on the process's command line ("" when none). */
static void config_from_cmdline(pid_t pid, char *out, size_t len)
{
	out[0] = '\0';
	char path[64], buf[8192];
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f)
		return;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	for (const char *a = buf; a < buf + n; a += strlen(a) + 1) {
		const char *next = a + strlen(a) + 1;
		if ((!strcmp(a, "--config") || !strcmp(a, "-c")) && next < buf + n) {
			snprintf(out, len, "%s", next);
			return;
		}
		if (util_has_prefix(a, "--config=")) {
			snprintf(out, len, "%s", a + 9);
			return;
		}
	}
}

/* A JSON string at a dotted path of obj, or NULL. */
static const char *jstr(json_object *obj, const char *a, const char *b)
{
	json_object *x = NULL, *y = NULL;
	if (!obj || !json_object_object_get_ex(obj, a, &x) || !json_object_object_get_ex(x, b, &y) ||
	    !json_object_is_type(y, json_type_string))
		return NULL;
	return json_object_get_string(y);
}

static void check_status(doctor_report *r, cri_conn *c, int tmo)
{
	Runtime__V1__StatusRequest sreq = RUNTIME__V1__STATUS_REQUEST__INIT;
	Runtime__V1__StatusResponse *s = NULL;
	crit_err e;
	err_clear(&e);
	if (CRI_CALL_T(c, Status, &sreq, &s, tmo, &e) < 0) {
		fact(r, DOCTOR_FAIL, "status", "Status: %s", e.msg);
		return;
	}
	strbuf bad = { 0 }, all = { 0 };
	sb_append(&bad, "", 0);
	sb_append(&all, "", 0);
	bool runtime_ready = false, network_ready = false;
	for (size_t i = 0; s->status && i < s->status->n_conditions; i++) {
		Runtime__V1__RuntimeCondition *cd = s->status->conditions[i];
		sb_printf(&all, "%s%s=%s", all.len ? " " : "", cd->type, cd->status ? "true" : "false");
		if (!strcmp(cd->type, "RuntimeReady"))
			runtime_ready = cd->status;
		if (!strcmp(cd->type, "NetworkReady"))
			network_ready = cd->status;
		if (!cd->status)
			sb_printf(&bad, "%s%s false (%s%s%s)", bad.len ? "; " : "", cd->type, cd->reason,
				  *cd->message ? ": " : "", cd->message);
	}
	cri_free(s);
	if (!runtime_ready || !network_ready)
		fact(r, DOCTOR_FAIL, "status", "%s%s%s: the kubelet would mark the node NotReady", all.buf,
		     bad.len ? "; " : "", bad.len ? bad.buf : "RuntimeReady or NetworkReady not reported");
	else
		fact(r, DOCTOR_OK, "status", "%s", all.buf);
	sb_free(&bad);
	sb_free(&all);
}

int doctor_run(const doctor_opts *o, doctor_report *r, crit_err *e)
{
	memset(r, 0, sizeof *r);
	if (!o || !o->endpoint || !*o->endpoint)
		return err_set(e, -EINVAL, "doctor: no endpoint");
	char ep[EP_MAX], sock[EP_MAX];
	int rc = ep_parse(o->endpoint, ep, sizeof ep, sock, sizeof sock, e);
	if (rc < 0)
		return rc;
	int tmo = o->timeout_ms > 0 ? o->timeout_ms : CRI_DEFAULT_TIMEOUT_MS;

	/* Is it critic's lab? Then its config is DIR/config.toml. */
	lab_info lab;
	bool is_lab = false;
	const char *ldir = o->lab_dir && *o->lab_dir ? o->lab_dir : lab_default_dir();
	if (lab_status(ldir, &lab, NULL) >= 0 && !strcmp(lab.endpoint, ep))
		is_lab = true;

	/* The socket and the first answer. */
	struct stat st;
	if (lstat(sock, &st) < 0) {
		fact(r, DOCTOR_FAIL, "socket", "%s: %s", sock, strerror(errno));
		r->unreachable = true;
	} else if (!S_ISSOCK(st.st_mode)) {
		fact(r, DOCTOR_FAIL, "socket", "%s is not a socket", sock);
		r->unreachable = true;
	}
	cri_conn *c = NULL;
	const prof_runtime *prof = is_lab ? prof_get(PROF_CONTAINERD) : prof_get(PROF_UNKNOWN);
	if (!r->unreachable) {
		crit_err ce;
		err_clear(&ce);
		Runtime__V1__VersionRequest vreq = RUNTIME__V1__VERSION_REQUEST__INIT;
		Runtime__V1__VersionResponse *v = NULL;
		int64_t t0 = util_now_ms();
		if (cri_connect(&c, ep, NULL, tmo, &ce) < 0 || CRI_CALL_T(c, Version, &vreq, &v, tmo, &ce) < 0) {
			fact(r, DOCTOR_FAIL, "socket", "%s is there but the runtime does not answer: %s", sock, ce.msg);
			r->unreachable = true;
		} else {
			fact(r, DOCTOR_OK, "socket", "%s answers (Version in %lld ms)", sock,
			     (long long)(util_now_ms() - t0));
			snprintf(r->runtime, sizeof r->runtime, "%s %s", v->runtime_name, v->runtime_version);
			fact(r, DOCTOR_OK, "version", "%s %s, CRI %s", v->runtime_name, v->runtime_version,
			     v->runtime_api_version);
			prof = prof_lookup(v->runtime_name);
			cri_free(v);
		}
	}
	if (!r->unreachable)
		check_status(r, c, tmo);
	bool guessed = false;
	if (r->unreachable && !is_lab) {
		prof = prof_from_socket(sock);
		guessed = prof->kind != PROF_UNKNOWN;
	}

	/* Profile. */
	if (prof->kind == PROF_UNKNOWN)
		fact(r, DOCTOR_WARN, "profile", "runtime %s is not one critic knows: %s",
		     r->runtime[0] ? r->runtime : "(no answer)", prof->note);
	else if (is_lab)
		fact(r, DOCTOR_OK, "profile", "%s of critic's lab in %s (restart: `critic --dir %s lab up` after a stop; "
		     "SIGHUP is no reload)", prof->name, lab.dir, lab.dir);
	else
		fact(r, guessed ? DOCTOR_WARN : DOCTOR_OK, "profile", "%s%s: config %s%s%s, restart with `%s`; %s",
		     prof->name, guessed ? " (guessed from the socket's name)" : "", prof->config_path,
		     prof->config_dropins ? " + " : "", prof->config_dropins ? prof->config_dropins : "",
		     prof->restart_cmd, prof->reloads_on_sighup ? "reloads some options on SIGHUP" : "no reload on SIGHUP");

	/* The runtime's process: its start time for drift, its command line
	 * for the config file it was started with. */
	pid_t pid = o->runtime_pid;
	if (pid <= 0) {
		rtctl *rt = NULL;
		crit_err pe;
		int orc = is_lab ? rtctl_from_lab(&rt, lab.dir, &pe) : rtctl_external(&rt, ep, 0, NULL, NULL, NULL, &pe);
		if (orc == 0)
			pid = rtctl_pid(rt, &pe);
		rtctl_free(rt);
	}
	char from_cmdline[PATH_MAX] = "";
	if (pid > 0)
		config_from_cmdline(pid, from_cmdline, sizeof from_cmdline);

	/* The config file: --config, the lab's, the one on the runtime's
	 * command line, the profile's usual path. */
	const char *cfg = o->config_path && *o->config_path ? o->config_path
			  : is_lab                                ? lab.config
			  : from_cmdline[0]                       ? from_cmdline
								  : prof->config_path;
	const char *cfg_why = o->config_path && *o->config_path ? "given"
			      : is_lab                                ? "the lab's"
			      : from_cmdline[0]                       ? "from the runtime's command line"
								      : "the runtime's usual path";
	snprintf(r->config, sizeof r->config, "%s", cfg ? cfg : "");
	fault_cfg_doc *doc = NULL;
	if (!cfg) {
		fact(r, DOCTOR_WARN, "config", "no config file known for this runtime (give --config FILE)");
	} else if (!util_exists(cfg)) {
		fact(r, DOCTOR_WARN, "config", "%s (%s) does not exist: the runtime runs on its built-in defaults", cfg,
		     cfg_why);
	} else {
		crit_err pe;
		err_clear(&pe);
		if (fault_cfg_load(cfg, &doc, &pe) < 0) {
			fact(r, DOCTOR_FAIL, "config", "%s", pe.msg);
		} else {
			const char *names[32];
			size_t nh = fault_cfg_handlers(doc, names, ARRAY_SIZE(names));
			strbuf hs = { 0 };
			sb_append(&hs, "", 0);
			for (size_t i = 0; i < nh; i++)
				sb_printf(&hs, "%s%s", i ? ", " : "", names[i]);
			fact(r, DOCTOR_OK, "config", "%s (%s): TOML, version %d, %zu handler%s%s%s", cfg, cfg_why,
			     fault_cfg_version(doc), nh, nh == 1 ? "" : "s", nh ? ": " : "", hs.buf);
			sb_free(&hs);
		}
		char first[PATH_MAX];
		int nb = fault_cfg_find_backups(cfg, first, sizeof first);
		if (nb > 0)
			fact(r, DOCTOR_WARN, "backup", "%d critic backup%s beside %s (%s): a patch not restored; "
			     "restore with: mv %s %s", nb, nb == 1 ? "" : "s", cfg, first, first, cfg);
	}

	/* Drift: the file against what the runtime runs with. */
	char *running = NULL;
	json_object *rj = NULL;
	fault_cfg_drift drift;
	memset(&drift, 0, sizeof drift);
	bool drift_ok = false;
	if (!r->unreachable) {
		crit_err re;
		err_clear(&re);
		if (prof_running_config(prof, c, tmo, &running, &re) < 0) {
			fact(r, DOCTOR_WARN, "drift", "not checked: %s", re.msg);
		} else {
			rj = json_tokener_parse(running);
			if (doc) {
				crit_err de;
				err_clear(&de);
				if (fault_cfg_drift_compare(doc, running, &drift, &de) < 0 ||
				    fault_cfg_drift_times(cfg, pid > 0 ? pid : 0, &drift, &de) < 0) {
					fact(r, DOCTOR_WARN, "drift", "not checked: %s", de.msg);
				} else {
					fault_cfg_drift_verdict(&drift);
					drift_ok = true;
					r->restart_needed = drift.restart_needed;
					strbuf sb = { 0 };
					sb_append(&sb, "", 0);
					for (size_t i = 0; i < drift.n_diffs; i++) {
						const fault_cfg_diff *df = &drift.diffs[i];
						if (i == 8) {
							sb_printf(&sb, "; … and %zu more", drift.n_diffs - i);
							break;
						}
						if (df->line)
							sb_printf(&sb, "; %s: file %s (line %d), running %s", df->what, df->file,
								  df->line, df->running);
						else
							sb_printf(&sb, "; %s: file %s, running %s", df->what, df->file,
								  df->running);
					}
					if (!drift.start_ns)
						sb_printf(&sb, "; runtime start time unknown (no pid)");
					if (drift.notes[0])
						sb_printf(&sb, "; %s", drift.notes);
					fact(r, drift.n_diffs ? DOCTOR_FAIL : drift.restart_needed ? DOCTOR_WARN : DOCTOR_OK,
					     "drift", "%s%s", drift.verdict, sb.buf);
					sb_free(&sb);
				}
			} else {
				fact(r, DOCTOR_WARN, "drift", "not checked: no readable config file");
			}
		}
	} else {
		fact(r, DOCTOR_WARN, "drift", "not checked: the runtime does not answer");
	}

	/* Handlers: configured in the file vs loaded (usable). */
	if (drift_ok) {
		for (size_t i = 0; i < drift.n_file_handlers; i++) {
			const char *h = drift.file_handlers[i];
			char nm[32];
			snprintf(nm, sizeof nm, "handler:%.23s", h);
			if (!has_name(drift.run_handlers, drift.n_run_handlers, h)) {
				fact(r, DOCTOR_FAIL, nm, "%s is configured in %s but the runtime has not loaded it: pods "
				     "asking for it fail until a restart", h, cfg);
				continue;
			}
			if (!o->probe_handlers) {
				fact(r, DOCTOR_OK, nm, "%s: configured and loaded", h);
				continue;
			}
			crit_err pe;
			err_clear(&pe);
			int64_t t0 = util_now_ms();
			if (probe_handler(c, h, tmo, &pe) < 0)
				fact(r, DOCTOR_FAIL, nm, "%s: loaded, but a sandbox with it fails: %s", h, pe.msg);
			else
				fact(r, DOCTOR_OK, nm, "%s: configured, loaded, a sandbox ran and was removed (%lld ms)", h,
				     (long long)(util_now_ms() - t0));
		}
		for (size_t i = 0; i < drift.n_run_handlers; i++) {
			const char *h = drift.run_handlers[i];
			if (has_name(drift.file_handlers, drift.n_file_handlers, h))
				continue;
			if (!drift.n_file_handlers && !strcmp(h, "runc")) {
				fact(r, DOCTOR_OK, "handler:runc", "runc: containerd's built-in default (the file configures no handler)");
				continue;
			}
			char nm[32];
			snprintf(nm, sizeof nm, "handler:%.23s", h);
			fact(r, DOCTOR_WARN, nm, "%s is loaded but no longer in %s: it goes away at the next restart", h,
			     cfg);
		}
	}

	/* CNI: where the runtime looks (its running config), else the file's. */
	if (!r->unreachable) {
		const char *conf_dir = jstr(rj, "cni", "confDir");
		const char *bin_dir = jstr(rj, "cni", "binDir");
		const char *from = "running config";
		fault_cfg_value v;
		char table[128];
		snprintf(table, sizeof table, "%s.cni", doc ? fault_cfg_cri_table(doc) : "");
		if (!conf_dir && doc) {
			if (fault_cfg_get(doc, table, "conf_dir", &v, NULL) == 0 && v.type == FAULT_CFG_STRING) {
				conf_dir = v.s;
				from = "config file";
			}
		}
		if (!bin_dir && doc && fault_cfg_get(doc, table, "bin_dir", &v, NULL) == 0 && v.type == FAULT_CFG_STRING)
			bin_dir = v.s;
		if (!conf_dir) {
			conf_dir = "/etc/cni/net.d";
			from = "the default";
		}
		check_cni(r, conf_dir, bin_dir ? bin_dir : "/opt/cni/bin", from);
	}

	fault_cfg_drift_free(&drift);
	if (rj)
		json_object_put(rj);
	free(running);
	fault_cfg_free(doc);
	cri_close(c);
	return 0;
}

/* ------------------------------------------------------------ CLI */

static void doctor_usage(FILE *f)
{
	fprintf(f,
		"Usage: critic doctor [-r ENDPOINT] [--dir DIR] [--config FILE] [--probe-handlers]\n\n"
		"Node health facts for a CRI runtime, one line each, OK, WARN or FAIL: its socket\n"
		"answers (Version, Status conditions), which runtime it is (profile), its config file\n"
		"parses and is what the runtime runs with (drift: \"restart needed\"), each runtime\n"
		"handler of the file is loaded, the CNI config it uses is there.\n\n"
		"  -r, --runtime-endpoint EP  the runtime (default: CONTAINER_RUNTIME_ENDPOINT,\n"
		"                             /etc/crictl.yaml, else critic's lab)\n"
		"      --crictl FILE          crictl.yaml to read (default /etc/crictl.yaml)\n"
		"      --dir DIR              critic's lab dir (default $CRITIC_LAB_DIR or " LAB_DEFAULT_DIR ")\n"
		"      --config FILE          the runtime's config file (default: the lab's\n"
		"                             DIR/config.toml, else the runtime's usual path)\n"
		"      --probe-handlers       also run and remove a sandbox with each loaded handler\n"
		"  -t, --timeout DUR          per-call deadline: 2s, 500ms (default 10s)\n"
		"      --no-color             plain output even on a terminal\n\n"
		"Exit: 0 no FAIL, 1 some FAIL, 2 usage, 3 runtime unreachable.\n");
}

int doctor_cli_main(int argc, char **argv)
{
	enum { O_CRICTL = 256, O_DIR, O_CONFIG, O_PROBE, O_NO_COLOR };
	static const struct option longopts[] = {
		{ "runtime-endpoint", required_argument, 0, 'r' },
		{ "image-endpoint", required_argument, 0, 'i' },
		{ "crictl", required_argument, 0, O_CRICTL },
		{ "dir", required_argument, 0, O_DIR },
		{ "config", required_argument, 0, O_CONFIG },
		{ "probe-handlers", no_argument, 0, O_PROBE },
		{ "timeout", required_argument, 0, 't' },
		{ "no-color", no_argument, 0, O_NO_COLOR },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *flag_ep = NULL, *flag_img = NULL, *crictl = "/etc/crictl.yaml", *dir = NULL, *config = NULL;
	bool probe = false, no_color = false;
	int timeout_ms = 0;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":r:i:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': flag_ep = optarg; break;
		case O_CRICTL: crictl = optarg; break;
		case O_DIR: dir = optarg; break;
		case O_CONFIG: config = optarg; break;
		case O_PROBE: probe = true; break;
		case O_NO_COLOR: no_color = true; break;
		case 'i': flag_img = optarg; break;
		case 't': {
			/* As the global option: 2s, 500ms, 1m, or plain seconds. */
			char *end;
			double v = strtod(optarg, &end);
			double mult = !strcmp(end, "ms") ? 1 : !strcmp(end, "m") ? 60000 : (!*end || !strcmp(end, "s")) ? 1000 : -1;
			if (end == optarg || mult < 0 || v <= 0 || v * mult > 3600000.0 || v * mult < 1) {
				fprintf(stderr, "critic doctor: --timeout '%s': give a duration like 2s or 500ms\n", optarg);
				return 2;
			}
			timeout_ms = (int)(v * mult);
			break;
		}
		case 'h': doctor_usage(stdout); return 0;
		case ':':
			fprintf(stderr, "critic doctor: %s needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "critic doctor: unknown option '%s' (see critic doctor --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "critic doctor: unexpected argument '%s' (see critic doctor --help)\n", argv[optind]);
		return 2;
	}
	crit_err e;
	err_clear(&e);
	ep_config epc;
	memset(&epc, 0, sizeof epc);
	if (ep_resolve(&epc, crictl, flag_ep, flag_img, 0, &e) < 0) {
		fprintf(stderr, "critic doctor: %s\n", e.msg);
		return 2;
	}
	const char *ldir = dir ? dir : lab_default_dir();
	if (!epc.runtime[0]) {
		lab_info lab;
		int rc = lab_status(ldir, &lab, &e);
		if (rc < 0) {
			fprintf(stderr, "critic doctor: %s\n", e.msg);
			return 2;
		}
		snprintf(epc.runtime, sizeof epc.runtime, "%.500s", lab.endpoint);
		snprintf(epc.source, sizeof epc.source, "critic's lab in %.400s%s", lab.dir, rc ? "" : " (down)");
	}
	doctor_opts o = {
		.endpoint = epc.runtime,
		.config_path = config,
		.lab_dir = ldir,
		.probe_handlers = probe,
		.timeout_ms = timeout_ms ? timeout_ms : epc.timeout_ms,
	};
	doctor_report r;
	printf("critic doctor: %s (%s)\n", epc.runtime, epc.source[0] ? epc.source : "given");
	fflush(stdout);
	if (doctor_run(&o, &r, &e) < 0) {
		fprintf(stderr, "critic doctor: %s\n", e.msg);
		return 2;
	}
	doctor_print(&r, stdout, !no_color && isatty(1) && !getenv("NO_COLOR"));
	int code = doctor_exit_code(&r);
	doctor_report_free(&r);
	return code;
}
