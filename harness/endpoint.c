#include "endpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "util.h"

int ep_parse(const char *in, char *out, size_t outlen, char *path, size_t pathlen, crit_err *e)
{
	if (!in || !*in)
		return err_set(e, -ERR_CONFIG, "empty endpoint: give unix:///path/to/socket");
	const char *p;
	if (util_has_prefix(in, "unix://"))
		p = in + strlen("unix://");
	else if (in[0] == '/')
		p = in;
	else if (strstr(in, "://"))
		return err_set(e, -ERR_CONFIG,
			       "endpoint '%s': only unix sockets are supported (unix:///path/to/socket)", in);
	else
		return err_set(e, -ERR_CONFIG,
			       "endpoint '%s': not an absolute socket path; write unix:///abs/path", in);
	if (p[0] != '/')
		return err_set(e, -ERR_CONFIG, "endpoint '%s': the socket path must be absolute (unix:///abs/path)", in);
	/* sun_path holds 108 bytes including the terminator. */
	if (strlen(p) > 107)
		return err_set(e, -ENAMETOOLONG, "endpoint '%s': socket path longer than 107 bytes", in);
	if ((size_t)snprintf(out, outlen, "unix://%s", p) >= outlen)
		return err_set(e, -ENAMETOOLONG, "endpoint '%s': too long", in);
	if (path && (size_t)snprintf(path, pathlen, "%s", p) >= pathlen)
		return err_set(e, -ENAMETOOLONG, "endpoint '%s': too long", in);
	return 0;
}

const char *ep_socket_problem(const char *endpoint, char *buf, size_t len)
{
	char canon[EP_MAX], path[EP_MAX];
	if (ep_parse(endpoint, canon, sizeof canon, path, sizeof path, NULL) < 0) {
		snprintf(buf, len, "'%s' is not a unix socket endpoint", endpoint ? endpoint : "");
		return buf;
	}
	struct stat st;
	if (stat(path, &st) < 0) {
		int err = errno;
		if (err == ENOENT)
			snprintf(buf, len, "%s does not exist", path);
		else if (err == ENOTDIR)
			snprintf(buf, len, "a parent of %s is not a directory", path);
		else
			snprintf(buf, len, "%s: %s", path, strerror(err));
		return buf;
	}
	if (S_ISSOCK(st.st_mode))
		return NULL;
	if (S_ISREG(st.st_mode))
		snprintf(buf, len, "%s is a regular file, not a unix socket", path);
	else if (S_ISDIR(st.st_mode))
		snprintf(buf, len, "%s is a directory, not a unix socket", path);
	else
		snprintf(buf, len, "%s is not a unix socket (file type %o)", path, (unsigned)(st.st_mode & S_IFMT) >> 12);
	return buf;
}

static bool key_used(const char *key)
{
	return !strcmp(key, "runtime-endpoint") || !strcmp(key, "image-endpoint") || !strcmp(key, "timeout");
}

/* A plain scalar YAML reads as null ("key:", "key: ~", "key: null"): the
 * setting is left unset, as crictl does. A quoted "" is a real empty string. */
static bool yaml_is_null(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL"));
}

/* Scalars of the top-level mapping in crictl.yaml that critic uses. */
static int apply_key(ep_config *cfg, const char *file, const yaml_event_t *kev, const char *key,
		     const char *val, const yaml_event_t *vev, crit_err *e)
{
	int line = (int)vev->start_mark.line + 1, col = (int)vev->start_mark.column + 1;
	if (key_used(key) && yaml_is_null(vev))
		return 0;
	if (!strcmp(key, "runtime-endpoint") || !strcmp(key, "image-endpoint")) {
		char *dst = key[0] == 'r' ? cfg->runtime : cfg->image;
		if (!*val)
			return 0;
		int rc = ep_parse(val, dst, EP_MAX, NULL, 0, e);
		if (rc < 0)
			return err_wrap(e, "%s:%d:%d: %s", file, line, col, key);
		if (key[0] == 'r')
			snprintf(cfg->source, sizeof cfg->source, "%s:%d", file, line);
		return 0;
	}
	if (!strcmp(key, "timeout")) {
		char *end;
		long v = strtol(val, &end, 10);
		if (!*val || *end || v < 0 || v > 86400)
			return err_set(e, -ERR_CONFIG, "%s:%d:%d: timeout: '%s' is not a number of seconds (0..86400)",
				       file, line, col, val);
		if (v > 0)
			cfg->timeout_ms = (int)v * 1000;
		return 0;
	}
	(void)kev; /* other crictl keys (debug, pull-image-on-create, …) are crictl's own */
	return 0;
}

/* The settings of a crictl.yaml from a parser set up on its input; file
 * names the input in messages. */
static int parse_crictl(ep_config *cfg, const char *file, yaml_parser_t *parser, crit_err *e)
{
	int rc = 0, depth = 0;
	bool top_is_map = false, saw_root = false;
	char key[128] = "";
	yaml_event_t kev = { 0 };
	bool have_key = false;
	for (bool done = false; !done && rc == 0;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(parser, &ev)) {
			rc = err_set(e, -ERR_CONFIG, "%s:%zu:%zu: %s", file, parser->problem_mark.line + 1,
				     parser->problem_mark.column + 1, parser->problem ? parser->problem : "YAML syntax error");
			break;
		}
		int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (depth == 0) {
				saw_root = true;
				top_is_map = ev.type == YAML_MAPPING_START_EVENT;
				if (!top_is_map)
					rc = err_set(e, -ERR_CONFIG, "%s:%d:%d: expected a mapping of crictl settings",
						     file, line, col);
			} else if (depth == 1 && have_key) {
				/* A nested value: fine for crictl keys critic does not
				 * use, wrong for one it does. */
				if (key_used(key))
					rc = err_set(e, -ERR_CONFIG, "%s:%d:%d: %s: expected a single value, not a %s",
						     file, line, col, key,
						     ev.type == YAML_MAPPING_START_EVENT ? "mapping" : "list");
				have_key = false;
			}
			depth++;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			if (depth == 0) {
				/* An empty file parses as a null scalar document. */
				if (ev.data.scalar.length)
					rc = err_set(e, -ERR_CONFIG, "%s:%d:%d: expected a mapping of crictl settings",
						     file, line, col);
				saw_root = true;
			} else if (depth == 1) {
				if (!have_key) {
					snprintf(key, sizeof key, "%s", (char *)ev.data.scalar.value);
					kev = ev;
					have_key = true;
					/* kev keeps only marks; its value pointer is not used */
					memset(&kev.data, 0, sizeof kev.data);
				} else {
					rc = apply_key(cfg, file, &kev, key, (char *)ev.data.scalar.value, &ev, e);
					have_key = false;
				}
			}
			break;
		case YAML_ALIAS_EVENT:
			/* An alias stands for a whole node. As a key it starts a
			 * pair critic ignores; as the value of a key critic uses
			 * it is refused rather than resolved. Either way the
			 * key/value pairing must stay in step. */
			if (depth == 1) {
				if (!have_key) {
					key[0] = '\0';
					have_key = true;
				} else {
					if (key_used(key))
						rc = err_set(e, -ERR_CONFIG,
							     "%s:%d:%d: %s: YAML aliases are not supported here",
							     file, line, col, key);
					have_key = false;
				}
			}
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	(void)saw_root;
	return rc;
}

int ep_load_crictl_yaml(ep_config *cfg, const char *file, crit_err *e)
{
	FILE *f = fopen(file, "re");
	if (!f)
		return errno == ENOENT ? 0 : err_set(e, -errno, "open %s: %s", file, strerror(errno));
	yaml_parser_t parser;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	int rc = parse_crictl(cfg, file, &parser, e);
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}

int ep_parse_crictl_yaml_buf(ep_config *cfg, const char *name, const char *buf, size_t len, crit_err *e)
{
	yaml_parser_t parser;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	int rc = parse_crictl(cfg, name ? name : "(buffer)", &parser, e);
	yaml_parser_delete(&parser);
	return rc;
}

int ep_resolve(ep_config *cfg, const char *crictl_yaml, const char *flag_runtime,
	       const char *flag_image, int flag_timeout_ms, crit_err *e)
{
	int rc;
	if (crictl_yaml && (rc = ep_load_crictl_yaml(cfg, crictl_yaml, e)) < 0)
		return rc;
	const char *env = getenv("CONTAINER_RUNTIME_ENDPOINT");
	if (env && *env) {
		if ((rc = ep_parse(env, cfg->runtime, EP_MAX, NULL, 0, e)) < 0)
			return err_wrap(e, "CONTAINER_RUNTIME_ENDPOINT");
		snprintf(cfg->source, sizeof cfg->source, "CONTAINER_RUNTIME_ENDPOINT");
	}
	env = getenv("IMAGE_SERVICE_ENDPOINT");
	if (env && *env && (rc = ep_parse(env, cfg->image, EP_MAX, NULL, 0, e)) < 0)
		return err_wrap(e, "IMAGE_SERVICE_ENDPOINT");
	if (flag_runtime && *flag_runtime) {
		if ((rc = ep_parse(flag_runtime, cfg->runtime, EP_MAX, NULL, 0, e)) < 0)
			return err_wrap(e, "--runtime-endpoint");
		snprintf(cfg->source, sizeof cfg->source, "--runtime-endpoint");
	}
	if (flag_image && *flag_image && (rc = ep_parse(flag_image, cfg->image, EP_MAX, NULL, 0, e)) < 0)
		return err_wrap(e, "--image-endpoint");
	if (flag_timeout_ms > 0)
		cfg->timeout_ms = flag_timeout_ms;
	return 0;
}
