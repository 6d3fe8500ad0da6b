// SPDX-License-Identifier: GPL-2.0-only
/* The zstd core_sink: streaming, multi-threaded compression into another sink. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "dump/sink_zstd.h"

/* zeros() feeds the compressor from this many zero bytes at a time; calloc'd, so the
 * pages stay the kernel's shared zero page and cost no memory. */
#define ZERO_CHUNK (1u << 20)

struct sink_zstd {
	struct core_sink sink; /* first: the sink pointer is the struct pointer */
	struct core_sink *dest;
	ZSTD_CCtx *cctx;
	void *out_buf;
	size_t out_size;
	void *zero_buf;
	int workers, level;
	bool started; /* the first byte went in: parameters are fixed */
	int failed;   /* a sticky -errno: once broken, every call returns it */
};

static struct sink_zstd *to_zstd(struct core_sink *s)
{
	return (struct sink_zstd *)s;
}

int sink_zstd_max_workers(const char **note)
{
	ZSTD_bounds b = ZSTD_cParam_getBounds(ZSTD_c_nbWorkers);

	if (ZSTD_isError(b.error) || b.upperBound < 1) {
		if (note)
			*note = "this libzstd was built without multi-threading: compressing "
				"in one thread";
		return 0;
	}
	if (note)
		*note = NULL;
	return b.upperBound;
}

/* Hands the compressed bytes in out_buf[0..pos) to the destination sink. */
static int flush_out(struct sink_zstd *z, ZSTD_outBuffer *ob)
{
	int err;

	if (!ob->pos)
		return 0;
	err = core_sink__write(z->dest, ob->dst, ob->pos);
	if (err) {
		snprintf(z->sink.why, sizeof(z->sink.why), "%s", z->dest->why[0] ? z->dest->why : strerror(-err));
		return err;
	}
	z->sink.bytes_out += ob->pos;
	ob->pos = 0;
	return 0;
}

static int start(struct sink_zstd *z)
{
	size_t r;

	if (z->started)
		return 0;
	z->started = true;
	/* The content size in the frame header lets `zstd -l` and decompressors size
	 * their output; zstd itself then fails the frame if the stream differs. */
	if (z->sink.size_hint) {
		r = ZSTD_CCtx_setPledgedSrcSize(z->cctx, z->sink.size_hint);
		if (ZSTD_isError(r))
			return -EINVAL;
	}
	return 0;
}

static int compress(struct sink_zstd *z, const void *buf, size_t len, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { buf, len, 0 };
	ZSTD_outBuffer ob = { z->out_buf, z->out_size, 0 };
	size_t left;
	int err;

	if (z->failed)
		return z->failed;
	err = start(z);
	if (err)
		goto fail;
	/* With workers, compressStream2 may return before taking all the input or while
	 * compressed bytes are still pending: loop until it has both. */
	do {
		left = ZSTD_compressStream2(z->cctx, &ob, &in, mode);
		if (ZSTD_isError(left)) {
			err = ZSTD_getErrorCode(left) == ZSTD_error_memory_allocation ? -ENOMEM
										   : -EIO;
			snprintf(z->sink.why, sizeof(z->sink.why), "zstd: %s", ZSTD_getErrorName(left));
			goto fail;
		}
		if (ob.pos == ob.size || (mode == ZSTD_e_end && ob.pos)) {
			err = flush_out(z, &ob);
			if (err)
				goto fail;
		}
	} while (in.pos < in.size || (mode == ZSTD_e_end && left));
	err = flush_out(z, &ob);
	if (err)
		goto fail;
	return 0;
fail:
	z->failed = err;
	return err;
}

/*
 * The compressed size is unknown: the destination checks only that there is some
 * room (a file sink: 1 MiB), and a full disk mid-way is an error that leaves nothing.
 */
static int zstd_begin(struct core_sink *s, uint64_t size, uint64_t estimate)
{
	struct sink_zstd *z = to_zstd(s);
	int err = core_sink__begin(z->dest, 0, 0);

	if (err) {
		snprintf(s->why, sizeof(s->why), "%s", z->dest->why[0] ? z->dest->why : strerror(-err));
		z->failed = err;
	}
	return err;
}

/* More than announced: the frame header would lie, and zstd would fail at the end. */
static int check_size(struct sink_zstd *z, uint64_t len)
{
	if (z->failed)
		return z->failed;
	if (z->sink.size_hint && z->sink.offset + len > z->sink.size_hint) {
		snprintf(z->sink.why, sizeof(z->sink.why),
			 "the core is longer than its announced %llu bytes",
			 (unsigned long long)z->sink.size_hint);
		return z->failed = -EFBIG;
	}
	return 0;
}

static int zstd_write(struct core_sink *s, const void *buf, size_t len)
{
	struct sink_zstd *z = to_zstd(s);

	return check_size(z, len) ?: compress(z, buf, len, ZSTD_e_continue);
}

static int zstd_zeros(struct core_sink *s, uint64_t len)
{
	struct sink_zstd *z = to_zstd(s);
	uint64_t done = 0;
	int err;

	err = check_size(z, len);
	if (err)
		return err;
	if (!z->zero_buf) {
		z->zero_buf = calloc(1, ZERO_CHUNK);
		if (!z->zero_buf)
			return z->failed = -ENOMEM;
	}
	while (done < len) {
		size_t n = len - done < ZERO_CHUNK ? len - done : ZERO_CHUNK;

		err = compress(z, z->zero_buf, n, ZSTD_e_continue);
		if (err)
			return err;
		done += n;
	}
	return 0;
}

static int zstd_finish(struct core_sink *s)
{
	struct sink_zstd *z = to_zstd(s);
	int err;

	if (z->failed)
		return z->failed;
	if (s->size_hint && s->offset != s->size_hint) {
		snprintf(s->why, sizeof(s->why), "the core has %llu bytes of its announced %llu",
			 (unsigned long long)s->offset, (unsigned long long)s->size_hint);
		z->failed = -EIO;
		return z->failed;
	}
	err = compress(z, NULL, 0, ZSTD_e_end);
	if (err)
		return err;
	err = z->dest->finish(z->dest);
	if (err) {
		snprintf(s->why, sizeof(s->why), "%s", z->dest->why[0] ? z->dest->why : strerror(-err));
		z->failed = err;
	}
	return err;
}

static void zstd_abort(struct core_sink *s)
{
	struct sink_zstd *z = to_zstd(s);

	if (!z->failed)
		z->failed = -ECANCELED;
	z->dest->abort(z->dest);
}

static void zstd_free(struct core_sink *s)
{
	struct sink_zstd *z = to_zstd(s);

	if (!s)
		return;
	if (z->dest)
		z->dest->free(z->dest);
	ZSTD_freeCCtx(z->cctx);
	free(z->out_buf);
	free(z->zero_buf);
	free(z);
}

int sink_zstd__workers(const struct core_sink *s)
{
	return ((const struct sink_zstd *)s)->workers;
}

int sink_zstd__level(const struct core_sink *s)
{
	return ((const struct sink_zstd *)s)->level;
}

static int default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	return n > SINK_ZSTD_MAX_WORKERS ? SINK_ZSTD_MAX_WORKERS : (int)n;
}

int sink_zstd__open(struct core_sink *dest, const struct sink_zstd_opts *opts,
		    struct core_sink **out)
{
	struct sink_zstd *z;
	int max_workers = sink_zstd_max_workers(NULL);
	int workers, level;
	size_t r;

	*out = NULL;
	level = opts && opts->level ? opts->level : SINK_ZSTD_DEFAULT_LEVEL;
	if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
		return -EINVAL;
	workers = opts && opts->workers ? opts->workers : default_workers();
	if (workers == SINK_ZSTD_IN_LINE)
		workers = 0;
	else if (workers < 0)
		return -EINVAL;
	if (workers > max_workers)
		workers = max_workers;

	z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	z->cctx = ZSTD_createCCtx();
	z->out_size = ZSTD_CStreamOutSize();
	z->out_buf = malloc(z->out_size);
	if (!z->cctx || !z->out_buf) {
		ZSTD_freeCCtx(z->cctx);
		free(z->out_buf);
		free(z);
		return -ENOMEM;
	}
	r = ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 1);
	if (!ZSTD_isError(r) && workers > 0) {
		/* Refused despite the bounds (a build quirk): compress in line. */
		if (ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_nbWorkers, workers)))
			workers = 0;
	}
	if (ZSTD_isError(r)) {
		ZSTD_freeCCtx(z->cctx);
		free(z->out_buf);
		free(z);
		return -EINVAL;
	}
	z->workers = workers;
	z->level = level;
	z->dest = dest;
	z->sink.begin = zstd_begin;
	z->sink.write = zstd_write;
	z->sink.zeros = zstd_zeros;
	z->sink.finish = zstd_finish;
	z->sink.abort = zstd_abort;
	z->sink.free = zstd_free;
	*out = &z->sink;
	return 0;
}
