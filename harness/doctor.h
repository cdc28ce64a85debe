/* doctor: node health facts for a CRI endpoint, one line each with OK, WARN or FAIL: the socket,
 * Version and Status, the runtime's profile, its config file and drift, handlers, CNI config. */
#ifndef CRITIC_DOCTOR_H
#define CRITIC_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "err.h"

typedef enum doctor_level { DOCTOR_OK, DOCTOR_WARN, DOCTOR_FAIL } doctor_level;

typedef struct doctor_fact {
	doctor_level level;
	char name[32];      /* stable: "socket", "version", "status", "profile", "config", "backup",
			     * "drift", "handler:NAME", "cni" */
	char text[1200];
} doctor_fact;

typedef struct doctor_report {
	doctor_fact *facts;
	size_t n;
	int n_fail, n_warn;
	bool unreachable;   /* the socket is missing or Version got no answer */
	char runtime[128];  /* "containerd 1.6.20~ds1" */
	char config[4096];  /* the config file looked at ("" = none) */
	bool restart_needed;
} doctor_report;

typedef struct doctor_opts {
	const char *endpoint;     /* "unix:///path" or "/path" (required) */
	const char *config_path;  /* NULL: the lab's DIR/config.toml when endpoint is lab_dir's, else the profile's */
	const char *lab_dir;      /* the lab to recognise the endpoint by; NULL = lab_default_dir() */
	pid_t runtime_pid;        /* 0: found through rtctl (the lab's state, or the socket's owner) */
	bool probe_handlers;      /* also run and remove a sandbox with each handler */
	const char *probe_image;  /* sandbox image for probes (NULL = the runtime's own) */
	int timeout_ms;           /* per CRI call; 0 = CRI_DEFAULT_TIMEOUT_MS */
} doctor_opts;

/* Gather the facts. Returns 0 (even with FAIL facts: they are findings),
 * < 0 only when the options are unusable. */
int doctor_run(const doctor_opts *o, doctor_report *r, crit_err *e);
void doctor_report_free(doctor_report *r);
/* The fact with this name, or NULL. */
const doctor_fact *doctor_find(const doctor_report *r, const char *name);
/* "OK   socket     /run/containerd/containerd.sock answers", one per line. */
void doctor_print(const doctor_report *r, FILE *f, bool color);
const char *doctor_level_name(doctor_level l);
/* 0 no FAIL, 1 FAIL facts, 3 unreachable. */
int doctor_exit_code(const doctor_report *r);

/* `critic doctor [-r EP] [--dir DIR] [--config FILE] [--probe-handlers]`:
 * argv[0] is the command word. Endpoint: --runtime-endpoint, else
 * CONTAINER_RUNTIME_ENDPOINT, else /etc/crictl.yaml (--crictl FILE), else
 * the lab. Exit 0 no FAIL, 1 FAIL, 2 usage, 3 unreachable. */
int doctor_cli_main(int argc, char **argv);

#endif
