/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kudu-style resource links: "/api/processes/42", ".../threads/43", ".../modules/0x7f..".
 * Relative by default; `serve` sets a base ("http://host:port") per request so that
 * clients can follow them as they are.
 */
#ifndef TRACEDUMP_HREF_H
#define TRACEDUMP_HREF_H

#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

/* The prefix put before every href; "" (the default) gives relative links. The string
 * is not copied. Thread-local, so concurrent HTTP requests each have their own. */
void href_set_base(const char *base);

json_t *href_process(pid_t pid);
json_t *href_process_dump(pid_t pid);
json_t *href_thread(pid_t pid, pid_t tid);
json_t *href_module(pid_t pid, uint64_t base_address);

#endif /* TRACEDUMP_HREF_H */
