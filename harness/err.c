#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(crit_err *e, int code, const char *fmt, ...)
{
	if (!e)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	e->code = code;
	if (code != -ERR_GRPC)
		e->grpc_status = -1;
	return code;
}

int err_wrap(crit_err *e, const char *fmt, ...)
{
	if (!e)
		return -1;
	char prefix[512], old[sizeof e->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof old);
	if (snprintf(e->msg, sizeof e->msg, "%s: %s", prefix, old) >= (int)sizeof e->msg)
		e->msg[sizeof e->msg - 1] = '\0'; /* a cut message is still useful */
	return e->code;
}

void err_clear(crit_err *e)
{
	if (!e)
		return;
	e->code = 0;
	e->grpc_status = -1;
	e->msg[0] = '\0';
}

const char *err_msg(const crit_err *e)
{
	return e && e->msg[0] ? e->msg : "(no error recorded)";
}
