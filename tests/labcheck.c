/* labcheck: what a lab left behind, for the integration suites' "down leaves
 * nothing" checks: live processes and mounts that name the lab dir, and
 * critic's pods still in its runtime. */
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cri.h"
#include "lab.h"
#include "tests.h"
#include "tst.h"
#include "util.h"

int tests_lab_processes(const char *dir)
{
	int n = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	char buf[4096];
	while (d && (de = readdir(d))) {
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid <= 0 || pid == getpid())
			continue;
		if (util_pid_cmdline(pid, buf, sizeof buf) > 0 && strstr(buf, dir) && util_pid_alive(pid)) {
			printf("\n    still running: %d %s", (int)pid, buf);
			n++;
		}
	}
	if (d)
		closedir(d);
	return n;
}

int tests_lab_mounts(const char *dir)
{
	char *text = NULL;
	int n = 0;
	if (util_read_file("/proc/self/mountinfo", &text, NULL, NULL) < 0)
		return -1;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strstr(line, dir)) {
			printf("\n    still mounted: %s", line);
			n++;
		}
	free(text);
	return n;
}

int tests_critic_pods(const char *lab_dir)
{
	lab_info lab;
	crit_err e;
	err_clear(&e);
	if (lab_status(lab_dir, &lab, &e) != 1) {
		printf("\n    lab status: %s", e.msg);
		return -1;
	}
	cri_conn *c = NULL;
	if (cri_connect(&c, lab.endpoint, NULL, 20000, &e) < 0) {
		printf("\n    connect: %s", e.msg);
		return -1;
	}
	Runtime__V1__PodSandboxFilter filter = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry l = RUNTIME__V1__POD_SANDBOX_FILTER__LABEL_SELECTOR_ENTRY__INIT;
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry *sel[1] = { &l };
	l.key = TST_LABEL_OWNER;
	l.value = "critic";
	filter.n_label_selector = 1;
	filter.label_selector = sel;
	Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	req.filter = &filter;
	Runtime__V1__ListPodSandboxResponse *resp = NULL;
	int n = -1;
	if (CRI_CALL(c, ListPodSandbox, &req, &resp, &e) < 0) {
		printf("\n    ListPodSandbox: %s", e.msg);
	} else {
		n = (int)resp->n_items;
		for (size_t i = 0; i < resp->n_items; i++)
			printf("\n    critic pod left: %.12s (%s)", resp->items[i]->id,
			       resp->items[i]->metadata ? resp->items[i]->metadata->name : "?");
	}
	cri_free(resp);
	cri_close(c);
	return n;
}

int tests_beside(const char *rel, char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	int w = snprintf(out, len, "%s/%s", exe, rel);
	return w < 0 || (size_t)w >= len ? -1 : 0;
}

void tests_sibling_lab_dir(const char *prefix, char *out, size_t len)
{
	char parent[PATH_MAX], name[PATH_MAX];
	snprintf(parent, sizeof parent, "%s", tests_lab_dir());
	snprintf(name, sizeof name, "%s", tests_lab_dir());
	snprintf(out, len, "%.2000s/%s-%.2000s", dirname(parent), prefix, basename(name));
}

int tests_lab_cmd(const char *critic_bin, const char *lab_dir, const char *what, int timeout_ms)
{
	char *argv[] = { (char *)critic_bin, "--dir", (char *)lab_dir, "lab", (char *)what, NULL };
	char *out = NULL;
	crit_err e;
	err_clear(&e);
	int rc = util_run(argv, timeout_ms, &out, &e);
	if (rc != 0)
		printf("\n    critic lab %s: rc %d: %s", what, rc, out ? out : e.msg);
	free(out);
	return rc;
}
