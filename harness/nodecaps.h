/* nodecaps: what this node's kernel offers that tests depend on — seccomp,
 * AppArmor, SELinux, the cgroup layout, user namespaces — read from /proc and /sys. */
#ifndef CRITIC_NODECAPS_H
#define CRITIC_NODECAPS_H

#include <stdbool.h>

#include "err.h"

typedef enum {
	NODECAPS_CGROUP_UNKNOWN = 0,
	NODECAPS_CGROUP_V1,
	NODECAPS_CGROUP_HYBRID, /* v1 controllers with a cgroup2 "unified" beside them */
	NODECAPS_CGROUP_V2,
} nodecaps_cgroup;

/* One feature: present or not, and what was seen, in words a skip can print
 * ("AppArmor: /sys/module/apparmor/parameters/enabled is absent"). */
typedef struct nodecaps_feat {
	bool ok;
	char why[256];
} nodecaps_feat;

typedef struct nodecaps {
	nodecaps_feat seccomp;   /* the kernel filters system calls (Seccomp: in /proc/self/status) */
	int seccomp_mode;        /* this process's own mode: 0 none, 1 strict, 2 filter; -1 unknown */
	nodecaps_feat apparmor;  /* module loaded and enabled */
	nodecaps_feat selinux;   /* selinuxfs mounted */
	int selinux_enforce;     /* 1 enforcing, 0 permissive, -1 n/a */
	nodecaps_feat userns;    /* user namespaces can be created (max_user_namespaces > 0) */
	nodecaps_cgroup cgroup;
} nodecaps;

/* Probe the node. root is "" for the real one, or a directory holding a
 * fake proc/ and sys/ (critic's own tests). Only an unreadable
 * /proc/self/status is an error; a missing feature is a result. */
int nodecaps_probe(const char *root, nodecaps *nc, crit_err *e);
/* "v1", "hybrid", "v2", "unknown". */
const char *nodecaps_cgroup_name(nodecaps_cgroup c);

#endif
