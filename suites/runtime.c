/* runtime: what the runtime says about itself (Version, Status). */
#include <string.h>

#include "fx.h"

static void version_fields(tst_ctx *t)
{
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	Runtime__V1__VersionResponse *v = NULL;
	req.version = "v1";
	CALL_OK(t, Version, &req, &v);
	EXPECT(t, v->runtime_name[0] != '\0', "runtime_name is empty");
	EXPECT(t, v->runtime_version[0] != '\0', "runtime_version is empty");
	EXPECT(t, !strcmp(v->runtime_api_version, "v1"), "runtime_api_version is '%s', want 'v1'",
	       v->runtime_api_version);
	EXPECT(t, v->version[0] != '\0', "version (the kubelet API version the runtime speaks) is empty");
	tst_info(t, "%s %s, CRI %s", v->runtime_name, v->runtime_version, v->runtime_api_version);
	cri_free(v);
}

static Runtime__V1__RuntimeCondition *find_cond(Runtime__V1__StatusResponse *s, const char *type)
{
	for (size_t i = 0; s->status && i < s->status->n_conditions; i++)
		if (!strcmp(s->status->conditions[i]->type, type))
			return s->status->conditions[i];
	return NULL;
}

static void status_conditions(tst_ctx *t)
{
	Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
	Runtime__V1__StatusResponse *s = NULL;
	CALL_OK(t, Status, &req, &s);
	REQUIRE(t, s->status != NULL, "Status reply has no status");
	Runtime__V1__RuntimeCondition *rr = find_cond(s, "RuntimeReady"), *nr = find_cond(s, "NetworkReady");
	REQUIRE(t, rr != NULL, "no RuntimeReady condition (the kubelet treats this as an error)");
	REQUIRE(t, nr != NULL, "no NetworkReady condition (the kubelet treats this as an error)");
	EXPECT(t, rr->status, "RuntimeReady is false: %s %s", rr->reason, rr->message);
	EXPECT(t, nr->status, "NetworkReady is false: %s %s", nr->reason, nr->message);
	EXPECT(t, s->n_info == 0, "non-verbose Status returned %zu info entries", s->n_info);
	cri_free(s);
}

static void status_verbose(tst_ctx *t)
{
	Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
	Runtime__V1__StatusResponse *s = NULL;
	req.verbose = true;
	CALL_OK(t, Status, &req, &s);
	EXPECT(t, s->n_info > 0, "verbose Status returned no info");
	for (size_t i = 0; i < s->n_info; i++)
		EXPECT(t, s->info[i]->value[0] != '\0', "info[%s] is empty", s->info[i]->key);
	cri_free(s);
}

static const tst_case runtime_cases[] = {
	{ "runtime/version", "Version reports runtime name, version and API version v1", version_fields },
	{ "runtime/status-conditions", "Status has RuntimeReady and NetworkReady, both true", status_conditions },
	{ "runtime/status-verbose", "verbose Status returns non-empty info", status_verbose },
};
TST_SUITE("runtime", "Runtime information", runtime_cases)
