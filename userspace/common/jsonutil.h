/* SPDX-License-Identifier: GPL-2.0-only */
/* JSON helpers for values that come from the system as raw bytes. */
#ifndef TRACEDUMP_JSONUTIL_H
#define TRACEDUMP_JSONUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/*
 * A JSON string from bytes that need not be UTF-8 (comm, argv, environ, paths).
 * Valid UTF-8 is kept as is; every byte that is not part of a valid UTF-8 sequence
 * (and NUL) becomes the six characters "\\xNN" (a backslash, 'x', two hex digits),
 * as documented in docs/json.md.
 */
json_t *json_string_bytes(const char *s, size_t len);
json_t *json_string_cstr(const char *s); /* NULL -> JSON null */

/* Sets @key of @obj to @value (stolen); a NULL value becomes JSON null. */
int json_set(json_t *obj, const char *key, json_t *value);

/* "0x7f12..." */
json_t *json_hex(uint64_t v);

/* ISO 8601 UTC with milliseconds: "2026-11-22T05:00:00.123Z" */
json_t *json_time_iso(double epoch_seconds);

#endif /* TRACEDUMP_JSONUTIL_H */
