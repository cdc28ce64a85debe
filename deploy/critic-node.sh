#!/bin/sh
# critic on one node, inside a pod (DaemonSet or Sonobuoy plugin):
#  1. serve critic's test images on the node's loopback (the pod uses the
#     host network, so the node's runtime pulls from 127.0.0.1:PORT),
#  2. run critic against the node's CRI socket (mounted into the pod),
#  3. hand the results over: Sonobuoy's results dir (a tarball + `done`),
#     or a directory on the node for the plain DaemonSet.
# Settings (environment):
#  CRITIC_ENDPOINT       the node's CRI socket (default containerd's)
#  CRITIC_REGISTRY_PORT  loopback port for the image registry (default 5757)
#  CRITIC_ARGS           more `critic run` options, e.g. "--focus ^pod/"
#  RESULTS_DIR           where results go (Sonobuoy sets it; default
#                        /tmp/sonobuoy/results)
#  CRITIC_STAY           "1": sleep after the run, so a DaemonSet pod does not
#                        restart and run again (Sonobuoy plugins exit)
set -u
endpoint="${CRITIC_ENDPOINT:-unix:///run/containerd/containerd.sock}"
port="${CRITIC_REGISTRY_PORT:-5757}"
results="${RESULTS_DIR:-/tmp/sonobuoy/results}"
images_dir="${CRITIC_IMAGES_STORE:-/var/lib/critic/images}"
mkdir -p "$results"

log() { printf 'critic-node: %s\n' "$*" >&2; }

# Whatever happens, the registry goes away with the pod's work.
stop_registry() { critic images stop --dir "$images_dir" >/dev/null 2>&1 || true; }
trap stop_registry EXIT

log "serving test images on 127.0.0.1:$port"
if ! critic images serve --listen "127.0.0.1:$port" --dir "$images_dir" --detach; then
	log "could not serve the test images; running without them (tests that need images skip)"
	prefix_opt=""
else
	prefix_opt="--registry-prefix 127.0.0.1:$port/critic"
fi

log "critic run against $endpoint"
# shellcheck disable=SC2086 # CRITIC_ARGS and prefix_opt are word lists on purpose
critic --no-color -r "$endpoint" run $prefix_opt --sonobuoy-results "$results" ${CRITIC_ARGS:-}
rc=$?
log "critic run exited $rc; results in $results"
if [ "${CRITIC_STAY:-0}" = 1 ]; then
	stop_registry
	trap - EXIT
	log "staying (CRITIC_STAY=1); delete the DaemonSet when done"
	while :; do sleep 3600; done
fi
exit "$rc"
