/* profile: what critic knows about each CRI runtime it may meet (containerd, CRI-O): where its
 * config lives, how it reports the config it runs with, whether it reloads, how to restart it. */
#ifndef CRITIC_PROFILE_H
#define CRITIC_PROFILE_H

#include <stdbool.h>

#include "err.h"

typedef struct cri_conn cri_conn;

typedef enum prof_kind {
	PROF_UNKNOWN = 0,
	PROF_CONTAINERD,
	PROF_CRIO,
} prof_kind;

typedef struct prof_runtime {
	prof_kind kind;
	const char *name;            /* "containerd", "cri-o", "unknown" */
	const char *config_path;     /* the main config file; NULL when unknown */
	const char *config_dropins;  /* a directory of drop-in files read after it; NULL = none */
	const char *config_format;   /* "TOML", … */
	/* How the runtime tells the config it runs with, and whether critic
	 * can read it here (prof_running_config). */
	const char *running_config_how;
	bool running_config_supported;
	/* SIGHUP: does the runtime reload its config? sighup_note says what
	 * it does instead. critic never sends SIGHUP as a "reload" to a runtime
	 * whose reloads_on_sighup is false. */
	bool reloads_on_sighup;
	const char *sighup_note;
	const char *systemd_unit;    /* "containerd.service"; NULL = unknown */
	const char *restart_cmd;     /* "systemctl restart containerd"; NULL = unknown */
	const char *note;            /* anything else a user should know */
} prof_runtime;

/* The profile for a Version reply's runtime_name ("containerd", "cri-o";
 * case and a "crio" spelling accepted). Never NULL: an unknown name gets
 * the generic profile (no config path, no reload, no restart command). */
const prof_runtime *prof_lookup(const char *runtime_name);
const prof_runtime *prof_get(prof_kind kind);
/* A guess from the socket's file name when the runtime does not answer
 * ("containerd.sock" -> containerd, "crio.sock" -> CRI-O), else unknown. */
const prof_runtime *prof_from_socket(const char *path);

/* The runtime's running config as JSON (heap, free it). containerd: the
 * "config" entry of a verbose Status reply's info map (its CRI plugin
 * config, with containerd.runtimes and cni). Others: -ENOTSUP with a
 * message saying how that runtime tells it. timeout_ms <= 0: the
 * connection's default. */
int prof_running_config(const prof_runtime *p, cri_conn *c, int timeout_ms, char **json, crit_err *e);

/* Whether critic may send SIGHUP to ask p's runtime to reload: 0 when it
 * may, -EPERM with the reason when it must not (containerd: no reload;
 * what SIGHUP does to it is in sighup_note). */
int prof_may_sighup_reload(const prof_runtime *p, crit_err *e);

#endif
