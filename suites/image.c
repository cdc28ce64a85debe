/* image: the ImageService as the kubelet uses it: pull by tag, digest and
 * default tag, status by every reference kind, list, remove, fs usage.
 * Tests that pull and remove use the lab's image-a and image-b roles only,
 * never the shared busybox or pause images. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fx.h"
#include "util.h"

#define GRPC_DEADLINE_EXCEEDED 4
#define MIB (1024 * 1024)
/* How long a cached usage figure may take to follow a change: containerd
 * refreshes its snapshot usage every 10 s (stats_collect_period). */
#define USAGE_SYNC_MS 25000

/* ------------------------------------------------------------ helpers */

/* The reference of a lab role, or a skip when this run has no such role
 * (an endpoint other than the lab). */
static const char *role_ref(tst_ctx *t, const char *role)
{
	for (size_t i = 0; i < t->env->n_images; i++)
		if (!strcmp(t->env->images[i].role, role))
			return t->env->images[i].ref;
	if (t->env->n_images == 0)
		tst_skip(t, "%s", TST_NO_IMAGES);
	tst_skip(t, "no '%s' image in this run (give it in --images-file)", role);
}

/* "host:port/path/name:tag" -> "host:port/path/name". */
static char *repo_of(const char *ref)
{
	char *repo = util_strdup_printf("%s", ref);
	char *slash = strrchr(repo, '/');
	char *colon = strrchr(repo, ':');
	if (colon && (!slash || colon > slash))
		*colon = '\0';
	return repo;
}

static bool strv_has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

static char *strv_join(char *const *v, size_t n)
{
	strbuf sb = { 0 };
	sb_printf(&sb, "[");
	for (size_t i = 0; i < n; i++)
		sb_printf(&sb, "%s%s", i ? " " : "", v[i]);
	sb_printf(&sb, "]");
	return sb.buf;
}

/* ImageStatus that must succeed; the reply's image may be NULL. */
static Runtime__V1__ImageStatusResponse *img_status(tst_ctx *t, const char *ref)
{
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
	Runtime__V1__ImageStatusResponse *resp = NULL;
	spec.image = (char *)ref;
	req.image = &spec;
	CALL_OK(t, ImageStatus, &req, &resp);
	return resp;
}

/* PullImage with a pull-sized deadline; returns the call's result. */
static int img_pull_try(tst_ctx *t, const char *ref, int timeout_ms, char **image_ref)
{
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__PullImageResponse *resp = NULL;
	spec.image = (char *)ref;
	req.image = &spec;
	int rc = CRI_CALL_T(t->cri, PullImage, &req, &resp, timeout_ms, &t->err);
	if (rc == 0 && image_ref)
		*image_ref = util_strdup_printf("%s", resp->image_ref);
	cri_free(resp);
	return rc;
}

static char *img_pull(tst_ctx *t, const char *ref)
{
	char *image_ref = NULL;
	if (img_pull_try(t, ref, 6 * cri_timeout_ms(t->cri), &image_ref) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	return image_ref;
}

static int img_remove_try(tst_ctx *t, const char *ref)
{
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	Runtime__V1__RemoveImageRequest req = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
	Runtime__V1__RemoveImageResponse *resp = NULL;
	spec.image = (char *)ref;
	req.image = &spec;
	int rc = CRI_CALL(t->cri, RemoveImage, &req, &resp, &t->err);
	cri_free(resp);
	return rc;
}

static void img_remove(tst_ctx *t, const char *ref)
{
	if (img_remove_try(t, ref) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
}

/* Remove every copy of an image role's image (by id, so all its tags and
 * digests go); true when there was one. */
static bool img_purge(tst_ctx *t, const char *ref)
{
	Runtime__V1__ImageStatusResponse *st = img_status(t, ref);
	bool had = st->image != NULL;
	if (had && img_remove_try(t, st->image->id) < 0)
		tst_fail(t, __FILE__, __LINE__, "removing %s (%s): %s", ref, st->image->id, t->err.msg);
	cri_free(st);
	return had;
}

static void purge_deferred(tst_ctx *t, void *arg)
{
	img_purge(t, arg);
}

/* A role only this suite pulls and removes (image-a, image-b): absent when
 * the test starts, removed again when it ends. */
static const char *own_image(tst_ctx *t, const char *role)
{
	const char *ref = role_ref(t, role);
	if (img_purge(t, ref))
		tst_info(t, "%s was present at the start (left by an earlier run); removed it", ref);
	tst_defer(t, purge_deferred, (void *)ref);
	return ref;
}

static Runtime__V1__ListImagesResponse *img_list(tst_ctx *t)
{
	Runtime__V1__ListImagesRequest req = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
	Runtime__V1__ListImagesResponse *resp = NULL;
	CALL_OK(t, ListImages, &req, &resp);
	return resp;
}

static Runtime__V1__Image *list_find_id(Runtime__V1__ListImagesResponse *l, const char *id)
{
	for (size_t i = 0; i < l->n_images; i++)
		if (!strcmp(l->images[i]->id, id))
			return l->images[i];
	return NULL;
}

static Runtime__V1__Image *list_find_tag(Runtime__V1__ListImagesResponse *l, const char *tag)
{
	for (size_t i = 0; i < l->n_images; i++)
		if (strv_has(l->images[i]->repo_tags, l->images[i]->n_repo_tags, tag))
			return l->images[i];
	return NULL;
}

/* "REPO@sha256:<64 hex>" */
static bool is_digest_ref(const char *s, const char *repo)
{
	size_t rl = strlen(repo);
	if (strncmp(s, repo, rl) != 0 || strncmp(s + rl, "@sha256:", 8) != 0)
		return false;
	const char *h = s + rl + 8;
	if (strlen(h) != 64)
		return false;
	return strspn(h, "0123456789abcdef") == 64;
}

/* The image's digest reference in its repository, from a status reply. */
static char *digest_of(tst_ctx *t, Runtime__V1__Image *img, const char *repo)
{
	for (size_t i = 0; i < img->n_repo_digests; i++)
		if (is_digest_ref(img->repo_digests[i], repo))
			return util_strdup_printf("%s", img->repo_digests[i]);
	cleanup_free char *have = strv_join(img->repo_digests, img->n_repo_digests);
	tst_fail_now(t, __FILE__, __LINE__, "repo_digests %s has no %s@sha256:… entry", have, repo);
}

/* ------------------------------------------------------------ pull */

static void pull_by_tag(tst_ctx *t)
{
	const char *ref = own_image(t, "image-a");
	char *image_ref = img_pull(t, ref);
	EXPECT(t, image_ref[0] != '\0', "PullImage returned an empty image_ref");
	Runtime__V1__ImageStatusResponse *st = img_status(t, ref);
	REQUIRE(t, st->image != NULL, "ImageStatus(%s) right after the pull: no image", ref);
	Runtime__V1__Image *img = st->image;
	cleanup_free char *repo = repo_of(ref);
	/* The CRI: image_ref is the image id or a digest reference. */
	EXPECT(t, !strcmp(image_ref, img->id) || strv_has(img->repo_digests, img->n_repo_digests, image_ref),
	       "image_ref %s is neither the id %s nor one of its digests", image_ref, img->id);
	EXPECT(t, strv_has(img->repo_tags, img->n_repo_tags, ref), "repo_tags lack %s", ref);
	EXPECT(t, img->n_repo_digests >= 1 && is_digest_ref(img->repo_digests[0], repo),
	       "repo_digests[0] is not %s@sha256:…: %s", repo, img->n_repo_digests ? img->repo_digests[0] : "(none)");
	cri_free(st);
}

static void pull_default_tag(tst_ctx *t)
{
	const char *ref = own_image(t, "image-a");
	cleanup_free char *repo = repo_of(ref);
	cleanup_free char *latest = util_strdup_printf("%s:latest", repo);
	/* Make sure the :latest tag is not there before the pull. */
	img_purge(t, latest);
	img_pull(t, repo);
	Runtime__V1__ImageStatusResponse *st = img_status(t, latest);
	REQUIRE(t, st->image != NULL, "pulled %s (no tag), but ImageStatus(%s) finds no image", repo, latest);
	cleanup_free char *tags = strv_join(st->image->repo_tags, st->image->n_repo_tags);
	EXPECT(t, strv_has(st->image->repo_tags, st->image->n_repo_tags, latest),
	       "a pull without a tag must resolve to :latest; repo_tags %s lack %s", tags, latest);
	cri_free(st);
}

static void pull_by_digest(tst_ctx *t)
{
	const char *ref = own_image(t, "image-a");
	cleanup_free char *repo = repo_of(ref);
	img_pull(t, ref);
	Runtime__V1__ImageStatusResponse *st = img_status(t, ref);
	REQUIRE(t, st->image != NULL, "ImageStatus(%s) after the pull: no image", ref);
	char *digest = digest_of(t, st->image, repo);
	char *id = util_strdup_printf("%s", st->image->id);
	cri_free(st);
	img_remove(t, ref);
	st = img_status(t, digest);
	REQUIRE(t, st->image == NULL, "%s still present after RemoveImage(%s)", digest, ref);
	cri_free(st);

	char *image_ref = img_pull(t, digest);
	st = img_status(t, digest);
	REQUIRE(t, st->image != NULL, "pulled %s, but ImageStatus of it finds no image", digest);
	EXPECT(t, !strcmp(st->image->id, id), "id %s after the digest pull, %s after the tag pull", st->image->id, id);
	EXPECT(t, !strcmp(image_ref, id) || !strcmp(image_ref, digest), "image_ref %s is neither %s nor %s", image_ref,
	       id, digest);
	cleanup_free char *digests = strv_join(st->image->repo_digests, st->image->n_repo_digests);
	EXPECT(t, strv_has(st->image->repo_digests, st->image->n_repo_digests, digest), "repo_digests %s lack %s",
	       digests, digest);
	cri_free(st);
}

/* By the digest the registry holds for the role (from the run's images:
 * `critic images` asked the registry), with no tag pull before it. */
static void pull_by_registry_digest(tst_ctx *t)
{
	const char *ref = own_image(t, "image-a");
	const char *digest = "";
	for (size_t i = 0; i < t->env->n_images; i++)
		if (!strcmp(t->env->images[i].role, "image-a"))
			digest = t->env->images[i].digest;
	if (!digest[0])
		tst_skip(t, "the registry's digest of %s is not known (see critic images list)", ref);
	cleanup_free char *repo = repo_of(ref);
	char *by_digest = util_strdup_printf("%s@%s", repo, digest);
	/* Pulled by digest only, the image has no tag for own_image to find. */
	tst_defer(t, purge_deferred, by_digest);
	char *image_ref = img_pull(t, by_digest);
	Runtime__V1__ImageStatusResponse *st = img_status(t, by_digest);
	REQUIRE(t, st->image != NULL, "pulled %s, but ImageStatus of it finds no image", by_digest);
	cleanup_free char *digests = strv_join(st->image->repo_digests, st->image->n_repo_digests);
	EXPECT(t, strv_has(st->image->repo_digests, st->image->n_repo_digests, by_digest),
	       "repo_digests %s lack the registry's %s", digests, by_digest);
	EXPECT(t, !strcmp(image_ref, st->image->id) || !strcmp(image_ref, by_digest), "image_ref %s is neither %s nor %s",
	       image_ref, st->image->id, by_digest);
	cri_free(st);
}

static void pull_twice(tst_ctx *t)
{
	const char *ref = own_image(t, "image-a");
	char *first = img_pull(t, ref);
	Runtime__V1__ListImagesResponse *l1 = img_list(t);
	char *second = img_pull(t, ref);
	Runtime__V1__ListImagesResponse *l2 = img_list(t);
	EXPECT(t, !strcmp(first, second), "image_ref %s on the first pull, %s on the second", first, second);
	EXPECT(t, l1->n_images == l2->n_images, "%zu images after the first pull, %zu after the second",
	       l1->n_images, l2->n_images);
	cri_free(l1);
	cri_free(l2);
}

static void pull_missing(tst_ctx *t)
{
	const char *ref = role_ref(t, "image-a");
	cleanup_free char *repo = repo_of(ref);
	/* A tag the repository lacks, and a repository the registry lacks. */
	char *refs[2] = {
		util_strdup_printf("%s:no-such-tag-%d", repo, (int)getpid()),
		util_strdup_printf("%s-no-such-repo-%d:1.0", repo, (int)getpid()),
	};
	for (size_t i = 0; i < 2; i++) {
		int64_t t0 = util_now_ms();
		int rc = img_pull_try(t, refs[i], 6 * cri_timeout_ms(t->cri), NULL);
		int64_t ms = util_now_ms() - t0;
		if (rc == 0) {
			tst_fail(t, __FILE__, __LINE__, "pulling %s succeeded; the registry has no such image", refs[i]);
			img_purge(t, refs[i]);
			continue;
		}
		EXPECT(t, t->err.grpc_status > 0 && t->err.grpc_status != GRPC_DEADLINE_EXCEEDED,
		       "pull of %s: want an error from the runtime, got %s after %lld ms", refs[i], t->err.msg,
		       (long long)ms);
		EXPECT(t, strstr(t->err.msg, refs[i]) != NULL, "the error does not name the reference %s: %s", refs[i],
		       t->err.msg);
		Runtime__V1__ImageStatusResponse *st = img_status(t, refs[i]);
		EXPECT(t, st->image == NULL, "a failed pull left an image for %s", refs[i]);
		cri_free(st);
	}
}

static void close_fd(tst_ctx *t, void *arg)
{
	close(*(int *)arg);
}

static void pull_unreachable(tst_ctx *t)
{
	/* A port bound but not listening: connects are refused, and nobody
	 * else can take the port while the test runs. */
	static int fd;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(t, fd >= 0, "socket: %s", strerror(errno));
	tst_defer(t, close_fd, &fd);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	REQUIRE(t, bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "bind: %s", strerror(errno));
	REQUIRE(t, getsockname(fd, (struct sockaddr *)&sa, &len) == 0, "getsockname: %s", strerror(errno));
	char *host = util_strdup_printf("127.0.0.1:%d", ntohs(sa.sin_port));
	char *ref = util_strdup_printf("%s/critic/busybox:1.0", host);
	int deadline_ms = 20000;
	int64_t t0 = util_now_ms();
	int rc = img_pull_try(t, ref, deadline_ms, NULL);
	int64_t ms = util_now_ms() - t0;
	REQUIRE(t, rc < 0, "pulling %s from a port where nothing listens succeeded", ref);
	EXPECT(t, t->err.grpc_status > 0 && t->err.grpc_status != GRPC_DEADLINE_EXCEEDED,
	       "want the pull to fail at once (connection refused), got %s after %lld ms", t->err.msg, (long long)ms);
	EXPECT(t, ms < deadline_ms, "the pull took %lld ms, deadline %d ms", (long long)ms, deadline_ms);
	EXPECT(t, strstr(t->err.msg, host) != NULL, "the error does not name the registry %s: %s", host, t->err.msg);
}

/* ------------------------------------------------------------ status */

static void check_image(tst_ctx *t, const char *how, Runtime__V1__Image *img, const char *id, const char *tag,
			const char *digest)
{
	EXPECT(t, !strcmp(img->id, id), "%s: id %s, want %s", how, img->id, id);
	cleanup_free char *tags = strv_join(img->repo_tags, img->n_repo_tags);
	cleanup_free char *digests = strv_join(img->repo_digests, img->n_repo_digests);
	EXPECT(t, img->n_repo_tags == 1 && !strcmp(img->repo_tags[0], tag), "%s: repo_tags %s, want [%s]", how, tags,
	       tag);
	EXPECT(t, img->n_repo_digests == 1 && !strcmp(img->repo_digests[0], digest), "%s: repo_digests %s, want [%s]",
	       how, digests, digest);
	/* image-a carries a 1 MiB layer of incompressible data. */
	EXPECT(t, img->size >= MIB, "%s: size %llu, want at least 1 MiB", how, (unsigned long long)img->size);
}

static void status_by_reference(tst_ctx *t)
{
	const char *ref = own_image(t, "image-a");
	cleanup_free char *repo = repo_of(ref);
	img_pull(t, ref);
	Runtime__V1__ImageStatusResponse *by_tag = img_status(t, ref);
	REQUIRE(t, by_tag->image != NULL, "ImageStatus(%s): no image", ref);
	char *id = util_strdup_printf("%s", by_tag->image->id);
	char *digest = digest_of(t, by_tag->image, repo);
	EXPECT(t, util_has_prefix(id, "sha256:") && strlen(id) == 71, "id %s is not sha256:<64 hex>", id);
	check_image(t, "by tag", by_tag->image, id, ref, digest);
	cri_free(by_tag);

	const char *refs[] = { digest, id };
	const char *hows[] = { "by digest", "by id" };
	for (size_t i = 0; i < 2; i++) {
		Runtime__V1__ImageStatusResponse *st = img_status(t, refs[i]);
		EXPECT(t, st->image != NULL, "ImageStatus(%s): no image", refs[i]);
		if (st->image)
			check_image(t, hows[i], st->image, id, ref, digest);
		cri_free(st);
	}
}

static void status_absent(tst_ctx *t)
{
	const char *ref = role_ref(t, "image-a");
	cleanup_free char *repo = repo_of(ref);
	const char *refs[] = {
		util_strdup_printf("%s:never-pulled-%d", repo, (int)getpid()),
		util_strdup_printf("%s@sha256:%064d", repo, 0),
		util_strdup_printf("sha256:%064d", 0),
	};
	for (size_t i = 0; i < ARRAY_SIZE(refs); i++) {
		Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
		Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
		Runtime__V1__ImageStatusResponse *resp = NULL;
		spec.image = (char *)refs[i];
		req.image = &spec;
		/* The CRI: an absent image is an OK reply with the image unset. */
		if (CRI_CALL(t->cri, ImageStatus, &req, &resp, &t->err) < 0) {
			tst_fail(t, __FILE__, __LINE__, "ImageStatus(%s) of an absent image: want OK, no image; got %s",
				 refs[i], t->err.msg);
			continue;
		}
		EXPECT(t, resp->image == NULL, "ImageStatus(%s) returned image %s for an image that is not there",
		       refs[i], resp->image->id);
		cri_free(resp);
	}
}

static void status_user_uid(tst_ctx *t)
{
	const char *ref = role_ref(t, "user-uid");
	fx_ensure_image(t, ref);
	Runtime__V1__ImageStatusResponse *st = img_status(t, ref);
	REQUIRE(t, st->image != NULL, "ImageStatus(%s): no image", ref);
	/* Its config says User "1002". */
	REQUIRE(t, st->image->uid != NULL, "uid unset; the image's config sets user 1002");
	EXPECT(t, st->image->uid->value == 1002, "uid %lld, want 1002", (long long)st->image->uid->value);
	EXPECT(t, !st->image->username[0], "username '%s', want empty (the user is numeric)", st->image->username);
	cri_free(st);
}

static void status_user_name(tst_ctx *t)
{
	const char *ref = role_ref(t, "user-name");
	fx_ensure_image(t, ref);
	Runtime__V1__ImageStatusResponse *st = img_status(t, ref);
	REQUIRE(t, st->image != NULL, "ImageStatus(%s): no image", ref);
	/* Its config says User "critic": a name, so uid stays unset. */
	EXPECT(t, !strcmp(st->image->username, "critic"), "username '%s', want 'critic'", st->image->username);
	EXPECT(t, st->image->uid == NULL, "uid %lld set; the image names its user, uid and username are exclusive",
	       st->image->uid ? (long long)st->image->uid->value : 0LL);
	cri_free(st);
}

/* ------------------------------------------------------------ list + remove */

static void list_after_pull(tst_ctx *t)
{
	const char *ref = own_image(t, "image-a");
	Runtime__V1__ListImagesResponse *before = img_list(t);
	EXPECT(t, list_find_tag(before, ref) == NULL, "ListImages shows %s before it was pulled", ref);
	img_pull(t, ref);
	/* Right after the pull, with no delay: the kubelet lists at once. */
	Runtime__V1__ListImagesResponse *after = img_list(t);
	EXPECT(t, after->n_images == before->n_images + 1, "%zu images before the pull, %zu after; want one more",
	       before->n_images, after->n_images);
	Runtime__V1__ImageStatusResponse *st = img_status(t, ref);
	REQUIRE(t, st->image != NULL, "ImageStatus(%s): no image", ref);
	Runtime__V1__Image *li = list_find_id(after, st->image->id);
	REQUIRE(t, li != NULL, "ListImages lacks %s (%s) right after its pull", ref, st->image->id);
	cleanup_free char *tags = strv_join(li->repo_tags, li->n_repo_tags);
	EXPECT(t, strv_has(li->repo_tags, li->n_repo_tags, ref), "listed repo_tags %s lack %s", tags, ref);
	EXPECT(t, li->n_repo_digests == st->image->n_repo_digests && li->n_repo_digests > 0 &&
			  !strcmp(li->repo_digests[0], st->image->repo_digests[0]),
	       "ListImages and ImageStatus disagree on repo_digests");
	EXPECT(t, li->size == st->image->size, "listed size %llu, ImageStatus size %llu", (unsigned long long)li->size,
	       (unsigned long long)st->image->size);
	cri_free(st);
	cri_free(before);
	cri_free(after);
}

/* Pull, then remove by tag or by id; the image must be gone from status
 * (every reference kind) and from the list at once. */
static void remove_with(tst_ctx *t, bool by_id)
{
	const char *ref = own_image(t, "image-a");
	cleanup_free char *repo = repo_of(ref);
	Runtime__V1__ListImagesResponse *before = img_list(t);
	img_pull(t, ref);
	Runtime__V1__ImageStatusResponse *st = img_status(t, ref);
	REQUIRE(t, st->image != NULL, "ImageStatus(%s): no image", ref);
	char *id = util_strdup_printf("%s", st->image->id);
	char *digest = digest_of(t, st->image, repo);
	cri_free(st);

	img_remove(t, by_id ? id : ref);
	const char *refs[] = { ref, digest, id };
	for (size_t i = 0; i < ARRAY_SIZE(refs); i++) {
		st = img_status(t, refs[i]);
		EXPECT(t, st->image == NULL, "ImageStatus(%s) right after RemoveImage(%s) still finds %s", refs[i],
		       by_id ? id : ref, st->image->id);
		cri_free(st);
	}
	Runtime__V1__ListImagesResponse *after = img_list(t);
	EXPECT(t, list_find_id(after, id) == NULL, "ListImages still has %s right after its removal", id);
	EXPECT(t, list_find_tag(after, ref) == NULL, "ListImages still has the tag %s right after its removal", ref);
	EXPECT(t, after->n_images == before->n_images, "%zu images before the pull, %zu after pull + remove",
	       before->n_images, after->n_images);
	cri_free(before);
	cri_free(after);
}

static void remove_by_tag(tst_ctx *t)
{
	remove_with(t, false);
}

static void remove_by_id(tst_ctx *t)
{
	remove_with(t, true);
}

static void remove_absent(tst_ctx *t)
{
	const char *ref = own_image(t, "image-a");
	/* The CRI: RemoveImage is idempotent; an absent image is no error. */
	EXPECT(t, img_remove_try(t, ref) == 0, "RemoveImage(%s) of an absent image: %s", ref, t->err.msg);
	img_pull(t, ref);
	img_remove(t, ref);
	EXPECT(t, img_remove_try(t, ref) == 0, "RemoveImage(%s) a second time: %s", ref, t->err.msg);
}

typedef struct {
	const tst_env *env;
	const char *ref;
	pthread_barrier_t *go;
	int rc;
	char msg[1024];
} remover;

static void *remove_thread(void *arg)
{
	remover *r = arg;
	cri_conn *c = NULL;
	crit_err e;
	err_clear(&e);
	if (cri_connect(&c, r->env->endpoint, r->env->image_endpoint, r->env->timeout_ms, &e) < 0) {
		pthread_barrier_wait(r->go);
		r->rc = e.code;
		snprintf(r->msg, sizeof r->msg, "%s", e.msg);
		return NULL;
	}
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	Runtime__V1__RemoveImageRequest req = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
	Runtime__V1__RemoveImageResponse *resp = NULL;
	spec.image = (char *)r->ref;
	req.image = &spec;
	pthread_barrier_wait(r->go);
	r->rc = CRI_CALL(c, RemoveImage, &req, &resp, &e);
	if (r->rc < 0)
		snprintf(r->msg, sizeof r->msg, "%s", e.msg);
	cri_free(resp);
	cri_close(c);
	return NULL;
}

static void remove_concurrent(tst_ctx *t)
{
	const char *ref = own_image(t, "image-b");
	img_pull(t, ref);
	enum { N = 4 };
	remover rs[N];
	pthread_t th[N];
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, N);
	/* Each thread has its own connection, as separate clients would. */
	for (int i = 0; i < N; i++) {
		rs[i] = (remover){ .env = t->env, .ref = ref, .go = &go };
		REQUIRE(t, pthread_create(&th[i], NULL, remove_thread, &rs[i]) == 0, "pthread_create failed");
	}
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&go);
	for (int i = 0; i < N; i++)
		EXPECT(t, rs[i].rc == 0, "remover %d of %d: %s", i + 1, N, rs[i].msg);
	Runtime__V1__ImageStatusResponse *st = img_status(t, ref);
	EXPECT(t, st->image == NULL, "%s is still there after %d concurrent removals", ref, N);
	cri_free(st);
	Runtime__V1__ListImagesResponse *l = img_list(t);
	EXPECT(t, list_find_tag(l, ref) == NULL, "ListImages still has %s", ref);
	cri_free(l);
}

/* ------------------------------------------------------------ fs info */

static Runtime__V1__ImageFsInfoResponse *fs_info(tst_ctx *t)
{
	Runtime__V1__ImageFsInfoRequest req = RUNTIME__V1__IMAGE_FS_INFO_REQUEST__INIT;
	Runtime__V1__ImageFsInfoResponse *resp = NULL;
	CALL_OK(t, ImageFsInfo, &req, &resp);
	REQUIRE(t, resp->n_image_filesystems > 0, "ImageFsInfo lists no image filesystem");
	return resp;
}

/* Poll ImageFsInfo until its first filesystem's figures were collected after
 * `after` (wall ns); returns its used bytes. */
static uint64_t fs_used_after(tst_ctx *t, int64_t after, const char *when)
{
	int64_t end = util_now_ms() + USAGE_SYNC_MS;
	for (;;) {
		Runtime__V1__ImageFsInfoResponse *r = fs_info(t);
		Runtime__V1__FilesystemUsage *u = r->image_filesystems[0];
		REQUIRE(t, u->used_bytes != NULL, "image filesystem has no used_bytes");
		if (u->timestamp > after) {
			uint64_t v = u->used_bytes->value;
			cri_free(r);
			return v;
		}
		cri_free(r);
		if (util_now_ms() >= end)
			tst_fail_now(t, __FILE__, __LINE__, "%s: ImageFsInfo's timestamp stayed older than the change for %d ms",
				     when, USAGE_SYNC_MS);
		util_sleep_ms(250);
	}
}

static void fs_info_fields(tst_ctx *t)
{
	fx_ensure_image(t, fx_image(t, "busybox"));
	int64_t end = util_now_ms() + USAGE_SYNC_MS;
	Runtime__V1__ImageFsInfoResponse *r;
	/* A freshly pulled image may not be counted yet: wait for a figure. */
	for (;;) {
		r = fs_info(t);
		Runtime__V1__FilesystemUsage *u = r->image_filesystems[0];
		if ((u->used_bytes && u->used_bytes->value > 0) || util_now_ms() >= end)
			break;
		cri_free(r);
		util_sleep_ms(250);
	}
	int64_t now = util_wall_ns();
	for (size_t i = 0; i < r->n_image_filesystems; i++) {
		Runtime__V1__FilesystemUsage *u = r->image_filesystems[i];
		EXPECT(t, u->timestamp > 0, "filesystem %zu: timestamp %lld", i, (long long)u->timestamp);
		/* Runtimes may cache usage (containerd: 10 s); a minute is stale. */
		EXPECT(t, u->timestamp <= now + 1000000000LL && u->timestamp >= now - 60000000000LL,
		       "filesystem %zu: timestamp %lld is %.1f s from now", i, (long long)u->timestamp,
		       (double)(now - u->timestamp) / 1e9);
		EXPECT(t, u->fs_id && u->fs_id->mountpoint && u->fs_id->mountpoint[0] == '/',
		       "filesystem %zu: fs_id.mountpoint is not an absolute path: %s", i,
		       u->fs_id && u->fs_id->mountpoint ? u->fs_id->mountpoint : "(unset)");
		if (t->env->is_lab && u->fs_id && u->fs_id->mountpoint && u->fs_id->mountpoint[0]) {
			struct stat sb;
			EXPECT(t, stat(u->fs_id->mountpoint, &sb) == 0 && S_ISDIR(sb.st_mode),
			       "filesystem %zu: mountpoint %s is not a directory on this node", i, u->fs_id->mountpoint);
		}
		EXPECT(t, u->used_bytes != NULL, "filesystem %zu: used_bytes unset", i);
		EXPECT(t, u->inodes_used != NULL, "filesystem %zu: inodes_used unset", i);
	}
	Runtime__V1__FilesystemUsage *u0 = r->image_filesystems[0];
	EXPECT(t, u0->used_bytes && u0->used_bytes->value > 0, "used_bytes 0 with busybox present (waited %d ms)",
	       USAGE_SYNC_MS);
	EXPECT(t, u0->inodes_used && u0->inodes_used->value > 0, "inodes_used 0 with busybox present");
	cri_free(r);
}

static void fs_info_usage(tst_ctx *t)
{
	const char *ref = own_image(t, "image-b");
	/* containerd with no snapshot counted yet (a runtime started moments
	 * ago) answers 0 bytes stamped "now": wait for a real figure first. */
	fx_ensure_image(t, fx_image(t, "busybox"));
	for (int64_t end = util_now_ms() + USAGE_SYNC_MS; fs_used_after(t, 0, "first figure") == 0;) {
		if (util_now_ms() >= end)
			tst_fail_now(t, __FILE__, __LINE__, "used_bytes stayed 0 for %d ms with busybox present",
				     USAGE_SYNC_MS);
		util_sleep_ms(250);
	}
	/* Figures taken after the start, so nothing earlier moves them. */
	uint64_t base = fs_used_after(t, util_wall_ns(), "baseline");
	img_pull(t, ref);
	uint64_t pulled = fs_used_after(t, util_wall_ns(), "after the pull");
	/* image-b adds a 2 MiB layer of incompressible data. */
	tst_info(t, "used_bytes %llu before, %llu after pulling %s", (unsigned long long)base,
		 (unsigned long long)pulled, ref);
	EXPECT(t, pulled >= base + MIB, "used_bytes %llu before the pull, %llu after; want at least 1 MiB more",
	       (unsigned long long)base, (unsigned long long)pulled);
	img_remove(t, ref);
	uint64_t removed = fs_used_after(t, util_wall_ns(), "after the removal");
	tst_info(t, "used_bytes %llu after removing it", (unsigned long long)removed);
	EXPECT(t, removed + MIB <= pulled, "used_bytes %llu with the image, %llu after removing it; want 1 MiB less",
	       (unsigned long long)pulled, (unsigned long long)removed);
}

static const tst_case image_cases[] = {
	{ "image/pull-by-tag", "PullImage by tag: image_ref is the id or a digest; status has the tag and a digest",
	  pull_by_tag, TST_IMAGE_STORE },
	{ "image/pull-default-tag", "PullImage without a tag resolves to :latest", pull_default_tag, TST_IMAGE_STORE },
	{ "image/pull-by-digest", "PullImage by REPO@sha256 (from a tag pull) gives the same image id", pull_by_digest,
	  TST_IMAGE_STORE },
	{ "image/pull-by-registry-digest", "PullImage by the digest the registry holds (no tag pull first): status has it",
	  pull_by_registry_digest, TST_IMAGE_STORE },
	{ "image/pull-twice", "pulling a present image again returns the same image_ref and adds no image", pull_twice,
	  TST_IMAGE_STORE },
	{ "image/pull-missing-reference", "pulling a tag or repository the registry lacks fails naming the reference",
	  pull_missing },
	{ "image/pull-unreachable-registry", "pulling from a port where nothing listens fails fast, naming the registry",
	  pull_unreachable },
	{ "image/status-by-reference", "ImageStatus by tag, digest and id: same id, tags, digests, size", status_by_reference,
	  TST_IMAGE_STORE },
	{ "image/status-absent", "ImageStatus of an absent tag, digest or id is OK with no image", status_absent },
	{ "image/status-user-uid", "an image whose config sets user 1002 reports uid 1002, no username", status_user_uid },
	{ "image/status-user-name", "an image whose config sets user 'critic' reports that username, no uid",
	  status_user_name },
	{ "image/list-after-pull", "ListImages has one more image right after a pull, with its tag and digest",
	  list_after_pull, TST_IMAGE_STORE },
	{ "image/remove-by-tag", "RemoveImage by tag: status and list lack the image at once", remove_by_tag, TST_IMAGE_STORE },
	{ "image/remove-by-id", "RemoveImage by id: status and list lack the image at once", remove_by_id, TST_IMAGE_STORE },
	{ "image/remove-absent", "RemoveImage of an absent image, or twice, succeeds", remove_absent, TST_IMAGE_STORE },
	{ "image/remove-concurrent", "four concurrent RemoveImage calls on one image all succeed; it is gone",
	  remove_concurrent, TST_IMAGE_STORE },
	{ "image/fs-info-fields", "ImageFsInfo: a filesystem with recent timestamp, mountpoint, used bytes and inodes",
	  fs_info_fields, 0, 60 },
	/* The figures are the whole filesystem's: no other test pulls, removes
	 * or writes megabytes meanwhile (the image-store flag), the rest only
	 * add and drop kilobytes of writable layers. */
	{ "image/fs-info-usage", "ImageFsInfo used_bytes rises after a pull and falls after the removal", fs_info_usage,
	  TST_IMAGE_STORE, 120 },
};
TST_SUITE("image", "Image service: pull, status, list, remove, filesystem usage", image_cases)
