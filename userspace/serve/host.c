// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "serve/host.h"

static bool port_is_valid(const char *p)
{
	unsigned long v = 0;
	size_t n = 0;

	if (!*p)
		return false;
	for (; *p; p++, n++) {
		if (!isdigit((unsigned char)*p) || n >= 5)
			return false;
		v = v * 10 + (unsigned)(*p - '0');
	}
	return v >= 1 && v <= 65535;
}

bool host_is_valid(const char *host)
{
	const char *p, *end;
	size_t len;

	if (!host)
		return false;
	len = strlen(host);
	if (!len || len > HOST_MAX)
		return false;
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end || end == host + 1)
			return false;
		for (p = host + 1; p < end; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return false;
		if (!end[1])
			return true;
		return end[1] == ':' && port_is_valid(end + 2);
	}
	end = strchr(host, ':');
	if (!end)
		end = host + len;
	if (end == host || host[0] == '.' || host[0] == '-')
		return false;
	/* RFC 1123 names, plus '_' which real internal names carry. */
	for (p = host; p < end; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
			return false;
	return !*end || port_is_valid(end + 1);
}

int host_base_url(const char *host, bool tls, char *out, size_t len)
{
	int n;

	if (!host_is_valid(host))
		return -EINVAL;
	n = snprintf(out, len, "%s://%s", tls ? "https" : "http", host);
	return n < 0 || (size_t)n >= len ? -EINVAL : 0;
}
