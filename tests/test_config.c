/* Unit tests of the config.toml patcher (fault/config): each edit on containerd's default config and
 * on hand-written tricky files changes exactly the intended lines, restore is byte-identical, errors say where. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "doctor.h"
#include "fault/config.h"
#include "profile.h"
#include "tests.h"
#include "util.h"

#define CRI "plugins.\"io.containerd.grpc.v1.cri\""

static char tmpdir[64];
static char *default_cfg;   /* `containerd config default`, NULL when unavailable */
static char default_why[1200];

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("\n    ");
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static int suite_init(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/critic-unit-config-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	/* containerd 1.6's default config, as the binary on this machine prints it. */
	char *argv[] = { "containerd", "config", "default", NULL };
	crit_err e;
	char *out = NULL;
	int rc = util_run(argv, 20000, &out, &e);
	if (rc == 0 && out && strstr(out, "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]")) {
		default_cfg = out;
	} else {
		snprintf(default_why, sizeof default_why, "`containerd config default` %s",
			 rc < 0 ? e.msg : "did not print a version 2 config");
		free(out);
	}
	return 0;
}

static int suite_cleanup(void)
{
	free(default_cfg);
	default_cfg = NULL;
	return util_rm_rf(tmpdir, NULL) < 0 ? -1 : 0;
}

static const char *in_tmp(const char *name)
{
	static char buf[4][256];
	static int next;
	char *b = buf[next++ % 4];
	snprintf(b, sizeof buf[0], "%s/%s", tmpdir, name);
	return b;
}

/* ------------------------------------------------------------ a line diff */

typedef struct lines {
	const char **at;  /* start of each line */
	size_t *len;      /* with its line end */
	size_t n;
} lines;

static void split(const char *t, size_t len, lines *l)
{
	memset(l, 0, sizeof *l);
	size_t cap = 16;
	l->at = malloc(cap * sizeof *l->at);
	l->len = malloc(cap * sizeof *l->len);
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && t[j] != '\n')
			j++;
		if (j < len)
			j++;
		if (l->n == cap) {
			cap *= 2;
			l->at = realloc(l->at, cap * sizeof *l->at);
			l->len = realloc(l->len, cap * sizeof *l->len);
		}
		l->at[l->n] = t + i;
		l->len[l->n++] = j - i;
		i = j;
	}
}

static bool line_eq(const lines *a, size_t i, const lines *b, size_t j)
{
	return a->len[i] == b->len[j] && !memcmp(a->at[i], b->at[j], a->len[i]);
}

/* One diff line: "-N:text" (N in the old text) or "+N:text" (N in the new
 * one), the line end shown as "$" and a CR before it as "\r". */
static void put_line(strbuf *sb, char sign, size_t no, const char *p, size_t len)
{
	sb_printf(sb, "%c%zu:", sign, no);
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r')
			sb_printf(sb, "\\r");
		else if (p[i] == '\n')
			sb_printf(sb, "$");
		else
			sb_append(sb, p + i, 1);
	}
	sb_printf(sb, "\n");
}

/* The lines that differ between old and new (a longest common subsequence
 * of whole lines, line ends included), removals before additions where
 * they meet. "" when the texts are equal. Heap string. */
static char *line_diff(const char *old, size_t olen, const char *new, size_t nlen)
{
	lines a, b;
	split(old, olen, &a);
	split(new, nlen, &b);
	size_t W = b.n + 1;
	unsigned *L = calloc((a.n + 1) * W, sizeof *L);
	for (size_t i = a.n; i-- > 0;)
		for (size_t j = b.n; j-- > 0;)
			L[i * W + j] = line_eq(&a, i, &b, j) ? L[(i + 1) * W + j + 1] + 1
				       : L[(i + 1) * W + j] > L[i * W + j + 1] ? L[(i + 1) * W + j] : L[i * W + j + 1];
	strbuf sb = { 0 };
	sb_append(&sb, "", 0);
	size_t i = 0, j = 0;
	while (i < a.n || j < b.n) {
		if (i < a.n && j < b.n && line_eq(&a, i, &b, j)) {
			i++, j++;
		} else if (i < a.n && (j == b.n || L[(i + 1) * W + j] >= L[i * W + j + 1])) {
			put_line(&sb, '-', i + 1, a.at[i], a.len[i]);
			i++;
		} else {
			put_line(&sb, '+', j + 1, b.at[j], b.len[j]);
			j++;
		}
	}
	free(L);
	free(a.at);
	free(a.len);
	free(b.at);
	free(b.len);
	return sb.buf;
}

/* Assert the diff from old to the document's text is exactly want. */
#define ASSERT_DIFF(old, doc, want) assert_diff(old, strlen(old), doc, want, __LINE__)
static void assert_diff(const char *old, size_t olen, fault_cfg_doc *d, const char *want, int line)
{
	size_t nlen;
	const char *nt = fault_cfg_text(d, &nlen);
	char *got = line_diff(old, olen, nt, nlen);
	if (strcmp(got, want) != 0)
		say("line %d: diff differs:\n--- want\n%s--- got\n%s---", line, want, got);
	CU_ASSERT_STRING_EQUAL(got, want);
	free(got);
}

static void test_line_diff_itself(void)
{
	char *d = line_diff("a\nb\nc\n", 6, "a\nx\nc\nd", 7);
	CU_ASSERT_STRING_EQUAL(d, "-2:b$\n+2:x$\n+4:d\n");
	free(d);
	d = line_diff("a\r\n", 3, "a\n", 2);
	CU_ASSERT_STRING_EQUAL(d, "-1:a\\r$\n+1:a$\n");
	free(d);
	d = line_diff("same\n", 5, "same\n", 5);
	CU_ASSERT_STRING_EQUAL(d, "");
	free(d);
}

/* ------------------------------------------------------------ samples */

/* The shape critic's lab writes: no blank lines, deep indentation. */
static const char lab_style[] =
	"# generated by critic for the lab in /x; `critic lab up` rewrites it\n"
	"version = 2\n"
	"root = \"/x/root\"\n"
	"\n[grpc]\n  address = \"/x/containerd.sock\"\n"
	"\n[plugins]\n"
	"  [plugins.\"io.containerd.grpc.v1.cri\"]\n"
	"    sandbox_image = \"127.0.0.1:5000/critic/pause:1.0\"\n"
	"    restrict_oom_score_adj = true\n"
	"    [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
	"      snapshotter = \"overlayfs\"\n"
	"      default_runtime_name = \"runc\"\n"
	"      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n"
	"        runtime_type = \"io.containerd.runc.v2\"\n"
	"        [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n"
	"          BinaryName = \"/usr/sbin/runc\"\n"
	"          Root = \"/x/runc\"\n"
	"          SystemdCgroup = false\n"
	"    [plugins.\"io.containerd.grpc.v1.cri\".cni]\n"
	"      bin_dir = \"/usr/lib/cni\"\n"
	"      conf_dir = \"/x/cni/net.d\"\n";

/* Everything a line reader can trip on. */
static const char tricky[] =
	"# critic test: comments, quoting, values over several lines\n"             /* 1 */
	"version = 2   # a comment after a value\n"                                  /* 2 */
	"root = '/var/lib/containerd'    # a literal string\n"                       /* 3 */
	"imports = [\n"                                                              /* 4 */
	"  \"/etc/containerd/conf.d/a.toml\",  # a comment inside an array\n"        /* 5 */
	"  'b.toml',\n"                                                              /* 6 */
	"]\n"                                                                        /* 7 */
	"description = \"\"\"\n"                                                     /* 8 */
	"A multi-line string with [brackets] and key = \"value\" look-alikes\n"      /* 9 */
	"# and a line that looks like a comment\n"                                   /* 10 */
	"\"\"\"\n"                                                                   /* 11 */
	"raw = '''\n"                                                                /* 12 */
	"[plugins.\"not.a.table\"]\n"                                                /* 13 */
	"'''\n"                                                                      /* 14 */
	"\"quoted key\" = 1_000\n"                                                   /* 15 */
	"site.\"dotted.key\".x = true\n"                                             /* 16 */
	"tbl = { a = 1, \"b.c\" = \"x\", in.ner = { z = 0x1f } }\n"                  /* 17 */
	"when = 1979-05-27 07:32:00Z\n"                                              /* 18 */
	"ratio = -1.5e3\n"                                                           /* 19 */
	"\n"                                                                         /* 20 */
	"[plugins]   # a comment after a header\n"                                   /* 21 */
	"  [ plugins . \"io.containerd.grpc.v1.cri\" ]\n"                            /* 22 */
	"    sandbox_image = \"registry.k8s.io/pause:3.6\"  # pinned\n"              /* 23 */
	"    max_container_log_line_size = 16384\n"                                  /* 24 */
	"    [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"                   /* 25 */
	"      default_runtime_name = 'runc'\n"                                      /* 26 */
	"      # the runtimes pods can ask for\n"                                    /* 27 */
	"      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n"   /* 28 */
	"        runtime_type = \"io.containerd.runc.v2\"\n"                         /* 29 */
	"        pod_annotations = [\n"                                              /* 30 */
	"          \"io.kubernetes.cri-o.*\",\n"                                     /* 31 */
	"        ]\n"                                                                /* 32 */
	"        [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n" /* 33 */
	"          SystemdCgroup = true\n"                                           /* 34 */
	"    # CNI below\n"                                                          /* 35 */
	"    [plugins.\"io.containerd.grpc.v1.cri\".cni]\n"                          /* 36 */
	"      bin_dir = \"/opt/cni/bin\"\n"                                         /* 37 */
	"\n"                                                                         /* 38 */
	"[[proxy_list]]\n"                                                           /* 39 */
	"  name = \"a\"\n"                                                           /* 40 */
	"[[proxy_list]]\n"                                                           /* 41 */
	"  name = \"b\"\n";                                                          /* 42 */

static fault_cfg_doc *parse_ok(const char *name, const char *text)
{
	fault_cfg_doc *d = NULL;
	crit_err e;
	err_clear(&e);
	int rc = fault_cfg_parse(name, text, strlen(text), &d, &e);
	if (rc < 0)
		say("parse %s: %s", name, e.msg);
	CU_ASSERT_EQUAL(rc, 0);
	return d;
}

/* Text of the document equals want, byte for byte. */
static bool text_is(fault_cfg_doc *d, const char *want, size_t wlen)
{
	size_t len;
	const char *t = fault_cfg_text(d, &len);
	return len == wlen && !memcmp(t, want, len);
}

/* ------------------------------------------------------------ reading */

static void test_read_default(void)
{
	if (!default_cfg) {
		say("skipped: %s", default_why);
		return;
	}
	fault_cfg_doc *d = parse_ok("default.toml", default_cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(fault_cfg_version(d), 2);
	CU_ASSERT_STRING_EQUAL(fault_cfg_cri_table(d), CRI);
	const char *names[8];
	CU_ASSERT_EQUAL(fault_cfg_handlers(d, names, 8), 1);
	CU_ASSERT_STRING_EQUAL(names[0], "runc");
	fault_cfg_value v;
	CU_ASSERT_EQUAL(fault_cfg_get(d, CRI, "sandbox_image", &v, NULL), 0);
	CU_ASSERT_EQUAL(v.type, FAULT_CFG_STRING);
	CU_ASSERT(util_has_prefix(v.s, "registry.k8s.io/pause:"));
	CU_ASSERT_EQUAL(fault_cfg_get(d, CRI ".cni", "max_conf_num", &v, NULL), 0);
	CU_ASSERT_EQUAL(v.type, FAULT_CFG_INT);
	CU_ASSERT_EQUAL(v.i, 1);
	CU_ASSERT_EQUAL(fault_cfg_get(d, "plugins.\"io.containerd.gc.v1.scheduler\"", "pause_threshold", &v, NULL), 0);
	CU_ASSERT_EQUAL(v.type, FAULT_CFG_FLOAT);
	CU_ASSERT_DOUBLE_EQUAL(v.f, 0.02, 1e-12);
	CU_ASSERT_EQUAL(fault_cfg_get(d, CRI ".containerd.runtimes.runc.options", "SystemdCgroup", &v, NULL), 0);
	CU_ASSERT_EQUAL(v.type, FAULT_CFG_BOOL);
	CU_ASSERT(!v.b);
	CU_ASSERT_EQUAL(fault_cfg_get(d, "timeouts", "io.containerd.timeout.shim.load", &v, NULL), 0);
	CU_ASSERT_STRING_EQUAL(v.s, "5s");
	CU_ASSERT_EQUAL(fault_cfg_get(d, CRI, "no_such_key", &v, NULL), -ENOENT);
	/* Untouched, the text is the input. */
	CU_ASSERT(text_is(d, default_cfg, strlen(default_cfg)));
	fault_cfg_free(d);
}

static void test_read_tricky(void)
{
	fault_cfg_doc *d = parse_ok("tricky.toml", tricky);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	fault_cfg_value v;
	CU_ASSERT_EQUAL(fault_cfg_get(d, "", "root", &v, NULL), 0);
	CU_ASSERT_STRING_EQUAL(v.s, "/var/lib/containerd");
	CU_ASSERT_EQUAL(v.line, 3);
	CU_ASSERT_EQUAL(fault_cfg_get(d, "", "imports", &v, NULL), 0);
	CU_ASSERT_EQUAL(v.type, FAULT_CFG_ARRAY);
	CU_ASSERT_EQUAL(fault_cfg_get(d, "", "description", &v, NULL), 0);
	CU_ASSERT_STRING_EQUAL(v.s, "A multi-line string with [brackets] and key = \"value\" look-alikes\n"
				    "# and a line that looks like a comment\n");
	CU_ASSERT_EQUAL(fault_cfg_get(d, "", "raw", &v, NULL), 0);
	CU_ASSERT_STRING_EQUAL(v.s, "[plugins.\"not.a.table\"]\n");
	CU_ASSERT_EQUAL(fault_cfg_get(d, "", "quoted key", &v, NULL), 0);
	CU_ASSERT_EQUAL(v.i, 1000);
	CU_ASSERT_EQUAL(fault_cfg_get(d, "site.\"dotted.key\"", "x", &v, NULL), 0);
	CU_ASSERT(v.type == FAULT_CFG_BOOL && v.b);
	CU_ASSERT_EQUAL(fault_cfg_get(d, "tbl", "b.c", &v, NULL), 0);
	CU_ASSERT_STRING_EQUAL(v.s, "x");
	CU_ASSERT_EQUAL(fault_cfg_get(d, "tbl.in.ner", "z", &v, NULL), 0);
	CU_ASSERT_EQUAL(v.i, 31);
	CU_ASSERT_EQUAL(fault_cfg_get(d, "", "when", &v, NULL), 0);
	CU_ASSERT_EQUAL(v.type, FAULT_CFG_DATETIME);
	CU_ASSERT_EQUAL(fault_cfg_get(d, "", "ratio", &v, NULL), 0);
	CU_ASSERT_DOUBLE_EQUAL(v.f, -1500.0, 1e-9);
	/* A header with blanks around its dots is the same table. */
	CU_ASSERT_EQUAL(fault_cfg_get(d, CRI, "sandbox_image", &v, NULL), 0);
	CU_ASSERT_EQUAL(v.line, 23);
	const char *names[4];
	CU_ASSERT_EQUAL(fault_cfg_handlers(d, names, 4), 1);
	/* The multi-line string's fake header is no table. */
	CU_ASSERT_EQUAL(fault_cfg_get(d, "plugins.\"not.a.table\"", "x", &v, NULL), -ENOENT);
	fault_cfg_free(d);
}

/* ------------------------------------------------------------ adding and removing handlers */

static void check_add_remove(const char *name, const char *text, const fault_cfg_handler *h, const char *want)
{
	fault_cfg_doc *d = parse_ok(name, text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	crit_err e;
	err_clear(&e);
	int rc = fault_cfg_doc_add_handler(d, h, &e);
	if (rc < 0)
		say("%s: %s", name, e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	assert_diff(text, strlen(text), d, want, __LINE__);
	const char *names[8];
	size_t n = fault_cfg_handlers(d, names, 8);
	CU_ASSERT(n >= 1 && !strcmp(names[n - 1], h->name));
	/* Adding it again is refused, naming the line. */
	CU_ASSERT_EQUAL(fault_cfg_doc_add_handler(d, h, &e), -EEXIST);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "is configured already"));
	/* Removing it gives the original bytes back (also the missing line
	 * end of a last line that had none: the add gave it one, the remove
	 * takes it away again). */
	CU_ASSERT_EQUAL(fault_cfg_doc_remove_handler(d, h->name, &e), 0);
	CU_ASSERT(text_is(d, text, strlen(text)));
	CU_ASSERT_EQUAL(fault_cfg_doc_remove_handler(d, h->name, &e), -ENOENT);
	fault_cfg_free(d);
}

static void test_add_handler_default(void)
{
	if (!default_cfg) {
		say("skipped: %s", default_why);
		return;
	}
	/* Find where runc's options end in this containerd's default. */
	lines l;
	split(default_cfg, strlen(default_cfg), &l);
	size_t after = 0;
	bool in_opts = false;
	for (size_t i = 0; i < l.n; i++) {
		if (strstr(l.at[i], "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]") ==
		    l.at[i] + strspn(l.at[i], " "))
			in_opts = true;
		else if (in_opts && l.at[i][strspn(l.at[i], " ")] == '[')
			break;
		if (in_opts && l.len[i] > 1)
			after = i + 1;
	}
	free(l.at);
	free(l.len);
	CU_ASSERT_FATAL(after > 0);
	char want[2048];
	snprintf(want, sizeof want,
		 /* The blank line that followed runc's options now follows the new
		  * ones (the diff matches it first); the bytes are the same. */
		 "+%zu:        [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.nvidia-like]$\n"
		 "+%zu:          runtime_type = \"io.containerd.runc.v2\"$\n"
		 "+%zu:$\n"
		 "+%zu:          [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.nvidia-like.options]$\n"
		 "+%zu:            BinaryName = \"/usr/bin/crun\"$\n"
		 "+%zu:$\n",
		 after + 2, after + 3, after + 4, after + 5, after + 6, after + 7);
	fault_cfg_handler h = { .name = "nvidia-like", .binary_name = "/usr/bin/crun" };
	check_add_remove("default.toml", default_cfg, &h, want);
}

/* Line number (1-based) of the first line of text equal to want, 0 when none. */
static size_t line_no(const char *text, const char *want)
{
	size_t no = 1, wl = strlen(want);
	for (const char *p = text; *p; no++) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len == wl && !memcmp(p, want, wl))
			return no;
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

static void test_set_default(void)
{
	if (!default_cfg) {
		say("skipped: %s", default_why);
		return;
	}
	fault_cfg_doc *d = parse_ok("default.toml", default_cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	crit_err e;
	fault_cfg_value v = FAULT_CFG_BOOLV(true);
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, CRI ".containerd.runtimes.runc.options", "SystemdCgroup", &v, &e), 0);
	v = FAULT_CFG_STR("/etc/containerd/certs.d");
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, CRI ".registry", "config_path", &v, &e), 0);
	v = FAULT_CFG_INTV(5);
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, CRI, "max_concurrent_downloads", &v, &e), 0);
	size_t sc = line_no(default_cfg, "            SystemdCgroup = false");
	size_t cp = line_no(default_cfg, "      config_path = \"\"");
	size_t mc = line_no(default_cfg, "    max_concurrent_downloads = 3");
	CU_ASSERT_FATAL(sc && cp && mc && mc < sc && sc < cp);
	char want[1024];
	snprintf(want, sizeof want,
		 "-%zu:    max_concurrent_downloads = 3$\n+%zu:    max_concurrent_downloads = 5$\n"
		 "-%zu:            SystemdCgroup = false$\n+%zu:            SystemdCgroup = true$\n"
		 "-%zu:      config_path = \"\"$\n+%zu:      config_path = \"/etc/containerd/certs.d\"$\n",
		 mc, mc, sc, sc, cp, cp);
	ASSERT_DIFF(default_cfg, d, want);
	/* runc is the default handler: not removed. */
	CU_ASSERT_EQUAL(fault_cfg_doc_remove_handler(d, "runc", &e), -EBUSY);
	fault_cfg_free(d);
}

static void test_add_handler_lab_style(void)
{
	fault_cfg_handler h = { .name = "nvidia", .runtime_type = "io.containerd.runc.v2",
				.binary_name = "/usr/bin/nvidia-container-runtime", .root = "/x/nvidia" };
	check_add_remove("lab.toml", lab_style, &h,
			 "+21:      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.nvidia]$\n"
			 "+22:        runtime_type = \"io.containerd.runc.v2\"$\n"
			 "+23:        [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.nvidia.options]$\n"
			 "+24:          BinaryName = \"/usr/bin/nvidia-container-runtime\"$\n"
			 "+25:          Root = \"/x/nvidia\"$\n");
	/* Without a binary: no options table. */
	fault_cfg_handler bare = { .name = "kata", .runtime_type = "io.containerd.kata.v2" };
	check_add_remove("lab.toml", lab_style, &bare,
			 "+21:      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.kata]$\n"
			 "+22:        runtime_type = \"io.containerd.kata.v2\"$\n");
}

static void test_add_handler_tricky(void)
{
	/* After runc's options (its array over lines kept), spelled like the
	 * existing headers, the comment before cni left where it is. */
	fault_cfg_handler h = { .name = "gpu.v2", .binary_name = "/opt/bin/a \"quoted\" path" };
	check_add_remove("tricky.toml", tricky, &h,
			 "+35:      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.\"gpu.v2\"]$\n"
			 "+36:        runtime_type = \"io.containerd.runc.v2\"$\n"
			 "+37:        [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.\"gpu.v2\".options]$\n"
			 "+38:          BinaryName = \"/opt/bin/a \\\"quoted\\\" path\"$\n");
}

static void test_add_handler_minimal(void)
{
	/* No handler yet, no trailing line end, tabs for indentation. */
	static const char tabs[] = "version = 2\n[plugins]\n\t[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
				   "\t\tsnapshotter = \"overlayfs\"";
	fault_cfg_handler h = { .name = "crun", .binary_name = "/usr/bin/crun" };
	check_add_remove("tabs.toml", tabs, &h,
			 "-4:\t\tsnapshotter = \"overlayfs\"\n"
			 "+4:\t\tsnapshotter = \"overlayfs\"$\n"
			 "+5:\t\t[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.crun]$\n"
			 "+6:\t\t\truntime_type = \"io.containerd.runc.v2\"$\n"
			 "+7:\t\t\t[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.crun.options]$\n"
			 "+8:\t\t\t\tBinaryName = \"/usr/bin/crun\"$\n");
	/* A version 1 file: the CRI plugin is plugins.cri. */
	static const char v1[] = "[plugins.cri]\n  sandbox_image = \"p\"\n";
	fault_cfg_handler h1 = { .name = "runc" };
	check_add_remove("v1.toml", v1, &h1,
			 "+3:  [plugins.cri.containerd.runtimes.runc]$\n"
			 "+4:    runtime_type = \"io.containerd.runc.v2\"$\n");
	/* An empty file. */
	check_add_remove("empty.toml", "", &h1,
			 "+1:[plugins.cri.containerd.runtimes.runc]$\n"
			 "+2:runtime_type = \"io.containerd.runc.v2\"$\n");
}

static void test_crlf(void)
{
	static const char crlf[] = "version = 2\r\n"
				   "# windows line ends\r\n"
				   "[plugins.\"io.containerd.grpc.v1.cri\".containerd]\r\n"
				   "  default_runtime_name = \"runc\"\r\n"
				   "  [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\r\n"
				   "    runtime_type = \"io.containerd.runc.v2\"\r\n"
				   "\r\n"
				   "[metrics]\r\n"
				   "  address = \"\"\r\n";
	fault_cfg_handler h = { .name = "crun", .binary_name = "/usr/bin/crun" };
	check_add_remove("crlf.toml", crlf, &h,
			 "+7:  [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.crun]\\r$\n"
			 "+8:    runtime_type = \"io.containerd.runc.v2\"\\r$\n"
			 "+9:    [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.crun.options]\\r$\n"
			 "+10:      BinaryName = \"/usr/bin/crun\"\\r$\n");
	fault_cfg_doc *d = parse_ok("crlf.toml", crlf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	crit_err e;
	fault_cfg_value v = FAULT_CFG_STR("127.0.0.1:1338");
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, "metrics", "address", &v, &e), 0);
	v = FAULT_CFG_BOOLV(true);
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, "metrics", "grpc_histogram", &v, &e), 0);
	ASSERT_DIFF(crlf, d,
		    "-9:  address = \"\"\\r$\n"
		    "+9:  address = \"127.0.0.1:1338\"\\r$\n"
		    "+10:  grpc_histogram = true\\r$\n");
	fault_cfg_free(d);
}

/* ------------------------------------------------------------ setting keys */

static void test_set_keys(void)
{
	fault_cfg_doc *d = parse_ok("tricky.toml", tricky);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	crit_err e;
	err_clear(&e);
	fault_cfg_value v = FAULT_CFG_STR("127.0.0.1:5000/pause:1");
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, CRI, "sandbox_image", &v, &e), 0);
	v = FAULT_CFG_STR("crun");  /* a literal string stays literal */
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, CRI ".containerd", "default_runtime_name", &v, &e), 0);
	v = FAULT_CFG_INTV(-4096);
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, CRI, "max_container_log_line_size", &v, &e), 0);
	v = FAULT_CFG_BOOLV(false);
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, CRI, "enable_selinux", &v, &e), 0);
	v = FAULT_CFG_STR("/etc/cni/net.d");
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, CRI ".cni", "conf_dir", &v, &e), 0);
	v = FAULT_CFG_INTV(-999);
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, "", "oom_score", &v, &e), 0);
	v = FAULT_CFG_STR("it's");  /* cannot be literal: basic quotes */
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, "", "root", &v, &e), 0);
	v = FAULT_CFG_STR("single line now");  /* a multi-line value replaced whole */
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, "", "description", &v, &e), 0);
	v = FAULT_CFG_BOOLV(true);
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, CRI ".containerd.runtimes.runc", "privileged_without_host_devices", &v, &e),
			0);
	ASSERT_DIFF(tricky, d,
		    "-3:root = '/var/lib/containerd'    # a literal string$\n"
		    "+3:root = \"it's\"    # a literal string$\n"
		    "-8:description = \"\"\"$\n"
		    "-9:A multi-line string with [brackets] and key = \"value\" look-alikes$\n"
		    "-10:# and a line that looks like a comment$\n"
		    "-11:\"\"\"$\n"
		    "+8:description = \"single line now\"$\n"
		    "+17:oom_score = -999$\n"
		    "-23:    sandbox_image = \"registry.k8s.io/pause:3.6\"  # pinned$\n"
		    "-24:    max_container_log_line_size = 16384$\n"
		    "+21:    sandbox_image = \"127.0.0.1:5000/pause:1\"  # pinned$\n"
		    "+22:    max_container_log_line_size = -4096$\n"
		    "+23:    enable_selinux = false$\n"
		    "-26:      default_runtime_name = 'runc'$\n"
		    "+25:      default_runtime_name = 'crun'$\n"
		    "+32:        privileged_without_host_devices = true$\n"
		    "+38:      conf_dir = \"/etc/cni/net.d\"$\n");
	/* The values read back as set. */
	fault_cfg_value g;
	CU_ASSERT_EQUAL(fault_cfg_get(d, CRI ".containerd", "default_runtime_name", &g, NULL), 0);
	CU_ASSERT_STRING_EQUAL(g.s, "crun");
	CU_ASSERT_EQUAL(fault_cfg_get(d, CRI, "max_container_log_line_size", &g, NULL), 0);
	CU_ASSERT_EQUAL(g.i, -4096);
	fault_cfg_free(d);
}

static void test_set_new_table(void)
{
	fault_cfg_doc *d = parse_ok("lab.toml", lab_style);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	crit_err e;
	fault_cfg_value v = FAULT_CFG_STR("/x/certs.d");
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, CRI ".registry", "config_path", &v, &e), 0);
	v = FAULT_CFG_STR("");
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, "metrics", "address", &v, &e), 0);
	v = FAULT_CFG_STR("a\tb\x01");
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, "", "weird key", &v, &e), 0);
	ASSERT_DIFF(lab_style, d,
		    "+4:\"weird key\" = \"a\\tb\\u0001\"$\n"
		    "+25:    [plugins.\"io.containerd.grpc.v1.cri\".registry]$\n"
		    "+26:      config_path = \"/x/certs.d\"$\n"
		    /* a new top-level table: spaced and indented like [grpc] */
		    "+27:$\n"
		    "+28:[metrics]$\n"
		    "+29:  address = \"\"$\n");
	fault_cfg_value g;
	CU_ASSERT_EQUAL(fault_cfg_get(d, "", "weird key", &g, NULL), 0);
	CU_ASSERT_STRING_EQUAL(g.s, "a\tb\x01");
	fault_cfg_free(d);
}

/* ------------------------------------------------------------ refused */

static void expect_unsupported(int rc, const crit_err *e, const char *where)
{
	CU_ASSERT_EQUAL(rc, -ENOTSUP);
	if (!strstr(e->msg, where) || !strstr(e->msg, "unsupported"))
		say("expected \"%s ... unsupported\", got: %s", where, e->msg);
	CU_ASSERT_PTR_NOT_NULL(strstr(e->msg, where));
	CU_ASSERT_PTR_NOT_NULL(strstr(e->msg, "unsupported"));
}

static void test_unsupported(void)
{
	crit_err e;
	fault_cfg_value v = FAULT_CFG_BOOLV(false);
	/* Tables defined by dotted keys or inline tables are not edited. */
	fault_cfg_doc *d = parse_ok("tricky.toml", tricky);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	expect_unsupported(fault_cfg_doc_set(d, "site.\"dotted.key\"", "x", &v, &e), &e, "tricky.toml:16:");
	expect_unsupported(fault_cfg_doc_set(d, "tbl", "a", &v, &e), &e, "tricky.toml:17:");
	expect_unsupported(fault_cfg_doc_set(d, "", "site", &v, &e), &e, "tricky.toml:16:");
	expect_unsupported(fault_cfg_doc_set(d, "proxy_list", "name", &v, &e), &e, "tricky.toml:39:");
	expect_unsupported(fault_cfg_doc_set(d, CRI ".containerd", "runtimes", &v, &e), &e, "tricky.toml:28:");
	CU_ASSERT(text_is(d, tricky, strlen(tricky)));
	fault_cfg_free(d);

	static const char inl[] = "version = 2\n"
				  "[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
				  "  runtimes = { runc = { runtime_type = \"io.containerd.runc.v2\" } }\n";
	d = parse_ok("inline.toml", inl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	const char *names[4];
	CU_ASSERT_EQUAL(fault_cfg_handlers(d, names, 4), 1);
	CU_ASSERT_STRING_EQUAL(names[0], "runc");
	fault_cfg_value g;
	CU_ASSERT_EQUAL(fault_cfg_get(d, CRI ".containerd.runtimes.runc", "runtime_type", &g, NULL), 0);
	CU_ASSERT_STRING_EQUAL(g.s, "io.containerd.runc.v2");
	fault_cfg_handler h = { .name = "crun" };
	expect_unsupported(fault_cfg_doc_add_handler(d, &h, &e), &e, "inline.toml:3:");
	expect_unsupported(fault_cfg_doc_remove_handler(d, "runc", &e), &e, "inline.toml:3:");
	fault_cfg_free(d);

	static const char dotted[] = "version = 2\n"
				     "[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
				     "  runtimes.nvidia.runtime_type = \"io.containerd.runc.v2\"\n"
				     "  runtimes.nvidia.options.BinaryName = \"/usr/bin/nvidia-container-runtime\"\n";
	d = parse_ok("dotted.toml", dotted);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(fault_cfg_handlers(d, names, 4), 1);
	CU_ASSERT_STRING_EQUAL(names[0], "nvidia");
	expect_unsupported(fault_cfg_doc_remove_handler(d, "nvidia", &e), &e, "dotted.toml:3:");
	h.name = "nvidia";
	expect_unsupported(fault_cfg_doc_add_handler(d, &h, &e), &e, "dotted.toml:3:");
	CU_ASSERT(text_is(d, dotted, strlen(dotted)));
	fault_cfg_free(d);

	/* The default handler is not removed. */
	d = parse_ok("lab.toml", lab_style);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(fault_cfg_doc_remove_handler(d, "runc", &e), -EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "lab.toml:14:"));
	/* Only strings, booleans and integers are set. */
	fault_cfg_value f = { .type = FAULT_CFG_FLOAT, .f = 1.5 };
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, "", "x", &f, &e), -EINVAL);
	/* A table name that is no TOML key. */
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, "a..b", "x", &v, &e), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "bad table name"));
	CU_ASSERT_EQUAL(fault_cfg_get(d, "a.\"b", "x", &f, &e), -EINVAL);
	CU_ASSERT(text_is(d, lab_style, strlen(lab_style)));
	fault_cfg_free(d);
}

/* ------------------------------------------------------------ malformed files */

static void test_malformed(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "a = \"unterminated\n", "m.toml:1:5: string not closed on its line" },
		{ "[table\n", "m.toml:1:7: expected ']' to close the table header" },
		{ "x = [1,\n  2,\n", "m.toml:1:5: array not closed" },
		{ "a = 1\nb = tru\n", "m.toml:2:5: bad value 'tru'" },
		{ "[a]\nx = 1\n[a]\n", "m.toml:3:1: table [a] defined twice (first at line 1)" },
		{ "a = 1\n  a = 2\n", "m.toml:2:3: a defined twice (first at line 1)" },
		{ "[t]\nk.v = 1\n[t.k]\nv = 2\n", "m.toml:4:1: t.k.v defined twice (first at line 2)" },
		{ "a = 1\rb = 2\n", "m.toml:1:6: carriage return without a line feed" },
		{ "s = \"\"\"\nabc\n", "m.toml:1:5: multi-line string not closed" },
		{ "t = { a = 1,\n b = 2 }\n", "m.toml:1:13: inline table not closed on its line" },
		{ "s = \"a\\qb\"\n", "m.toml:1:7: unknown escape \\q" },
		{ "  key = 1 junk\n", "m.toml:1:11: expected the end of the line, found 'j'" },
		{ "= 1\n", "m.toml:1:1: expected a key, found '='" },
		{ "n = 012\n", "m.toml:1:5: integer '012' has a leading zero" },
		{ "a = 1\r\nb = \"x\r\n", "m.toml:2:5: string not closed on its line" },
		{ "ok = 1\nx = [\n  1,\n  2 3\n]\n", "m.toml:4:5: expected ',' or ']' in an array" },
		{ "k = \"\\u12\"\n", "m.toml:1:6: bad \\u escape: expected 4 hex digits" },
		{ "[[a]\n", "m.toml:1:4: expected ']]' to close the table header" },
		{ "a = 1 # bell \x07\n", "m.toml:1:14: control character 0x07 in a comment" },
		{ "a\n", "m.toml:1:2: expected '=' after the key" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		fault_cfg_doc *d = NULL;
		crit_err e;
		err_clear(&e);
		int rc = fault_cfg_parse("m.toml", cases[i].text, strlen(cases[i].text), &d, &e);
		if (rc != -ERR_CONFIG || !util_has_prefix(e.msg, cases[i].want))
			say("case %zu: want \"%s\", got %d \"%s\"", i, cases[i].want, rc, e.msg);
		CU_ASSERT_EQUAL(rc, -ERR_CONFIG);
		CU_ASSERT(util_has_prefix(e.msg, cases[i].want));
		CU_ASSERT_PTR_NULL(d);
		fault_cfg_free(d);
	}
	/* Valid corner cases. */
	static const char *const ok[] = {
		"a = \"\"\"two \"\"quotes\"\"\"\"\"\n",
		"b = '''x''''' \n",
		"c = \"\"\"\\\n   trimmed\"\"\"\n",
		"d = [ [1, 2], [\"a\"], { x = 1 } , ]  # nested\n",
		"e = +inf\nf = nan\ng = 0b1010\nh = 0o17\ni = 1_000.5_5\nj = 07:32:00\nk = 1979-05-27\n",
		"\"\" = 1\n",
		"[a.'b c'.\"d\"]\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		fault_cfg_doc *d = parse_ok("ok.toml", ok[i]);
		fault_cfg_free(d);
	}
	fault_cfg_doc *d = parse_ok("ok.toml", ok[0]);
	fault_cfg_value v;
	CU_ASSERT(d && fault_cfg_get(d, "", "a", &v, NULL) == 0 && !strcmp(v.s, "two \"\"quotes\"\""));
	fault_cfg_free(d);
	d = parse_ok("ok.toml", ok[2]);
	CU_ASSERT(d && fault_cfg_get(d, "", "c", &v, NULL) == 0 && !strcmp(v.s, "trimmed"));
	fault_cfg_free(d);
}

/* ------------------------------------------------------------ files: backup, restore, safety */

static int write_sample(const char *path, const char *text, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	fchmod(fd, mode);
	close(fd);
	/* An old mtime, so restore can be seen to bring it back. */
	struct timespec ts[2] = { { 1600000000, 123456789 }, { 1600000000, 123456789 } };
	utimensat(AT_FDCWD, path, ts, 0);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

static bool file_is(const char *path, const char *text)
{
	char *got = NULL;
	size_t len = 0;
	if (util_read_file(path, &got, &len, NULL) < 0)
		return false;
	bool same = len == strlen(text) && !memcmp(got, text, len);
	free(got);
	return same;
}

static void test_file_patch_restore(void)
{
	const char *path = in_tmp("config.toml");
	char p[256];
	snprintf(p, sizeof p, "%s", path);
	CU_ASSERT_EQUAL_FATAL(write_sample(p, tricky, 0640), 0);
	crit_err e;
	err_clear(&e);
	fault_cfg_opts o = { .run_id = "unit-1", .allow_disruptive = true };
	fault_cfg_backup b = { 0 };
	fault_cfg_handler h = { .name = "nvidia-like", .binary_name = "/usr/bin/crun" };
	int rc = fault_cfg_add_handler(p, &h, &o, &b, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT(b.active);
	char bk[300];
	snprintf(bk, sizeof bk, "%s.critic-backup-unit-1", p);
	CU_ASSERT_STRING_EQUAL(b.backup, bk);
	struct stat st, bst;
	CU_ASSERT_EQUAL(stat(p, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0640);
	CU_ASSERT_EQUAL(stat(bk, &bst), 0);
	CU_ASSERT_EQUAL(bst.st_mode & 07777, 0640);
	CU_ASSERT_EQUAL(bst.st_mtim.tv_sec, 1600000000);
	CU_ASSERT(file_is(bk, tricky));
	CU_ASSERT(!file_is(p, tricky));
	/* A second patch keeps the first backup (the original). */
	fault_cfg_value v = FAULT_CFG_STR("x");
	CU_ASSERT_EQUAL(fault_cfg_set_key(p, CRI, "sandbox_image", &v, &o, &b, &e), 0);
	CU_ASSERT(file_is(bk, tricky));
	fault_cfg_doc *d = NULL;
	CU_ASSERT_EQUAL(fault_cfg_load(p, &d, &e), 0);
	fault_cfg_value g;
	CU_ASSERT(d && fault_cfg_get(d, CRI, "sandbox_image", &g, NULL) == 0 && !strcmp(g.s, "x"));
	const char *names[4];
	CU_ASSERT(d && fault_cfg_handlers(d, names, 4) == 2);
	fault_cfg_free(d);
	char first[300];
	CU_ASSERT_EQUAL(fault_cfg_find_backups(p, first, sizeof first), 1);
	CU_ASSERT_STRING_EQUAL(first, bk);
	/* Restore: byte for byte, mode and mtime, backup gone. */
	CU_ASSERT_EQUAL(fault_cfg_restore(&b, &e), 0);
	CU_ASSERT(!b.active);
	CU_ASSERT(file_is(p, tricky));
	CU_ASSERT_EQUAL(stat(p, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0640);
	CU_ASSERT_EQUAL(st.st_mtim.tv_sec, 1600000000);
	CU_ASSERT_EQUAL(st.st_mtim.tv_nsec, 123456789);
	CU_ASSERT(!util_exists(bk));
	CU_ASSERT_EQUAL(fault_cfg_find_backups(p, NULL, 0), 0);
	CU_ASSERT_EQUAL(fault_cfg_restore(&b, &e), 0); /* nothing left to do */

	/* Removing the default handler is refused: no backup, no change. */
	CU_ASSERT_EQUAL(fault_cfg_remove_handler(p, "runc", &o, &b, &e), -EBUSY);
	CU_ASSERT(!b.active);
	CU_ASSERT(!util_exists(bk));
	CU_ASSERT(file_is(p, tricky));
	/* Two patches with the record reused after a restore: another default,
	 * then runc removed. */
	v = FAULT_CFG_STR("crun");
	CU_ASSERT_EQUAL(fault_cfg_set_key(p, CRI ".containerd", "default_runtime_name", &v, &o, &b, &e), 0);
	CU_ASSERT_EQUAL(fault_cfg_remove_handler(p, "runc", &o, &b, &e), 0);
	CU_ASSERT(file_is(bk, tricky));
	d = NULL;
	CU_ASSERT_EQUAL(fault_cfg_load(p, &d, &e), 0);
	CU_ASSERT(d && fault_cfg_handlers(d, names, 4) == 0);
	fault_cfg_free(d);
	CU_ASSERT_EQUAL(fault_cfg_restore(&b, &e), 0);
	CU_ASSERT(file_is(p, tricky));
}

static void test_file_refusals(void)
{
	const char *path = in_tmp("node.toml");
	char p[256];
	snprintf(p, sizeof p, "%s", path);
	CU_ASSERT_EQUAL_FATAL(write_sample(p, lab_style, 0600), 0);
	crit_err e;
	fault_cfg_backup b = { 0 };
	fault_cfg_handler h = { .name = "x", .binary_name = "/bin/true" };
	/* Not a lab's config: refused without allow_disruptive. */
	fault_cfg_opts careful = { .run_id = "unit-2" };
	CU_ASSERT_EQUAL(fault_cfg_add_handler(p, &h, &careful, &b, &e), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "disruptive"));
	CU_ASSERT(file_is(p, lab_style));
	CU_ASSERT_EQUAL(fault_cfg_find_backups(p, NULL, 0), 0);
	CU_ASSERT(!b.active);
	CU_ASSERT(!fault_cfg_in_lab(p));

	/* A lab's config.toml (critic's lab.state beside it) is fine. */
	char labdir[256], cfg[300], state[300];
	snprintf(labdir, sizeof labdir, "%s/lab", tmpdir);
	mkdir(labdir, 0755);
	snprintf(cfg, sizeof cfg, "%s/config.toml", labdir);
	snprintf(state, sizeof state, "%s/lab.state", labdir);
	CU_ASSERT_EQUAL_FATAL(write_sample(cfg, lab_style, 0644), 0);
	util_write_file(state, "# critic lab state (written by critic lab up/down)\n", 51, 0644, NULL);
	CU_ASSERT(fault_cfg_in_lab(cfg));
	CU_ASSERT_EQUAL(fault_cfg_add_handler(cfg, &h, &careful, &b, &e), 0);
	CU_ASSERT_EQUAL(fault_cfg_restore(&b, &e), 0);
	CU_ASSERT(file_is(cfg, lab_style));

	fault_cfg_opts o = { .run_id = "unit-2", .allow_disruptive = true };
	/* A failing edit writes nothing, not even a backup. */
	fault_cfg_handler dup = { .name = "runc" };
	CU_ASSERT_EQUAL(fault_cfg_add_handler(p, &dup, &o, &b, &e), -EEXIST);
	CU_ASSERT(file_is(p, lab_style));
	CU_ASSERT_EQUAL(fault_cfg_find_backups(p, NULL, 0), 0);
	/* A malformed file: the error says where, the file stays. */
	char bad[300];
	snprintf(bad, sizeof bad, "%s/bad.toml", tmpdir);
	CU_ASSERT_EQUAL_FATAL(write_sample(bad, "version = 2\n[plugins\n", 0644), 0);
	CU_ASSERT_EQUAL(fault_cfg_add_handler(bad, &h, &o, &b, &e), -ERR_CONFIG);
	char want[400];
	snprintf(want, sizeof want, "%s:2:9: expected ']'", bad);
	CU_ASSERT(util_has_prefix(e.msg, want));
	CU_ASSERT(file_is(bad, "version = 2\n[plugins\n"));
	CU_ASSERT_EQUAL(fault_cfg_find_backups(bad, NULL, 0), 0);
	/* A symbolic link is not followed. */
	char link[300];
	snprintf(link, sizeof link, "%s/link.toml", tmpdir);
	CU_ASSERT_EQUAL(symlink(p, link), 0);
	CU_ASSERT_EQUAL(fault_cfg_add_handler(link, &h, &o, &b, &e), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "symbolic link"));
	/* A backup of this run id already there is never overwritten. */
	char bk[300];
	snprintf(bk, sizeof bk, "%s.critic-backup-unit-2", p);
	util_write_file(bk, "precious\n", 9, 0600, NULL);
	CU_ASSERT_EQUAL(fault_cfg_add_handler(p, &h, &o, &b, &e), -EEXIST);
	CU_ASSERT(file_is(bk, "precious\n"));
	CU_ASSERT(file_is(p, lab_style));
	unlink(bk);
	/* A bad run id. */
	fault_cfg_opts badid = { .run_id = "../x", .allow_disruptive = true };
	CU_ASSERT_EQUAL(fault_cfg_add_handler(p, &h, &badid, &b, &e), -EINVAL);
	/* A missing file. */
	CU_ASSERT_EQUAL(fault_cfg_add_handler(in_tmp("missing.toml"), &h, &o, &b, &e), -ENOENT);
	CU_ASSERT(!b.active);
}

/* ------------------------------------------------------------ drift */

/* The shape of containerd 1.6's verbose Status "config" (trimmed). */
static const char running_lab[] =
	"{\"containerd\":{\"snapshotter\":\"overlayfs\",\"defaultRuntimeName\":\"runc\","
	"\"runtimes\":{\"runc\":{\"runtimeType\":\"io.containerd.runc.v2\",\"runtimePath\":\"\","
	"\"options\":{\"BinaryName\":\"/usr/sbin/runc\",\"Root\":\"/x/runc\",\"SystemdCgroup\":false},"
	"\"privileged_without_host_devices\":false}}},"
	"\"cni\":{\"binDir\":\"/usr/lib/cni\",\"confDir\":\"/x/cni/net.d\",\"maxConfNum\":1},"
	"\"sandboxImage\":\"127.0.0.1:5000/critic/pause:1.0\",\"restrictOOMScoreAdj\":true,"
	"\"containerdRootDir\":\"/x/root\",\"containerdEndpoint\":\"/x/containerd.sock\"}";

static void test_drift_compare(void)
{
	crit_err e;
	fault_cfg_doc *d = parse_ok("config.toml", lab_style);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	fault_cfg_drift r;
	memset(&r, 0, sizeof r);
	CU_ASSERT_EQUAL(fault_cfg_drift_compare(d, running_lab, &r, &e), 0);
	for (size_t i = 0; i < r.n_diffs; i++)
		say("unexpected: %s: file %s, running %s", r.diffs[i].what, r.diffs[i].file, r.diffs[i].running);
	CU_ASSERT_EQUAL(r.n_diffs, 0);
	/* sandbox_image, restrict_oom_score_adj, snapshotter, default_runtime_name,
	 * cni bin/conf dir, root, grpc.address, handler runc + runtime_type +
	 * 3 options. */
	CU_ASSERT_EQUAL(r.compared, 13);
	fault_cfg_drift_verdict(&r);
	CU_ASSERT(!r.restart_needed);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.verdict, "runs with config.toml as on disk"));
	fault_cfg_drift_free(&r);

	/* The file gets a handler and another sandbox image; the runtime was not restarted. */
	fault_cfg_handler h = { .name = "nvidia-like", .binary_name = "/usr/bin/crun" };
	CU_ASSERT_EQUAL(fault_cfg_doc_add_handler(d, &h, &e), 0);
	fault_cfg_value v = FAULT_CFG_STR("other/pause:2");
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, CRI, "sandbox_image", &v, &e), 0);
	v = FAULT_CFG_STR("/usr/local/bin/runc");
	CU_ASSERT_EQUAL(fault_cfg_doc_set(d, CRI ".containerd.runtimes.runc.options", "BinaryName", &v, &e), 0);
	memset(&r, 0, sizeof r);
	CU_ASSERT_EQUAL(fault_cfg_drift_compare(d, running_lab, &r, &e), 0);
	CU_ASSERT_EQUAL_FATAL(r.n_diffs, 3);
	CU_ASSERT_STRING_EQUAL(r.diffs[0].what, "sandbox_image");
	CU_ASSERT_STRING_EQUAL(r.diffs[0].file, "\"other/pause:2\"");
	CU_ASSERT_STRING_EQUAL(r.diffs[0].running, "\"127.0.0.1:5000/critic/pause:1.0\"");
	CU_ASSERT_EQUAL(r.diffs[0].line, 10);
	CU_ASSERT_STRING_EQUAL(r.diffs[1].what, "handler runc: options.BinaryName");
	CU_ASSERT_STRING_EQUAL(r.diffs[2].what, "handler nvidia-like");
	CU_ASSERT_STRING_EQUAL(r.diffs[2].running, "(not loaded)");
	CU_ASSERT_EQUAL(r.n_file_handlers, 2);
	CU_ASSERT_EQUAL(r.n_run_handlers, 1);
	/* Written after the runtime started. */
	r.start_ns = 1000;
	r.mtime_ns = 1000 + 60 * 1000000000LL;
	r.changed_after_start = true;
	fault_cfg_drift_verdict(&r);
	CU_ASSERT(r.restart_needed);
	CU_ASSERT_STRING_EQUAL(r.verdict, "config.toml changed after the runtime started: restart needed");
	/* Older than the runtime, still different: it runs another config. */
	r.changed_after_start = false;
	fault_cfg_drift_verdict(&r);
	CU_ASSERT(r.restart_needed);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.verdict, "restored from a backup, or the runtime started with another file"));
	fault_cfg_drift_free(&r);
	fault_cfg_free(d);

	/* A handler the runtime still has but the file dropped; a file with no
	 * handler at all expects containerd's built-in runc. */
	static const char two[] = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.crun]\n"
				  "  runtime_type = \"io.containerd.runc.v2\"\n";
	d = parse_ok("config.toml", two);
	memset(&r, 0, sizeof r);
	CU_ASSERT_EQUAL(fault_cfg_drift_compare(d, running_lab, &r, &e), 0);
	CU_ASSERT_EQUAL_FATAL(r.n_diffs, 2);
	CU_ASSERT_STRING_EQUAL(r.diffs[0].what, "handler crun");
	CU_ASSERT_STRING_EQUAL(r.diffs[1].what, "handler runc");
	CU_ASSERT_STRING_EQUAL(r.diffs[1].file, "(absent)");
	fault_cfg_drift_free(&r);
	fault_cfg_free(d);
	d = parse_ok("config.toml", "version = 2\n");
	memset(&r, 0, sizeof r);
	CU_ASSERT_EQUAL(fault_cfg_drift_compare(d, running_lab, &r, &e), 0);
	CU_ASSERT_EQUAL(r.n_diffs, 0);
	/* Not JSON: an error, not a verdict. */
	fault_cfg_drift_free(&r);
	memset(&r, 0, sizeof r);
	CU_ASSERT_EQUAL(fault_cfg_drift_compare(d, "{not json", &r, &e), -ERR_DECODE);
	fault_cfg_drift_free(&r);
	fault_cfg_free(d);
}

static void test_drift_times(void)
{
	crit_err e;
	const char *path = in_tmp("times.toml");
	char p[256];
	snprintf(p, sizeof p, "%s", path);
	CU_ASSERT_EQUAL_FATAL(write_sample(p, "version = 2\n", 0644), 0);
	/* This process's start time, against the wall clock. */
	int64_t start = fault_cfg_proc_start_ns(getpid());
	int64_t now = util_wall_ns();
	CU_ASSERT(start > 0 && start <= now + 20000000);
	fault_cfg_drift r;
	memset(&r, 0, sizeof r);
	CU_ASSERT_EQUAL(fault_cfg_drift_times(p, getpid(), &r, &e), 0);
	CU_ASSERT(!r.changed_after_start);  /* mtime 2020, the process is younger */
	CU_ASSERT_EQUAL(r.mtime_ns, 1600000000LL * 1000000000 + 123456789);
	/* A file written now is newer than this process. */
	struct timespec ts[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };
	util_sleep_ms(100);
	utimensat(AT_FDCWD, p, ts, 0);
	memset(&r, 0, sizeof r);
	CU_ASSERT_EQUAL(fault_cfg_drift_times(p, getpid(), &r, &e), 0);
	CU_ASSERT(r.changed_after_start);
	fault_cfg_drift_verdict(&r);
	CU_ASSERT(r.restart_needed);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.verdict, "changed after the runtime started: restart needed"));
	/* No pid: start unknown, never "changed after". */
	memset(&r, 0, sizeof r);
	CU_ASSERT_EQUAL(fault_cfg_drift_times(p, 0, &r, &e), 0);
	CU_ASSERT(!r.changed_after_start && r.start_ns == 0);
	CU_ASSERT_EQUAL(fault_cfg_drift_times(in_tmp("nope.toml"), 0, &r, &e), -ENOENT);
}

/* ------------------------------------------------------------ profiles, doctor offline */

static void test_profiles(void)
{
	const prof_runtime *p = prof_lookup("containerd");
	CU_ASSERT_EQUAL(p->kind, PROF_CONTAINERD);
	CU_ASSERT_STRING_EQUAL(p->config_path, "/etc/containerd/config.toml");
	CU_ASSERT(p->running_config_supported);
	CU_ASSERT(!p->reloads_on_sighup);
	CU_ASSERT_STRING_EQUAL(p->restart_cmd, "systemctl restart containerd");
	crit_err e;
	CU_ASSERT_EQUAL(prof_may_sighup_reload(p, &e), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "systemctl restart containerd"));
	p = prof_lookup("cri-o");
	CU_ASSERT_EQUAL(p->kind, PROF_CRIO);
	CU_ASSERT_EQUAL(prof_lookup("CRI-O")->kind, PROF_CRIO);
	CU_ASSERT_STRING_EQUAL(p->config_path, "/etc/crio/crio.conf");
	CU_ASSERT_STRING_EQUAL(p->config_dropins, "/etc/crio/crio.conf.d");
	CU_ASSERT_STRING_EQUAL(p->restart_cmd, "systemctl restart crio");
	CU_ASSERT_EQUAL(prof_may_sighup_reload(p, &e), 0);
	char *json = NULL;
	CU_ASSERT_EQUAL(prof_running_config(p, NULL, 0, &json, &e), -ENOTSUP);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "crio status config"));
	CU_ASSERT_PTR_NULL(json);
	p = prof_lookup("fancy-runtime");
	CU_ASSERT_EQUAL(p->kind, PROF_UNKNOWN);
	CU_ASSERT_PTR_NULL(p->config_path);
	CU_ASSERT_EQUAL(prof_may_sighup_reload(p, &e), -EPERM);
	CU_ASSERT_EQUAL(prof_lookup(NULL)->kind, PROF_UNKNOWN);
	CU_ASSERT_EQUAL(prof_from_socket("/run/containerd/containerd.sock")->kind, PROF_CONTAINERD);
	CU_ASSERT_EQUAL(prof_from_socket("/var/run/crio/crio.sock")->kind, PROF_CRIO);
	CU_ASSERT_EQUAL(prof_from_socket("/run/containerd/other.sock")->kind, PROF_UNKNOWN);
}

/* doctor without a runtime: the socket is missing; what it can still tell
 * from the file. */
static void test_doctor_unreachable(void)
{
	char cfg[256], bk[300];
	snprintf(cfg, sizeof cfg, "%s/doc.toml", tmpdir);
	CU_ASSERT_EQUAL_FATAL(write_sample(cfg, lab_style, 0644), 0);
	snprintf(bk, sizeof bk, "%s.critic-backup-old-run", cfg);
	util_write_file(bk, lab_style, strlen(lab_style), 0644, NULL);
	char sock[300];
	snprintf(sock, sizeof sock, "unix://%s/none.sock", tmpdir);
	doctor_opts o = { .endpoint = sock, .config_path = cfg, .lab_dir = in_tmp("no-lab") };
	doctor_report r;
	crit_err e;
	CU_ASSERT_EQUAL_FATAL(doctor_run(&o, &r, &e), 0);
	const doctor_fact *f = doctor_find(&r, "socket");
	CU_ASSERT(f && f->level == DOCTOR_FAIL && strstr(f->text, "No such file"));
	CU_ASSERT(r.unreachable);
	CU_ASSERT_EQUAL(doctor_exit_code(&r), 3);
	f = doctor_find(&r, "config");
	CU_ASSERT(f && f->level == DOCTOR_OK && strstr(f->text, "1 handler: runc"));
	f = doctor_find(&r, "backup");
	CU_ASSERT(f && f->level == DOCTOR_WARN && strstr(f->text, bk));
	f = doctor_find(&r, "drift");
	CU_ASSERT(f && f->level == DOCTOR_WARN && strstr(f->text, "not checked"));
	CU_ASSERT_PTR_NULL(doctor_find(&r, "cni"));
	doctor_report_free(&r);
	unlink(bk);

	/* A malformed config is a FAIL that says where. */
	CU_ASSERT_EQUAL_FATAL(write_sample(cfg, "version = 2\nx = [1,\n", 0644), 0);
	CU_ASSERT_EQUAL_FATAL(doctor_run(&o, &r, &e), 0);
	f = doctor_find(&r, "config");
	CU_ASSERT(f && f->level == DOCTOR_FAIL && strstr(f->text, "doc.toml:2:5: array not closed"));
	CU_ASSERT_PTR_NULL(doctor_find(&r, "backup"));
	doctor_report_free(&r);
	/* A bad endpoint is a usage error. */
	o.endpoint = "tcp://1.2.3.4:5";
	CU_ASSERT(doctor_run(&o, &r, &e) < 0);
	doctor_report_free(&r);
}

void tests_register_config(void)
{
	CU_pSuite s = CU_add_suite("unit/config", suite_init, suite_cleanup);
	if (!s)
		return;
	CU_add_test(s, "the test's own line diff", test_line_diff_itself);
	CU_add_test(s, "read containerd's default config", test_read_default);
	CU_add_test(s, "read a tricky file: comments, quoting, multi-line values", test_read_tricky);
	CU_add_test(s, "add/remove handler: containerd's default config", test_add_handler_default);
	CU_add_test(s, "add/remove handler: the lab's style", test_add_handler_lab_style);
	CU_add_test(s, "add/remove handler: tricky file, quoted name", test_add_handler_tricky);
	CU_add_test(s, "add/remove handler: tabs, no final line end, version 1, empty", test_add_handler_minimal);
	CU_add_test(s, "CRLF line ends kept and used", test_crlf);
	CU_add_test(s, "set keys: in place, comments and quotes kept, new keys", test_set_keys);
	CU_add_test(s, "set keys: new tables and root keys", test_set_new_table);
	CU_add_test(s, "set keys: containerd's default config", test_set_default);
	CU_add_test(s, "dotted keys, inline tables, arrays of tables: refused with file:line", test_unsupported);
	CU_add_test(s, "malformed files: file:line:col errors", test_malformed);
	CU_add_test(s, "files: backup, second patch, byte-identical restore", test_file_patch_restore);
	CU_add_test(s, "files: lab only unless disruptive, no backup on failure, symlinks", test_file_refusals);
	CU_add_test(s, "drift: file vs running config JSON, verdicts", test_drift_compare);
	CU_add_test(s, "drift: file times vs process start", test_drift_times);
	CU_add_test(s, "runtime profiles: containerd, CRI-O, unknown", test_profiles);
	CU_add_test(s, "doctor without a runtime: socket FAIL, file facts, exit 3", test_doctor_unreachable);
}
