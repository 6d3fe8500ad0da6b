// SPDX-License-Identifier: GPL-2.0-only
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/jsonutil.h"

/* Length of the valid UTF-8 sequence at @s (at most @len bytes), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t len)
{
	size_t need;
	uint32_t cp;

	if (s[0] < 0x80)
		return s[0] ? 1 : 0;
	if ((s[0] & 0xe0) == 0xc0) {
		need = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		need = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		need = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (need > len)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8. */
	if ((need == 2 && cp < 0x80) || (need == 3 && cp < 0x800) ||
	    (need == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

json_t *json_string_bytes(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0;
	char *buf;
	json_t *j;

	if (!s)
		return json_null();
	/* Plain ASCII without NUL (nearly every name, path and variable) needs no copy. */
	while (i < len && u[i] - 1u < 0x7f)
		i++;
	if (i == len)
		return json_stringn_nocheck(s, len);
	buf = malloc(len * 4 + 1);
	if (!buf)
		return NULL;
	memcpy(buf, s, i);
	o = i;
	while (i < len) {
		size_t n = utf8_seq_len(u + i, len - i);

		if (n) {
			memcpy(buf + o, u + i, n);
			o += n;
			i += n;
		} else {
			o += sprintf(buf + o, "\\x%02x", u[i]);
			i++;
		}
	}
	j = json_stringn(buf, o);
	free(buf);
	return j;
}

json_t *json_string_cstr(const char *s)
{
	return s ? json_string_bytes(s, strlen(s)) : json_null();
}

int json_set(json_t *obj, const char *key, json_t *value)
{
	return json_object_set_new(obj, key, value ? value : json_null());
}

json_t *json_hex(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_string(buf);
}

json_t *json_time_iso(double epoch_seconds)
{
	time_t secs = (time_t)floor(epoch_seconds);
	int ms = (int)((epoch_seconds - (double)secs) * 1000.0);
	char buf[64], out[80];
	struct tm tm;

	if (!gmtime_r(&secs, &tm))
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, sizeof(out), "%s.%03dZ", buf, ms < 0 ? 0 : ms > 999 ? 999 : ms);
	return json_string(out);
}
