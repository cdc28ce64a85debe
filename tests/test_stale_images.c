/* Integration: a tag the lab's registry re-pushes with new content (critic
 * upgraded, its images rebuilt) is what the next run uses, not the runtime's stale copy. */
#include <CUnit/CUnit.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cri.h"
#include "tests.h"
#include "util.h"

static char lab_dir[PATH_MAX], critic_bin[PATH_MAX];

static int critic(char **out, int timeout_ms, const char *a1, const char *a2, const char *a3, const char *a4)
{
	char *argv[] = { critic_bin, "--dir", lab_dir, (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL };
	crit_err e;
	err_clear(&e);
	int rc = util_run(argv, timeout_ms, out, &e);
	if (rc < 0)
		printf("\n    critic %s: %s", a1, e.msg);
	return rc;
}

static void test_stale_tag(void)
{
	char *out = NULL;
	int rc = critic(&out, 600000, "lab", "up", NULL, NULL);
	if (rc != 0)
		printf("\n    lab up: %s", out ? out : "");
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	/* "registry:     127.0.0.1:PORT" */
	char *reg = out ? strstr(out, "registry:") : NULL;
	int port = 0;
	CU_ASSERT_FATAL(reg && sscanf(reg, "registry: 127.0.0.1:%d", &port) == 1);
	char *ep = util_strdup_printf("unix://%s/containerd.sock", lab_dir);
	free(out);

	/* The registry's busybox:1.0 becomes another image (pause: no shell,
	 * no critic-helper in it), and the runtime pulls that. */
	char *src = util_strdup_printf("docker://127.0.0.1:%d/critic/pause:1.0", port);
	char *dst = util_strdup_printf("docker://127.0.0.1:%d/critic/busybox:1.0", port);
	char *cp[] = { "skopeo", "--insecure-policy", "copy", "--quiet", "--src-tls-verify=false",
		       "--dest-tls-verify=false", src, dst, NULL };
	crit_err e;
	out = NULL;
	rc = util_run(cp, 120000, &out, &e);
	if (rc != 0)
		printf("\n    skopeo: %s", out ? out : e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	free(out);
	cri_conn *c = NULL;
	CU_ASSERT_EQUAL_FATAL(cri_connect(&c, ep, NULL, 60000, &e), 0);
	char *ref = util_strdup_printf("127.0.0.1:%d/critic/busybox:1.0", port);
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = ref;
	Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__PullImageResponse *resp = NULL;
	req.image = &spec;
	rc = CRI_CALL(c, PullImage, &req, &resp, &e);
	if (rc < 0)
		printf("\n    %s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	char *stale = strdup(resp->image_ref);
	cri_free(resp);
	cri_close(c);

	/* lab up puts the right busybox back in the registry; the runtime
	 * still holds the wrong one under the same tag. A test that runs
	 * critic-helper passes only if the run pulls the tag again. */
	out = NULL;
	CU_ASSERT_EQUAL(critic(&out, 600000, "lab", "up", NULL, NULL), 0);
	CU_ASSERT(out && strstr(out, "pushed"));
	free(out);
	out = NULL;
	rc = critic(&out, 600000, "run", "--focus", "^seccomp/unconfined$", NULL);
	if (rc != 0)
		printf("\n    run with a stale busybox in the runtime (was %s):\n%s", stale, out ? out : "");
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(out && strstr(out, "1 passed"));
	free(out);

	/* The same for a scenario: stale again, then a container of busybox
	 * that runs critic-helper. */
	out = NULL;
	CU_ASSERT_EQUAL_FATAL(util_run(cp, 120000, &out, &e), 0);
	free(out);
	CU_ASSERT_EQUAL_FATAL(cri_connect(&c, ep, NULL, 60000, &e), 0);
	resp = NULL;
	CU_ASSERT_EQUAL_FATAL(CRI_CALL(c, PullImage, &req, &resp, &e), 0);
	cri_free(resp);
	cri_close(c);
	out = NULL;
	CU_ASSERT_EQUAL(critic(&out, 600000, "lab", "up", NULL, NULL), 0);
	free(out);
	char *scn = util_strdup_printf("%s/stale-probe.yaml", lab_dir);
	static const char text[] = "name: stale-probe\n"
				   "description: a container of busybox runs critic-helper (the stale-image test)\n"
				   "steps:\n"
				   "  - run_pod: {name: probe, hostnetwork: true}\n"
				   "    as: pod\n"
				   "  - create_container: {pod: \"${pod.id}\", name: c, image: busybox,\n"
				   "                       command: [critic-helper, sleep, forever]}\n"
				   "    as: ctr\n"
				   "  - start_container: ${ctr.id}\n"
				   "  - expect: {container: {id: \"${ctr.id}\", state: RUNNING}}\n"
				   "finally:\n"
				   "  - stop_pod: ${pod.id}\n"
				   "  - remove_pod: ${pod.id}\n";
	CU_ASSERT_EQUAL_FATAL(util_write_file(scn, text, sizeof text - 1, 0644, &e), 0);
	out = NULL;
	rc = critic(&out, 600000, "scenario", "run", scn, NULL);
	if (rc != 0)
		printf("\n    scenario with a stale busybox in the runtime:\n%s", out ? out : "");
	CU_ASSERT_EQUAL(rc, 0);
	free(out);
	unlink(scn);
	free(scn);
	out = NULL;
	CU_ASSERT_EQUAL(critic(&out, 300000, "lab", "down", NULL, NULL), 0);
	free(out);
	free(stale);
	free(ref);
	free(src);
	free(dst);
	free(ep);
}

void tests_register_stale_images(void)
{
	if (tests_beside("critic", critic_bin, sizeof critic_bin) < 0)
		critic_bin[0] = '\0';
	snprintf(lab_dir, sizeof lab_dir, "%s-stale", tests_lab_dir());
	CU_pSuite s = CU_add_suite("integration/stale-images", NULL, NULL);
	CU_add_test(s, "a tag re-pushed with new content is pulled again by the next run", test_stale_tag);
}
