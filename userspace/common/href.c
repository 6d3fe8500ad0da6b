// SPDX-License-Identifier: GPL-2.0-only
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "common/href.h"

static __thread const char *href_base = "";

void href_set_base(const char *base)
{
	href_base = base ? base : "";
}

__attribute__((format(printf, 1, 2)))
static json_t *href_fmt(const char *fmt, ...)
{
	char path[160], buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	snprintf(buf, sizeof(buf), "%s%s", href_base, path);
	return json_string(buf);
}

json_t *href_process(pid_t pid)
{
	return href_fmt("/api/processes/%d", pid);
}

json_t *href_process_dump(pid_t pid)
{
	return href_fmt("/api/processes/%d/dump", pid);
}

json_t *href_thread(pid_t pid, pid_t tid)
{
	return href_fmt("/api/processes/%d/threads/%d", pid, tid);
}

json_t *href_module(pid_t pid, uint64_t base_address)
{
	return href_fmt("/api/processes/%d/modules/0x%" PRIx64, pid, base_address);
}
