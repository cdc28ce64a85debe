/* leaks: what a runtime can leave behind after pods and containers went — mounts under its
 * root/state, CNI netns, IPAM allocations, cgroups, shims — as snapshots compared before/after. */
#ifndef CRITIC_LEAKS_H
#define CRITIC_LEAKS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "err.h"

typedef struct cri_conn cri_conn;
typedef struct lab_info lab_info;

#define LEAKS_MAX_DIRS 4
#define LEAKS_ID_LEN 64 /* containerd's ids: 64 hex digits */

typedef enum leaks_kind { LEAK_MOUNT, LEAK_NETNS, LEAK_IPAM, LEAK_CGROUP, LEAK_SHIM } leaks_kind;

/* Where to look. Every path is injectable so the unit tests can point the
 * scan at a fake tree; NULL (or an empty list) takes the node's default. */
typedef struct leaks_paths {
	const char *mountinfo;   /* NULL = /proc/self/mountinfo */
	const char *proc_root;   /* NULL = /proc: shims and the processes inside netns */
	const char *cgroup_root; /* NULL = /sys/fs/cgroup (v1 hierarchies below it, or v2 itself) */
	/* Mounts count only below these (the runtime's root and state);
	 * none given = no mount is looked at. */
	char mount_prefixes[LEAKS_MAX_DIRS][PATH_MAX];
	int n_mount_prefixes;
	/* Dirs of netns files ("cni-…"); none = /run/netns and /var/run/netns. */
	char netns_dirs[LEAKS_MAX_DIRS][PATH_MAX];
	int n_netns_dirs;
	/* host-local IPAM data dirs (holding <network>/<ip> files); none =
	 * /var/lib/cni/networks. */
	char ipam_dirs[LEAKS_MAX_DIRS][PATH_MAX];
	int n_ipam_dirs;
	/* A shim counts when its command line holds this (the runtime's
	 * socket or address); "" = any containerd shim. */
	char shim_match[PATH_MAX];
	bool no_cgroups; /* leave cgroups out (a scan of a foreign tree) */
} leaks_paths;

/* One thing found. */
typedef struct leaks_item {
	leaks_kind kind;
	char id[LEAKS_ID_LEN + 1]; /* the container or sandbox it belongs to; "" = unknown (netns) */
	char where[PATH_MAX];      /* mount point, netns file, IP file, cgroup path, "pid N" */
	char detail[256];          /* "in 11 hierarchies (memory, pids, …)", a shim's cmdline, "used" */
	bool in_use;               /* a netns some process is in (not a leak) */
} leaks_item;

typedef struct leaks_snap {
	leaks_item *items;
	size_t n, cap;
} leaks_snap;

/* Fill p for the runtime: the lab's own dirs when lab is given (root,
 * state, DIR/cni/ipam, its socket; netns in the node's dirs), else the
 * runtime's verbose Status config (containerdRootDir, stateDir) when c is
 * given, else containerd's defaults. */
void leaks_paths_default(leaks_paths *p);
void leaks_paths_for_lab(leaks_paths *p, const lab_info *lab);
int leaks_paths_from_runtime(leaks_paths *p, cri_conn *c, crit_err *e);

/* Scan now. Returns 0, or < 0 when mountinfo or the proc root cannot be
 * read (missing optional dirs are simply empty). */
int leaks_snapshot(const leaks_paths *p, leaks_snap *s, crit_err *e);
void leaks_snap_free(leaks_snap *s);

/* The leaks: items of after that were not in before (before NULL = all of
 * after) and that belong to no live object: an id not in live[0..n_live)
 * (ids compare by prefix, so short ids match), a netns no process is in.
 * Also, when removed is not NULL, only items whose id is in removed
 * (netns, having no id, then never count). Fills out with copies. */
int leaks_compare(const leaks_snap *before, const leaks_snap *after, const char *const *live, size_t n_live,
		  const char *const *removed, size_t n_removed, leaks_snap *out, crit_err *e);

/* One line per leak: "mount /…/rootfs of removed container 3f2a9c1e7b04 still
 * mounted". */
void leaks_describe(const leaks_item *it, char *buf, size_t len);
/* All of them, lines joined with "\n" (heap; "" when none). */
char *leaks_text(const leaks_snap *s);
const char *leaks_kind_name(leaks_kind k);

/* The ids of every pod sandbox and container the runtime lists (heap
 * strings; free with leaks_ids_free). */
int leaks_live_ids(cri_conn *c, char ***ids, size_t *n, crit_err *e);
void leaks_ids_free(char **ids, size_t n);

/* Scan until no leak is left over before (polling: a runtime tears some
 * things down a moment after it answers), at most timeout_ms. The live ids
 * come from c. Returns 0 with the leaks (if any) in out. */
int leaks_check(const leaks_paths *p, const leaks_snap *before, cri_conn *c, int timeout_ms, leaks_snap *out,
		crit_err *e);

/* For the runner (harness/tst.c): a snapshot at run start kept in this
 * process (lab_dir NULL = an external runtime: containerd's default dirs),
 * and a check at run end from the sweep's child over its CRI connection;
 * nothing when the start snapshot failed. fail gets the leaks that are
 * surely this runtime's (mounts below its dirs, its IPAM files, its shims),
 * note those in node-wide places other runtimes share (cgroups, netns), each
 * "; "-joined on one line ("" when none). Returns how many leaks. */
void leaks_run_start(const char *lab_dir);
int leaks_run_end(cri_conn *c, char *fail, size_t flen, char *note, size_t nlen);

/* What the runtime left of objects known to be removed (removed: pod and
 * container ids, e.g. a scenario's): a scan now against the runtime's dirs
 * (the lab's when lab is given, else from verbose Status), polled until
 * none is left or timeout_ms passed. Returns how many, with *text (heap,
 * ", "-joined descriptions) when any; < 0 when the runtime cannot list. */
int leaks_of_removed(cri_conn *c, const lab_info *lab, const char *const *removed, size_t n_removed, int timeout_ms,
		     char **text, crit_err *e);

/* `critic cleanup --leaks`: list (never remove) what the runtime leaked for
 * objects gone from it: mounts below its dirs, IPAM files and shims of
 * ids it no longer lists, cgroups of those ids. argv[0] is the command. */
int leaks_cli_main(int argc, char **argv);

#endif
