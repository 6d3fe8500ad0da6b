/* SPDX-License-Identifier: GPL-2.0-only */
/* Parsers for command-line values: every one rejects trailing junk and overflow. */
#ifndef TRACEDUMP_PARSE_H
#define TRACEDUMP_PARSE_H

#include <stdint.h>
#include <sys/types.h>

/* A PID or TID: a positive decimal; "0" means tracedump itself (Kudu's id 0) when
 * @allow_self. Returns 0 or -EINVAL. */
int parse_pid(const char *s, pid_t *out, int allow_self);

/* Unsigned integer in decimal or 0x-hex. */
int parse_u64(const char *s, uint64_t *out);

/* Durations "250ms", "10s", "2m", "1h", "1.5s"; a bare number is seconds. */
int parse_duration_ns(const char *s, uint64_t *out_ns);

#endif /* TRACEDUMP_PARSE_H */
