/* labcheck: what a lab left behind, for the integration suites' "down leaves
 * nothing" checks: live processes and mounts that name the lab dir. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests.h"
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
