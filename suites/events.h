/* events: the check of suites/events.c that a container's lifecycle events
 * came in order, apart so critic's unit tests can feed it made-up lists. */
#ifndef CRITIC_EVENTS_H
#define CRITIC_EVENTS_H

#include <stddef.h>

#include "cri.h"
#include "err.h"

/* Among evs (in arrival order), the events of container ctr_id must be
 * exactly CREATED, STARTED, STOPPED, DELETED, in that order, each with a
 * pod_sandbox_status whose id is pod_id and a created_at later than the one
 * before. Events of other containers are ignored. 0, or -ERR_ASSERT with
 * the first thing wrong in e. */
int ev_check_lifecycle(Runtime__V1__ContainerEventResponse *const *evs, size_t n, const char *ctr_id,
		       const char *pod_id, crit_err *e);

/* "CREATED", "STARTED", … for messages. */
const char *ev_type_name(int type);

#endif
