/* guard: is a live kubelet using this CRI endpoint? Facts for callers that
 * warn (critic run) or refuse disruptive work unless forced. */
#ifndef CRITIC_GUARD_H
#define CRITIC_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "cri.h"
#include "err.h"

#define GUARD_MAX_KEPT 4 /* kubelets and pods kept for messages (more are counted) */

typedef struct guard_kubelet {
	pid_t pid;
	char cmdline[512];  /* arguments joined by spaces, cut to fit */
	char endpoint[512]; /* what it names (flag or its --config file); "" = its default */
	char why[256];      /* why it counts: "--container-runtime-endpoint names it", ... */
} guard_kubelet;

typedef struct guard_report {
	/* Processes: kubelets that use the endpoint, and the others seen. */
	int n_kubelets;
	guard_kubelet kubelets[GUARD_MAX_KEPT];
	int n_other_kubelets;        /* kubelets that name another endpoint */
	/* The runtime: pods carrying the kubelet's labels (and not critic's). */
	bool pods_checked;
	int n_kube_pods;
	char kube_pods[GUARD_MAX_KEPT][160]; /* "namespace/name (id)" */
	char pods_error[1024];       /* why the pods were not checked */
	bool pods_from_child;        /* guard_check asked from a forked child */
} guard_report;

/* The kubelet's pod labels (pkg/kubelet/types/labels.go). */
#define GUARD_LABEL_POD_NAME "io.kubernetes.pod.name"
#define GUARD_LABEL_POD_NAMESPACE "io.kubernetes.pod.namespace"
#define GUARD_LABEL_POD_UID "io.kubernetes.pod.uid"

/* True when endpoint (unix:///path or /path) is one a kubelet uses without
 * being told: containerd's or CRI-O's default socket (/run or /var/run). */
bool guard_is_default_endpoint(const char *endpoint);

/* Scan proc_root (NULL = "/proc") for processes named kubelet (argv[0]'s
 * base name, or comm) and note those using endpoint: the endpoint named by
 * --container-runtime-endpoint, or by containerRuntimeEndpoint in the file
 * of --config; or any kubelet when endpoint is a default socket. Fills the
 * process part of r (the rest is left alone). Returns 0 or < 0 when
 * proc_root cannot be read. */
int guard_scan_procs(const char *proc_root, const char *endpoint, guard_report *r, crit_err *e);

/* Ask the runtime behind c for pods with the kubelet's labels (pods that
 * also carry critic.io/owner=critic are critic's and do not count). Fills
 * the pod part of r; a failed listing is reported in r->pods_error and
 * returned. */
int guard_scan_pods(cri_conn *c, guard_report *r, crit_err *e);

/* Both checks, for any process. While this process has not used gRPC, the
 * pods are asked for from a forked child with a deadline (timeout_ms, <= 0 =
 * CRI_DEFAULT_TIMEOUT_MS), so it stays free of gRPC and may fork CRI workers
 * later (as critic run does); once it has, from this process (gRPC does not
 * survive fork() then). Returns 0 with the facts in r (an unreachable
 * runtime is a fact: pods_checked false, pods_error set), < 0 on bad input. */
int guard_check(const char *endpoint, int timeout_ms, guard_report *r, crit_err *e);

/* Both checks in this process, over an open connection. */
int guard_check_conn(cri_conn *c, const char *proc_root, guard_report *r, crit_err *e);

/* Anything that says a kubelet uses the endpoint. */
bool guard_kubelet_live(const guard_report *r);

/* The facts in a few lines for a warning or a refusal, e.g.
 * "kubelet pid 812 uses unix:///run/containerd/containerd.sock
 *  (--container-runtime-endpoint names it)\n3 pods with kubelet labels, e.g.
 *  kube-system/coredns-1 (4f2a…)". Empty when nothing was found. */
void guard_describe(const guard_report *r, char *buf, size_t len);

/* The flag that lets disruptive work go on beside a live kubelet. */
#define GUARD_FORCE_FLAG "--force-with-kubelet"

/* For disruptive work (what: "critic fs readonly") on endpoint: guard_check
 * with timeout_ms; when a kubelet uses the endpoint, -EPERM with the
 * evidence (kubelet pids, pods with its labels) and GUARD_FORCE_FLAG in e,
 * unless force (then a warning on warn, may be NULL, and 0). 0 as well when
 * nothing was found or the check itself could not run. */
int guard_refuse_disruptive(const char *endpoint, bool force, const char *what, int timeout_ms, FILE *warn,
			    crit_err *e);

#endif
