// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for the zstd core_sink (userspace/dump/sink_zstd.c), checked by libzstd's
 * own decompressor. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zstd.h>

#include "dump/sink_zstd.h"
#include "mem_sink.h"

/* Bytes that compress somewhat, like memory: a counter mixed with a few random bits. */
static void fill_pattern(unsigned char *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (i & 3) ? (unsigned char)(i >> 4) : (unsigned char)x;
	}
}

/* Decompresses @src whole with the streaming API; returns a malloc'd buffer. */
static unsigned char *decompress_all(const void *src, size_t len, size_t *out_len)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	size_t cap = 1 << 20, n = 0;
	unsigned char *out = malloc(cap);
	ZSTD_inBuffer in = { src, len, 0 };
	size_t r = 1;

	assert_non_null(d);
	while (in.pos < in.size || r) {
		ZSTD_outBuffer ob;

		if (cap - n < (1 << 17)) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		ob = (ZSTD_outBuffer){ out + n, cap - n, 0 };
		r = ZSTD_decompressStream(d, &ob, &in);
		assert_false(ZSTD_isError(r));
		n += ob.pos;
		if (!ob.pos && in.pos == in.size)
			break;
	}
	assert_int_equal(r, 0); /* a complete frame, checksum verified */
	ZSTD_freeDCtx(d);
	*out_len = n;
	return out;
}

static void round_trip(int workers, bool with_hint)
{
	const size_t parts[] = { 1, 4095, 1 << 20, 3 * (1 << 20) + 17, 12 };
	const uint64_t zeros_len = 5 * (1 << 20) + 3;
	struct sink_zstd_opts opts = { .workers = workers };
	struct mem_sink *m = mem_sink_new(NULL);
	struct core_sink *s;
	size_t total = zeros_len, got_len, pos = 0;
	unsigned char *expect, *got;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		total += parts[i];
	expect = calloc(1, total);
	assert_non_null(expect);

	assert_int_equal(sink_zstd__open(&m->sink, &opts, &s), 0);
	if (workers == 1 && sink_zstd_max_workers(NULL) > 0)
		assert_int_equal(sink_zstd__workers(s), 1);
	if (workers == SINK_ZSTD_IN_LINE)
		assert_int_equal(sink_zstd__workers(s), 0);
	if (with_hint)
		s->size_hint = total;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		fill_pattern(expect + pos, parts[i], (uint32_t)i);
		assert_int_equal(core_sink__write(s, expect + pos, parts[i]), 0);
		pos += parts[i];
		if (i == 2) { /* zeros in the middle: left as zeros in expect */
			assert_int_equal(core_sink__zeros(s, zeros_len), 0);
			pos += zeros_len;
		}
	}
	assert_int_equal(s->offset, total);
	assert_int_equal(m->finished, 0);
	assert_int_equal(s->finish(s), 0);
	assert_int_equal(m->finished, 1);
	assert_int_equal(s->bytes_out, m->len);
	assert_true(m->len < total / 2);

	assert_int_equal(ZSTD_getFrameContentSize(m->buf, m->len),
			 with_hint ? (unsigned long long)total : ZSTD_CONTENTSIZE_UNKNOWN);
	got = decompress_all(m->buf, m->len, &got_len);
	assert_int_equal(got_len, total);
	assert_memory_equal(got, expect, total);
	free(got);
	free(expect);
	s->free(s);
}

static void test_round_trip_workers(void **state)
{
	round_trip(0, true);
}

static void test_round_trip_one_worker_no_hint(void **state)
{
	round_trip(1, false);
}

static void test_round_trip_in_line(void **state)
{
	/* What a libzstd without threads gets; other negative counts are refused. */
	struct sink_zstd_opts bad = { .workers = -2 };
	struct mem_sink *m = mem_sink_new(NULL);
	struct core_sink *s = NULL;

	assert_int_equal(sink_zstd__open(&m->sink, &bad, &s), -EINVAL);
	assert_null(s);
	m->sink.free(&m->sink);
	round_trip(SINK_ZSTD_IN_LINE, true);
}

static void test_bad_level(void **state)
{
	struct sink_zstd_opts opts = { .level = 99 };
	struct mem_sink *m = mem_sink_new(NULL);
	struct core_sink *s = NULL;

	assert_int_equal(sink_zstd__open(&m->sink, &opts, &s), -EINVAL);
	assert_null(s);
	m->sink.free(&m->sink);
}

static void test_max_workers_note(void **state)
{
	const char *note = "unset";
	int n = sink_zstd_max_workers(&note);

	if (n > 0)
		assert_null(note);
	else
		assert_non_null(note);
	/* Debian 12's libzstd1 is built with ZSTD_MULTITHREAD. */
	assert_true(n >= 1);
}

/* A gigabyte of zeros compresses to almost nothing and decompresses back to zeros,
 * through a 1 MiB buffer: zeros() must not allocate its length. */
static void test_many_zeros(void **state)
{
	const uint64_t len = (1ull << 30) + 4097;
	struct mem_sink *m = mem_sink_new(NULL);
	struct core_sink *s;
	ZSTD_DCtx *d = ZSTD_createDCtx();
	ZSTD_inBuffer in;
	unsigned char *out = malloc(1 << 20);
	uint64_t n = 0;
	size_t r = 1;

	assert_int_equal(sink_zstd__open(&m->sink, NULL, &s), 0);
	s->size_hint = len + 3;
	assert_int_equal(core_sink__write(s, "abc", 3), 0);
	assert_int_equal(core_sink__zeros(s, len), 0);
	assert_int_equal(s->finish(s), 0);
	assert_true(m->len < 256 * 1024);
	assert_int_equal(ZSTD_getFrameContentSize(m->buf, m->len), len + 3);

	in = (ZSTD_inBuffer){ m->buf, m->len, 0 };
	while (r) {
		ZSTD_outBuffer ob = { out, 1 << 20, 0 };

		r = ZSTD_decompressStream(d, &ob, &in);
		assert_false(ZSTD_isError(r));
		for (size_t i = 0; i < ob.pos; i++, n++) {
			if (n < 3)
				assert_int_equal(out[i], "abc"[n]);
			else if (out[i])
				fail_msg("byte %llu is %u, not zero", (unsigned long long)n, out[i]);
		}
		if (!ob.pos && in.pos == in.size)
			break;
	}
	assert_int_equal(n, len + 3);
	ZSTD_freeDCtx(d);
	free(out);
	s->free(s);
}

static void test_size_hint_enforced(void **state)
{
	struct mem_sink *m = mem_sink_new(NULL);
	struct core_sink *s;
	int freed = 0;

	/* More than announced. */
	assert_int_equal(sink_zstd__open(&m->sink, NULL, &s), 0);
	s->size_hint = 10;
	assert_int_equal(core_sink__write(s, "0123456789", 10), 0);
	assert_int_equal(core_sink__zeros(s, 1), -EFBIG);
	assert_int_equal(core_sink__write(s, "x", 1), -EFBIG); /* sticky */
	assert_int_equal(s->finish(s), -EFBIG);
	s->abort(s);
	assert_int_equal(m->aborted, 1);
	assert_int_equal(m->finished, 0);
	s->free(s);

	/* Fewer than announced. */
	m = mem_sink_new(&freed);
	assert_int_equal(sink_zstd__open(&m->sink, NULL, &s), 0);
	s->size_hint = 10;
	assert_int_equal(core_sink__write(s, "01234", 5), 0);
	assert_int_equal(s->finish(s), -EIO);
	assert_int_equal(m->finished, 0);
	s->abort(s);
	s->free(s);
	assert_int_equal(freed, 1); /* the destination goes with the sink */
}

static void test_destination_error(void **state)
{
	struct mem_sink *m = mem_sink_new(NULL);
	unsigned char *buf = malloc(8 << 20);
	struct core_sink *s;
	int err = 0;

	m->fail_after = 64 * 1024;
	fill_pattern(buf, 8 << 20, 7);
	assert_int_equal(sink_zstd__open(&m->sink, NULL, &s), 0);
	for (int i = 0; i < 16 && !err; i++)
		err = core_sink__write(s, buf, 8 << 20);
	if (!err)
		err = s->finish(s);
	assert_int_equal(err, -ENOSPC);
	assert_int_equal(s->finish(s), -ENOSPC);
	s->abort(s);
	assert_int_equal(m->aborted, 1);
	s->free(s);
	free(buf);
}

static int refuse_begin(struct core_sink *s, uint64_t size, uint64_t estimate)
{
	snprintf(s->why, sizeof(s->why), "no room (asked for %llu)", (unsigned long long)estimate);
	return -ENOSPC;
}

/* begin(): the compressed size is unknown, the destination is asked for nothing more
 * than some room; its refusal and its words come back. */
static void test_begin_forwards(void **state)
{
	struct mem_sink *m = mem_sink_new(NULL);
	struct core_sink *s;

	assert_int_equal(sink_zstd__open(&m->sink, NULL, &s), 0);
	assert_int_equal(core_sink__begin(s, 1000, 900), 0); /* no begin in the destination */
	assert_int_equal(s->size_hint, 1000);
	s->abort(s);
	s->free(s);

	m = mem_sink_new(NULL);
	m->sink.begin = refuse_begin;
	assert_int_equal(sink_zstd__open(&m->sink, NULL, &s), 0);
	assert_int_equal(core_sink__begin(s, 1000, 900), -ENOSPC);
	assert_string_equal(s->why, "no room (asked for 0)");
	assert_int_equal(core_sink__write(s, "x", 1), -ENOSPC); /* sticky */
	s->abort(s);
	assert_int_equal(m->aborted, 1);
	s->free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_workers),
		cmocka_unit_test(test_round_trip_one_worker_no_hint),
		cmocka_unit_test(test_round_trip_in_line),
		cmocka_unit_test(test_bad_level),
		cmocka_unit_test(test_max_workers_note),
		cmocka_unit_test(test_many_zeros),
		cmocka_unit_test(test_size_hint_enforced),
		cmocka_unit_test(test_destination_error),
		cmocka_unit_test(test_begin_forwards),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
