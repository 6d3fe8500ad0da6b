/* SPDX-License-Identifier: GPL-2.0-only */
/* Signal names and facts, shared by kill, trace and watch. */
#ifndef TRACEDUMP_COMMON_SIGNALS_H
#define TRACEDUMP_COMMON_SIGNALS_H

#include <stdbool.h>
#include <stddef.h>

/* "TERM", "SIGTERM", "term" or "15" into 15; -EINVAL for anything else (and for 0 or a
 * number past SIGRTMAX). */
int parse_signal(const char *s, int *sig);

/* "SIGSEGV"; "SIGRTMIN", "SIGRTMIN+3" for real-time ones; "SIG200" past them. Returns @buf. */
const char *signal_name(int sig, char *buf, size_t size);

/* "SI_USER", "SI_TKILL", "SEGV_MAPERR", ...; NULL when unknown. */
const char *si_code_name(int sig, int code);

/* True when the default action of @sig dumps core (SIGSEGV, SIGABRT, ...). */
bool signal_dumps_core(int sig);

#endif /* TRACEDUMP_COMMON_SIGNALS_H */
