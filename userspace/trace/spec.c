// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/spec.h"

const char *const tracer_class_names[5] = { "cpu", "signal", "exit", "latency", "exception" };

int tracer_classes_parse(const char *s, unsigned *mask, const char **bad)
{
	unsigned m = 0;
	const char *p = s;

	if (!s || !*s) {
		if (bad)
			*bad = s;
		return -EINVAL;
	}
	while (*p) {
		size_t len = strcspn(p, ",");
		unsigned i;

		for (i = 0; i < 5; i++)
			if (len == strlen(tracer_class_names[i]) &&
			    !strncmp(p, tracer_class_names[i], len))
				break;
		if (i == 5) {
			if (bad)
				*bad = p;
			return -EINVAL;
		}
		m |= 1u << i;
		p += len;
		if (*p == ',') {
			p++;
			if (!*p) {
				if (bad)
					*bad = p;
				return -EINVAL;
			}
		}
	}
	*mask = m;
	return 0;
}

static int fail(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
	return -EINVAL;
}

static int copy_field(char *dst, size_t size, const char *src, size_t len)
{
	if (len == 0 || len >= size)
		return -EINVAL;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

static bool is_ident(const char *s, size_t len)
{
	if (len && isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '$' ||
		      s[i] == '@'))
			return false;
	return len > 0;
}

int latency_spec_parse(const char *s, struct latency_spec *out, char *err, size_t errlen)
{
	const char *parts[4];
	size_t lens[4];
	unsigned n = 0;
	const char *p = s;

	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return fail(err, errlen, "empty probe spec: expected BINARY:SYMBOL");
	for (;;) {
		size_t len = strcspn(p, ":");

		if (n == 4)
			return fail(err, errlen, "too many ':' fields: expected BINARY:SYMBOL, "
					 "BINARY:0xOFFSET or BINARY:PROVIDER:START[:END]");
		parts[n] = p;
		lens[n++] = len;
		if (!p[len])
			break;
		p += len + 1;
	}
	if (n < 2)
		return fail(err, errlen, "missing ':SYMBOL': expected BINARY:SYMBOL, "
				 "BINARY:0xOFFSET or BINARY:PROVIDER:START[:END]");
	if (copy_field(out->binary, sizeof(out->binary), parts[0], lens[0]))
		return fail(err, errlen, "empty or too long BINARY");
	for (unsigned i = 1; i < n; i++)
		if (lens[i] == 0)
			return fail(err, errlen, "empty field after ':'");

	if (n == 2) {
		if (lens[1] > 2 && parts[1][0] == '0' && (parts[1][1] == 'x' || parts[1][1] == 'X')) {
			char buf[32], *end;

			if (lens[1] >= sizeof(buf))
				return fail(err, errlen, "offset too long");
			memcpy(buf, parts[1], lens[1]);
			buf[lens[1]] = '\0';
			errno = 0;
			out->offset = strtoull(buf, &end, 16);
			if (errno || *end)
				return fail(err, errlen, "bad hex OFFSET: expected 0x followed by "
						 "hex digits");
			out->kind = LATENCY_OFFSET;
			return 0;
		}
		if (!is_ident(parts[1], lens[1]) ||
		    copy_field(out->symbol, sizeof(out->symbol), parts[1], lens[1]))
			return fail(err, errlen, "bad SYMBOL: expected a function name "
					 "(letters, digits, '_', '.', '$', '@')");
		out->kind = LATENCY_SYMBOL;
		return 0;
	}

	out->kind = LATENCY_USDT;
	if (!is_ident(parts[1], lens[1]) ||
	    copy_field(out->provider, sizeof(out->provider), parts[1], lens[1]))
		return fail(err, errlen, "bad USDT PROVIDER");
	if (!is_ident(parts[2], lens[2]))
		return fail(err, errlen, "bad USDT probe name");
	if (n == 4) {
		if (!is_ident(parts[3], lens[3]) ||
		    copy_field(out->start, sizeof(out->start), parts[2], lens[2]) ||
		    copy_field(out->end, sizeof(out->end), parts[3], lens[3]))
			return fail(err, errlen, "bad USDT probe name");
		return 0;
	}
	/* BINARY:PROVIDER:NAME is the pair NAME_start / NAME_end. */
	if (lens[2] + sizeof("_start") > sizeof(out->start))
		return fail(err, errlen, "USDT probe name too long");
	snprintf(out->start, sizeof(out->start), "%.*s_start", (int)lens[2], parts[2]);
	snprintf(out->end, sizeof(out->end), "%.*s_end", (int)lens[2], parts[2]);
	return 0;
}

unsigned latency_hist_slot(uint64_t ns)
{
	return ns < 2 ? 0 : 63 - __builtin_clzll(ns);
}

/* JSON integers are signed 64-bit: the top slot's bounds go out as reals. */
static json_t *json_u64(uint64_t v)
{
	return v <= INT64_MAX ? json_integer((json_int_t)v) : json_real((double)v);
}

json_t *latency_hist_to_json(const uint64_t *slots, unsigned nslots)
{
	json_t *arr = json_array();

	for (unsigned s = 0; s < nslots && s < 64; s++) {
		uint64_t from = s ? 1ULL << s : 0;
		uint64_t to = s < 63 ? 1ULL << (s + 1) : UINT64_MAX;

		if (!slots[s])
			continue;
		json_array_append_new(arr, json_pack("{s:o, s:o, s:o}", "from_ns", json_u64(from),
						     "to_ns", json_u64(to), "count",
						     json_u64(slots[s])));
	}
	return arr;
}

void latency_format_ns(uint64_t ns, char *buf, size_t size)
{
	if (ns < 1000)
		snprintf(buf, size, "%lluns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, size, "%.1fus", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, size, "%.1fms", ns / 1e6);
	else
		snprintf(buf, size, "%.1fs", ns / 1e9);
}

void latency_hist_print(FILE *f, const uint64_t *slots, unsigned nslots, unsigned width)
{
	uint64_t max = 0;

	for (unsigned s = 0; s < nslots; s++)
		if (slots[s] > max)
			max = slots[s];
	for (unsigned s = 0; s < nslots && s < 64; s++) {
		char from[32], to[32];
		unsigned bar;

		if (!slots[s])
			continue;
		latency_format_ns(s ? 1ULL << s : 0, from, sizeof(from));
		latency_format_ns(s < 63 ? 1ULL << (s + 1) : UINT64_MAX, to, sizeof(to));
		bar = (unsigned)((slots[s] * width + max - 1) / max);
		fprintf(f, "%10s .. %-10s %10llu |", from, to, (unsigned long long)slots[s]);
		for (unsigned i = 0; i < bar; i++)
			fputc('*', f);
		fputc('\n', f);
	}
}
