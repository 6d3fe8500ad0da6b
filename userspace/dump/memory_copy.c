// SPDX-License-Identifier: GPL-2.0-only
/*
 * memory__copy(): the bytes of a planned core, from a process's memory to a sink. A
 * reader thread fills buffers with process_vm_readv (and /proc/PID/mem for what it
 * refuses) and marks zero pages; the calling thread writes them, seeking over zeros.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dump/memory.h"
#include "dump/sink.h"

/*
 * 1 MiB buffers, up to 32 of them, allocated as the reader gets ahead. Small buffers
 * are written while still in the CPU's cache: 8 MiB ones made 1 GiB dumps up to 3x
 * slower here. The target is released once everything is read (the last <= 32 MiB are
 * written after).
 */
#define BLOCK_SIZE (1U << 20)
#define BLOCKS 32
#define READ_IOVS 1024
/* Zeros go to the sink this many bytes at a time (see the writer loop). */
#define HOLE_CHUNK (64ULL << 20)

struct item {
	uint64_t len;
	uint32_t off;	/* in the block's buffer, for data */
	bool hole;
};

struct block {
	unsigned char *buf;
	struct item *items;
	size_t count, cap;
	bool full;
	bool filling; /* the reader keeps adding to it: so far it holds only zeros */
};

struct copy {
	pid_t pid;
	int memfd;
	const struct dump_plan *plan;
	volatile sig_atomic_t *cancel;
	uint64_t page;
	bool no_pin;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct block blocks[BLOCKS];
	size_t head, tail;  /* head: next block the reader fills; tail: next to write */
	bool reader_done;
	bool stop;	    /* the writer failed or was cancelled */
	int err;	    /* the reader's error */
	char why[256];
	struct copy_stats stats;
};

static int item_push(struct block *b, uint64_t len, uint32_t off, bool hole)
{
	struct item *last = b->count ? &b->items[b->count - 1] : NULL;

	if (!len)
		return 0;
	if (last && last->hole == hole && (hole || last->off + last->len == off)) {
		last->len += len;
		return 0;
	}
	if (b->count == b->cap) {
		size_t n = b->cap ? b->cap * 2 : 256;
		void *p = realloc(b->items, n * sizeof(*b->items));

		if (!p)
			return -ENOMEM;
		b->items = p;
		b->cap = n;
	}
	b->items[b->count++] = (struct item){ len, off, hole };
	return 0;
}

static bool block_only_holes(const struct block *b)
{
	for (size_t i = 0; i < b->count; i++)
		if (!b->items[i].hole)
			return false;
	return true;
}

static bool page_is_zero(const unsigned char *p, size_t len)
{
	const uint64_t *w = (const uint64_t *)p;

	for (size_t i = 0; i < len / 8; i += 8)
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7])
			return false;
	return true;
}

/* Is @pid's memory gone (the process exited or was killed)? */
static bool mem_gone(struct copy *c)
{
	char b;

	/* /proc/PID/mem reads 0 bytes once the mm is released. */
	return c->memfd < 0 || pread(c->memfd, &b, 1, 0) == 0 || (errno == ESRCH);
}

/*
 * Fills @dst from @n remote iovecs (a contiguous local buffer). What process_vm_readv
 * refuses is retried with pread on /proc/PID/mem; a page neither gives stays zero.
 */
static int read_remote(struct copy *c, struct iovec *remote, size_t n, unsigned char *dst)
{
	size_t i = 0;

	while (i < n) {
		size_t want = 0, cnt = n - i < IOV_MAX ? n - i : IOV_MAX;
		struct iovec local;
		ssize_t got;

		for (size_t k = 0; k < cnt; k++)
			want += remote[i + k].iov_len;
		local.iov_base = dst;
		local.iov_len = want;
		got = c->no_pin ? 0 : process_vm_readv(c->pid, &local, 1, &remote[i], cnt, 0);
		if (got < 0) {
			if (errno == ESRCH) {
				snprintf(c->why, sizeof(c->why), "process %d exited during the dump",
					 c->pid);
				return -ESRCH;
			}
			got = 0;
		}
		/* Step over what was read. */
		dst += got;
		while (i < n && (size_t)got >= remote[i].iov_len) {
			got -= remote[i].iov_len;
			i++;
		}
		if (i == n)
			break;
		remote[i].iov_base = (char *)remote[i].iov_base + got;
		remote[i].iov_len -= got;
		/* The rest of this iovec: /proc/PID/mem, page by page where it fails. */
		while (remote[i].iov_len) {
			uint64_t addr = (uint64_t)remote[i].iov_base;
			size_t len = remote[i].iov_len;
			ssize_t r = c->memfd >= 0 ? pread(c->memfd, dst, len, (off_t)addr) : -1;

			if (r <= 0) {
				size_t skip = c->page - (addr & (c->page - 1));

				if (mem_gone(c)) {
					snprintf(c->why, sizeof(c->why),
						 "process %d exited during the dump", c->pid);
					return -ESRCH;
				}
				if (skip > len)
					skip = len;
				memset(dst, 0, skip);
				c->stats.unreadable += skip;
				r = (ssize_t)skip;
			}
			dst += r;
			remote[i].iov_base = (char *)remote[i].iov_base + r;
			remote[i].iov_len -= r;
		}
		i++;
	}
	return 0;
}

static void *reader_main(void *arg)
{
	struct copy *c = arg;
	const struct dump_plan *p = c->plan;
	struct iovec *remote = calloc(READ_IOVS, sizeof(*remote));
	struct item *reads = calloc(READ_IOVS, sizeof(*reads));
	size_t e = 0;
	uint64_t eoff = 0;
	int err = 0;

	if (!remote || !reads) {
		err = -ENOMEM;
		snprintf(c->why, sizeof(c->why), "out of memory");
		goto out;
	}
	while (e < p->ext_count) {
		struct block *b;
		size_t nread = 0;
		uint32_t used = 0;

		pthread_mutex_lock(&c->lock);
		while (c->blocks[c->head % BLOCKS].full && !c->stop)
			pthread_cond_wait(&c->cond, &c->lock);
		pthread_mutex_unlock(&c->lock);
		if (c->stop || (c->cancel && *c->cancel))
			break;
		b = &c->blocks[c->head % BLOCKS];
		/* A block that held only zeros so far is still being filled (see below). */
		if (!b->filling)
			b->count = 0;
		b->filling = false;
		if (!b->buf) {
			void *p = mmap(NULL, BLOCK_SIZE, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED) {
				err = -ENOMEM;
				snprintf(c->why, sizeof(c->why), "out of memory for copy buffers");
				goto out;
			}
			/* No MADV_HUGEPAGE: with THP defrag "madvise" a fault could stall in
			 * compaction while the target is frozen. */
			b->buf = p;
		}

		/* Gather extents until the buffer or the iovec list is full. Reads and
		 * holes are kept in file order in reads[]; holes use no buffer. */
		while (e < p->ext_count && used < BLOCK_SIZE && nread < READ_IOVS) {
			const struct dump_extent *x = &p->ext[e];
			uint64_t take = x->len - eoff;

			if (!x->hole && take > BLOCK_SIZE - used)
				take = BLOCK_SIZE - used;
			reads[nread] = (struct item){ take, used, x->hole };
			if (!x->hole) {
				remote[nread] = (struct iovec){ (void *)(x->addr + eoff), take };
				used += take;
			}
			nread++;
			eoff += take;
			if (eoff == x->len) {
				e++;
				eoff = 0;
			}
		}
		/* Read every data piece of the block; holes get no iovec. */
		{
			struct iovec *io = remote;
			size_t k = 0, nio = 0;

			for (k = 0; k < nread; k++)
				if (!reads[k].hole)
					io[nio++] = remote[k];
			err = read_remote(c, io, nio, b->buf);
			if (err)
				goto out;
		}
		/* Zero pages become holes: the writer only seeks over them. */
		for (size_t k = 0; k < nread && !err; k++) {
			if (reads[k].hole) {
				err = item_push(b, reads[k].len, 0, true);
				continue;
			}
			for (uint64_t o = 0; o < reads[k].len && !err; o += c->page) {
				uint32_t off = reads[k].off + (uint32_t)o;
				bool zero = page_is_zero(b->buf + off, c->page);

				if (zero)
					c->stats.zero += c->page;
				err = item_push(b, c->page, off, zero);
			}
		}
		if (err) {
			snprintf(c->why, sizeof(c->why), "out of memory");
			goto out;
		}
		/* Zeros take no buffer: go on filling this block rather than a new one, so
		 * the ring's slots limit the data read ahead, never the holes, and the
		 * reader gets to the end (and the target is released) sooner. */
		if (e < p->ext_count && block_only_holes(b)) {
			b->filling = true;
			continue;
		}
		pthread_mutex_lock(&c->lock);
		b->full = true;
		c->head++;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
	}
out:
	free(remote);
	free(reads);
	pthread_mutex_lock(&c->lock);
	c->err = err;
	c->reader_done = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}


/* Tells the caller (read_done) that every byte is read, once the reader is done
 * without error; true when told. */
static bool release_if_read(struct copy *c, const struct copy_opts *o)
{
	bool read_all;

	pthread_mutex_lock(&c->lock);
	read_all = c->reader_done && !c->err && !c->stop;
	pthread_mutex_unlock(&c->lock);
	if (!read_all || !o->read_done)
		return false;
	o->read_done(o->read_done_ctx);
	return true;
}
int memory__copy(pid_t mem_pid, const struct dump_plan *plan, struct core_sink *sink,
		 const struct copy_opts *o, struct copy_stats *stats, char *why, size_t why_len)
{
	struct copy *c = calloc(1, sizeof(*c));
	uint64_t last_progress = 0;
	bool read_all, told = false;
	char path[64];
	pthread_t reader;
	bool started = false;
	int err = 0;

	if (!c) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	c->pid = mem_pid;
	c->plan = plan;
	c->cancel = o->cancel;
	c->no_pin = o->no_pin;
	c->page = (uint64_t)sysconf(_SC_PAGESIZE);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	snprintf(path, sizeof(path), "/proc/%d/mem", mem_pid);
	c->memfd = open(path, O_RDONLY | O_CLOEXEC);
	err = -pthread_create(&reader, NULL, reader_main, c);
	if (err) {
		snprintf(why, why_len, "cannot start the reader thread: %s", strerror(-err));
		goto out;
	}
	started = true;

	for (;;) {
		struct block *b;

		pthread_mutex_lock(&c->lock);
		while (!c->blocks[c->tail % BLOCKS].full && !c->reader_done)
			pthread_cond_wait(&c->cond, &c->lock);
		b = &c->blocks[c->tail % BLOCKS];
		read_all = c->reader_done && !c->err && !c->stop;
		if (!b->full) { /* reader done and nothing left */
			pthread_mutex_unlock(&c->lock);
			break;
		}
		pthread_mutex_unlock(&c->lock);
		/* Every byte is in our buffers: the target may run while they drain. */
		if (read_all && !told)
			told = release_if_read(c, o);

		if (o->cancel && *o->cancel) {
			err = -ECANCELED;
			snprintf(why, why_len, "interrupted");
			break;
		}
		for (size_t k = 0; k < b->count && !err; k++) {
			const struct item *it = &b->items[k];

			if (!it->hole) {
				err = core_sink__write(sink, b->buf + it->off, it->len);
				continue;
			}
			/* A compressing sink takes seconds over GiBs of zeros: feed them in
			 * chunks, and let the target go as soon as the reader is done. */
			for (uint64_t left = it->len; left && !err;) {
				uint64_t n = left < HOLE_CHUNK ? left : HOLE_CHUNK;

				err = core_sink__zeros(sink, n);
				left -= n;
				if (!told && left)
					told = release_if_read(c, o);
			}
		}
		if (err) {
			snprintf(why, why_len, "%s", sink->why[0] ? sink->why : strerror(-err));
			break;
		}
		pthread_mutex_lock(&c->lock);
		b->full = false;
		c->tail++;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
		if (o->progress && sink->offset - last_progress >= (32U << 20)) {
			last_progress = sink->offset;
			o->progress(sink->offset, o->total, o->progress_ctx);
		}
	}
out:
	if (started) {
		pthread_mutex_lock(&c->lock);
		c->stop = true;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
		pthread_join(reader, NULL);
		if (!err && c->err) {
			err = c->err;
			snprintf(why, why_len, "%s", c->why);
		}
		if (!err && o->cancel && *o->cancel) {
			err = -ECANCELED;
			snprintf(why, why_len, "interrupted");
		}
	}
	if (stats)
		*stats = c->stats;
	for (int i = 0; i < BLOCKS; i++) {
		if (c->blocks[i].buf)
			munmap(c->blocks[i].buf, BLOCK_SIZE);
		free(c->blocks[i].items);
	}
	if (c->memfd >= 0)
		close(c->memfd);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
	return err;
}
