/* capture_corpus: writes the fuzzers' seed inputs from a real runtime: CRI
 * replies as fuzz_decode reads them (method byte + message) and the lines of a
 * real container log file. Usage: capture_corpus ENDPOINT IMAGE OUTDIR */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cri.h"
#include "util.h"

static const char *outdir;
static cri_conn *conn;
static int written;

/* The method's index over RuntimeService then ImageService, as fuzz_decode
 * counts them. */
static int method_index(const char *name)
{
	const ProtobufCServiceDescriptor *sv[] = { &runtime__v1__runtime_service__descriptor,
						    &runtime__v1__image_service__descriptor };
	int base = 0;
	for (size_t i = 0; i < 2; i++) {
		for (unsigned j = 0; j < sv[i]->n_methods; j++)
			if (!strcmp(sv[i]->methods[j].name, name))
				return base + (int)j;
		base += (int)sv[i]->n_methods;
	}
	return -1;
}

static void save(const char *dir, const char *name, const void *data, size_t len)
{
	char *path = util_strdup_printf("%s/%s/%s", outdir, dir, name);
	crit_err e;
	if (util_write_file(path, data, len, 0644, &e) < 0)
		fprintf(stderr, "%s\n", e.msg);
	else
		written++;
	free(path);
}

/* Call method; save the reply as "<method byte><packed reply>". */
static ProtobufCMessage *call(const char *method, const ProtobufCMessage *req, const char *tag)
{
	ProtobufCMessage *resp = NULL;
	crit_err e;
	if (cri_call(conn, method, req, &resp, 60000, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return NULL;
	}
	size_t n = protobuf_c_message_get_packed_size(resp);
	uint8_t *buf = malloc(n + 1);
	buf[0] = (uint8_t)method_index(method);
	protobuf_c_message_pack(resp, buf + 1);
	char name[128];
	snprintf(name, sizeof name, "%s%s%s", method, tag ? "-" : "", tag ? tag : "");
	save("fuzz_decode", name, buf, n + 1);
	free(buf);
	return resp;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s ENDPOINT IMAGE OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[3];
	crit_err e;
	if (cri_connect(&conn, argv[1], NULL, 30000, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 3;
	}
	Runtime__V1__VersionRequest vreq = RUNTIME__V1__VERSION_REQUEST__INIT;
	cri_free(call("Version", &vreq.base, NULL));
	Runtime__V1__StatusRequest sreq = RUNTIME__V1__STATUS_REQUEST__INIT;
	cri_free(call("Status", &sreq.base, NULL));
	sreq.verbose = 1;
	cri_free(call("Status", &sreq.base, "verbose"));
	Runtime__V1__ImageSpec img = RUNTIME__V1__IMAGE_SPEC__INIT;
	img.image = argv[2];
	Runtime__V1__PullImageRequest preq = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	preq.image = &img;
	cri_free(call("PullImage", &preq.base, NULL));
	Runtime__V1__ImageStatusRequest isreq = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
	isreq.image = &img;
	cri_free(call("ImageStatus", &isreq.base, NULL));
	Runtime__V1__ListImagesRequest lireq = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
	cri_free(call("ListImages", &lireq.base, NULL));
	Runtime__V1__ImageFsInfoRequest fsreq = RUNTIME__V1__IMAGE_FS_INFO_REQUEST__INIT;
	cri_free(call("ImageFsInfo", &fsreq.base, NULL));

	/* A pod with critic's labels (so `critic cleanup` finds a leftover)
	 * in the node's network namespace, and a container that writes a
	 * few lines, a long one (split into P records) and no final newline. */
	char logdir[] = "/tmp/critic-corpus-XXXXXX";
	if (!mkdtemp(logdir))
		return 1;
	Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	md.name = "corpus";
	md.uid = "corpus-uid";
	md.namespace_ = "critic";
	Runtime__V1__PodSandboxConfig__LabelsEntry l1 = RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT, l2 = l1;
	Runtime__V1__PodSandboxConfig__LabelsEntry *lp[] = { &l1, &l2 };
	l1.key = "critic.io/owner";
	l1.value = "critic";
	l2.key = "critic.io/test";
	l2.value = "fuzz.capture-corpus";
	Runtime__V1__NamespaceOption ns = RUNTIME__V1__NAMESPACE_OPTION__INIT;
	ns.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
	/* The init function, not the INIT macro: the macro names a deprecated
	 * field (seccomp_profile_path), which clang warns about. */
	Runtime__V1__LinuxSandboxSecurityContext sc;
	runtime__v1__linux_sandbox_security_context__init(&sc);
	sc.namespace_options = &ns;
	Runtime__V1__LinuxPodSandboxConfig lx = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
	lx.security_context = &sc;
	Runtime__V1__PodSandboxConfig pcfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	pcfg.metadata = &md;
	pcfg.log_directory = logdir;
	pcfg.labels = lp;
	pcfg.n_labels = 2;
	pcfg.linux_ = &lx;
	Runtime__V1__RunPodSandboxRequest rreq = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	rreq.config = &pcfg;
	Runtime__V1__RunPodSandboxResponse *rresp = (void *)call("RunPodSandbox", &rreq.base, NULL);
	if (!rresp)
		return 1;
	char *pod = strdup(rresp->pod_sandbox_id);
	cri_free(rresp);

	Runtime__V1__ContainerMetadata cmd_md = RUNTIME__V1__CONTAINER_METADATA__INIT;
	cmd_md.name = "writer";
	static char script[] = "echo hello; echo 'to stderr' >&2; echo; printf 'tab\\there  two spaces\\n';"
			       "seq 1 4000 | tr '\\n' ,; echo; printf 'no newline at the end'; sleep 30";
	char *cmd[] = { "sh", "-c", script };
	Runtime__V1__ContainerConfig__LabelsEntry c1 = RUNTIME__V1__CONTAINER_CONFIG__LABELS_ENTRY__INIT;
	Runtime__V1__ContainerConfig__LabelsEntry *clp[] = { &c1 };
	c1.key = "critic.io/owner";
	c1.value = "critic";
	Runtime__V1__ContainerConfig ccfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
	ccfg.metadata = &cmd_md;
	ccfg.image = &img;
	ccfg.command = cmd;
	ccfg.n_command = 3;
	ccfg.log_path = "writer.log";
	ccfg.labels = clp;
	ccfg.n_labels = 1;
	Runtime__V1__CreateContainerRequest creq = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	creq.pod_sandbox_id = pod;
	creq.config = &ccfg;
	creq.sandbox_config = &pcfg;
	Runtime__V1__CreateContainerResponse *cresp = (void *)call("CreateContainer", &creq.base, NULL);
	char *ctr = cresp ? strdup(cresp->container_id) : NULL;
	cri_free(cresp);
	if (ctr) {
		Runtime__V1__StartContainerRequest streq = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
		streq.container_id = ctr;
		cri_free(call("StartContainer", &streq.base, NULL));
		util_sleep_ms(1500);
		Runtime__V1__ContainerStatusRequest csreq = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
		csreq.container_id = ctr;
		cri_free(call("ContainerStatus", &csreq.base, NULL));
		Runtime__V1__ListContainersRequest lcreq = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
		cri_free(call("ListContainers", &lcreq.base, NULL));
		Runtime__V1__ContainerStatsRequest cstreq = RUNTIME__V1__CONTAINER_STATS_REQUEST__INIT;
		cstreq.container_id = ctr;
		cri_free(call("ContainerStats", &cstreq.base, NULL));
		Runtime__V1__ListContainerStatsRequest lcsreq = RUNTIME__V1__LIST_CONTAINER_STATS_REQUEST__INIT;
		cri_free(call("ListContainerStats", &lcsreq.base, NULL));
		char *ecmd[] = { "sh", "-c", "echo out; echo err >&2; exit 3" };
		Runtime__V1__ExecSyncRequest exreq = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
		exreq.container_id = ctr;
		exreq.cmd = ecmd;
		exreq.n_cmd = 3;
		exreq.timeout = 10;
		cri_free(call("ExecSync", &exreq.base, NULL));

		/* The log file as the runtime wrote it, whole and line by line. */
		char *path = util_strdup_printf("%s/writer.log", logdir), *text = NULL;
		size_t len = 0;
		if (util_read_file(path, &text, &len, &e) == 0) {
			/* Whole, but each record cut to 200 bytes of message: a
			 * 16 KiB P record would make every fuzz input that long. */
			strbuf trimmed = { 0 };
			for (char *line = text, *nl; (nl = memchr(line, '\n', len - (size_t)(line - text)));
			     line = nl + 1) {
				size_t ll = (size_t)(nl - line);
				sb_append(&trimmed, line, ll > 260 ? 260 : ll);
				sb_append(&trimmed, "\n", 1);
			}
			save("fuzz_crilog", "writer.log", trimmed.buf, trimmed.len);
			sb_free(&trimmed);
			int k = 0;
			for (char *line = text, *nl; (nl = memchr(line, '\n', len - (size_t)(line - text))) && k < 6;
			     line = nl + 1) {
				size_t ll = (size_t)(nl - line) + 1;
				if (ll > 300) /* the long line's P records: keep one */
					continue;
				char name[32];
				snprintf(name, sizeof name, "line-%d", k++);
				save("fuzz_crilog", name, line, ll);
			}
		} else {
			fprintf(stderr, "%s\n", e.msg);
		}
		free(text);
		free(path);
		Runtime__V1__StopContainerRequest scr = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
		scr.container_id = ctr;
		cri_free(call("StopContainer", &scr.base, NULL));
	}
	Runtime__V1__PodSandboxStatusRequest psreq = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
	psreq.pod_sandbox_id = pod;
	cri_free(call("PodSandboxStatus", &psreq.base, NULL));
	Runtime__V1__ListPodSandboxRequest lpreq = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	cri_free(call("ListPodSandbox", &lpreq.base, NULL));
	Runtime__V1__StopPodSandboxRequest spreq = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	spreq.pod_sandbox_id = pod;
	cri_free(call("StopPodSandbox", &spreq.base, NULL));
	Runtime__V1__RemovePodSandboxRequest rpreq = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	rpreq.pod_sandbox_id = pod;
	cri_free(call("RemovePodSandbox", &rpreq.base, NULL));
	free(ctr);
	free(pod);
	util_rm_rf(logdir, NULL);
	cri_close(conn);
	printf("%d seed files written under %s\n", written, outdir);
	return 0;
}
