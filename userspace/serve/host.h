/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The Host header, from which `serve` builds absolute hrefs. It is attacker-controlled,
 * so only a plain host name, IPv4 address or bracketed IPv6 address with an optional
 * port is accepted; anything else (quotes, slashes, '@', spaces, control bytes) is a 400
 * and never reaches a JSON string or a link.
 */
#ifndef TRACEDUMP_SERVE_HOST_H
#define TRACEDUMP_SERVE_HOST_H

#include <stdbool.h>
#include <stddef.h>

#define HOST_MAX 255

/* Whether @host is "name[:port]", "a.b.c.d[:port]" or "[v6][:port]" (port 1-65535). */
bool host_is_valid(const char *host);

/* "http://HOST" or "https://HOST" into @out; -EINVAL if @host is invalid or too long. */
int host_base_url(const char *host, bool tls, char *out, size_t len);

#endif /* TRACEDUMP_SERVE_HOST_H */
