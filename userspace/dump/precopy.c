// SPDX-License-Identifier: GPL-2.0-only
/* The pre-copy snapshot: two short freezes around a copy made while the target runs;
 * the design is in precopy.h. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/procfs.h"
#include "dump/arch.h"
#include "dump/capture.h"
#include "dump/freeze.h"
#include "dump/memory.h"
#include "dump/notes.h"
#include "dump/precopy.h"
#include "dump/precopy_layout.h"
#include "dump/sink.h"
#include "dump/sink_file.h"
#include "dump/snapshot.h"

/* Linux 6.5 / 6.7 additions that Debian 12's headers (6.1) lack. */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#define UFFD_FEATURES (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED)
/* A round that finds less than this written is the last: freeze #2 reads the rest. */
#define ROUND_ENOUGH (4ULL << 20)
#define USER_TOP (1ULL << 47) /* PAGEMAP_SCAN refuses ranges above user space */

/*
 * PAGEMAP_SCAN of [start, end) of the process behind @pagemap, appending the regions.
 * With PM_SCAN_WP_MATCHING the matching pages are write-protected again in the same
 * walk. 0 or -errno.
 */
static int scan(int pagemap, uint64_t start, uint64_t end, uint64_t flags, uint64_t mask,
		uint64_t ret_mask, struct regions *out)
{
	uint64_t at = start;

	while (at < end) {
		struct pm_scan_arg a;
		long n;

		if (out->cap - out->n < 4096) {
			size_t cap = out->cap ? out->cap * 2 : 65536;
			void *p = realloc(out->v, cap * sizeof(*out->v));

			if (!p)
				return -ENOMEM;
			out->v = p;
			out->cap = cap;
		}
		a = (struct pm_scan_arg){
			.size = sizeof(a), .flags = flags, .start = at, .end = end,
			.vec = (uint64_t)(uintptr_t)(out->v + out->n), .vec_len = out->cap - out->n,
			.category_mask = mask, .return_mask = ret_mask,
		};
		n = ioctl(pagemap, PAGEMAP_SCAN, &a);
		if (n < 0)
			return -errno;
		out->n += (size_t)n;
		if (a.walk_end <= at)
			break;
		at = a.walk_end;
	}
	return 0;
}

/* --- reading ---------------------------------------------------------------------- */

/*
 * Reads the memory of @n ios of @pid into @buf, one after the other. What
 * process_vm_readv refuses is tried page by page with /proc/PID/mem; what neither
 * gives is zeros, counted in *@unreadable. -ESRCH when the process is gone.
 */
static int read_ios(pid_t pid, int memfd, const struct span *io, size_t n, unsigned char *buf,
		    uint64_t *unreadable)
{
	struct iovec remote[IOV_MAX];
	size_t i = 0;

	while (i < n) {
		size_t cnt = 0, want = 0;
		struct iovec local;
		ssize_t got;

		for (; cnt < IOV_MAX && i + cnt < n; cnt++) {
			remote[cnt].iov_base = (void *)io[i + cnt].start;
			remote[cnt].iov_len = io[i + cnt].end - io[i + cnt].start;
			want += remote[cnt].iov_len;
		}
		local = (struct iovec){ buf, want };
		got = process_vm_readv(pid, &local, 1, remote, cnt, 0);
		if (got < 0 && errno == ESRCH)
			return -ESRCH;
		if (got < 0)
			got = 0;
		if ((size_t)got == want) {
			buf += want;
			i += cnt;
			continue;
		}
		/* Skip the ios read whole; the one that failed goes page by page. */
		while ((size_t)got >= io[i].end - io[i].start) {
			got -= io[i].end - io[i].start;
			buf += io[i].end - io[i].start;
			i++;
		}
		for (uint64_t a = io[i].start + got; a < io[i].end; a += 4096) {
			size_t len = io[i].end - a < 4096 ? io[i].end - a : 4096;
			unsigned char *dst = buf + (a - io[i].start);

			if (memfd < 0 || pread(memfd, dst, len, (off_t)a) != (ssize_t)len) {
				memset(dst, 0, len);
				*unreadable += len;
			}
		}
		buf += io[i].end - io[i].start;
		i++;
	}
	return 0;
}

static bool zero_page(const unsigned char *p, size_t len)
{
	const uint64_t *w = (const uint64_t *)p;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i])
			return false;
	return true;
}

/*
 * Writes what read_ios() put in @buf to the file, each io at its place. Pages that
 * are zeros (dropped with MADV_DONTNEED since they were copied, or zeroed) become
 * holes, counted in *@punched.
 */
static int write_ios(struct core_sink *sink, const struct span *io, size_t n,
		     const unsigned char *buf, uint64_t *punched)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t len = io[i].end - io[i].start, at = 0;
		int err = 0;

		while (at < len && !err) {
			uint64_t run = 0;
			bool zero = zero_page(buf + at, len - at < 4096 ? len - at : 4096);

			while (at + run < len && !err) {
				uint64_t step = len - at - run < 4096 ? len - at - run : 4096;

				if (zero_page(buf + at + run, step) != zero)
					break;
				run += step;
			}
			if (zero) {
				err = sink_file__punch(sink, io[i].off + at, run);
				*punched += run;
			} else {
				err = sink_file__pwrite(sink, buf + at, run, io[i].off + at);
			}
			at += run;
		}
		if (err)
			return err;
		buf += len;
	}
	return 0;
}

/* Reads and writes @ios in batches of at most IO_CHUNK, the target running. */
static int copy_ios(pid_t pid, int memfd, const struct spans *ios, struct core_sink *sink,
		    unsigned char *chunk, uint64_t *unreadable, uint64_t *punched)
{
	size_t i = 0;

	while (i < ios->n) {
		size_t k = i;
		uint64_t bytes = 0;
		int err;

		while (k < ios->n && bytes + (ios->v[k].end - ios->v[k].start) <= IO_CHUNK) {
			bytes += ios->v[k].end - ios->v[k].start;
			k++;
		}
		err = read_ios(pid, memfd, ios->v + i, k - i, chunk, unreadable);
		if (!err)
			err = write_ios(sink, ios->v + i, k - i, chunk, punched);
		if (err)
			return err;
		i = k;
	}
	return 0;
}

/* --- the probe -------------------------------------------------------------------- */

static int open_uffd_api(int *fd_out)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURES };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	/* vm.unprivileged_userfaultfd=0 without CAP_SYS_PTRACE: user-mode faults only,
	 * which is all asynchronous write-protection needs. */
	if (fd < 0 && errno == EPERM)
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api)) {
		int err = -errno;

		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

int precopy__probe(char *why, size_t why_len)
{
	static int result = 1; /* 1: not probed yet */
	static char reason[160];
	struct page_region r[4];
	long page = sysconf(_SC_PAGESIZE);
	char *p = MAP_FAILED;
	int fd = -1, pm = -1, err;

	if (__atomic_load_n(&result, __ATOMIC_ACQUIRE) != 1)
		goto out;
	err = open_uffd_api(&fd);
	if (err) {
		snprintf(reason, sizeof(reason), err == -EINVAL
			 ? "userfaultfd lacks asynchronous write-protection (UFFD_FEATURE_WP_ASYNC, "
			   "Linux 6.7)" : "userfaultfd: %s", strerror(-err));
		goto done;
	}
	p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		snprintf(reason, sizeof(reason), "mmap: %s", strerror(-err));
		goto done;
	}
	{
		struct uffdio_register reg = { .range = { (uintptr_t)p, 2 * page },
					       .mode = UFFDIO_REGISTER_MODE_WP };
		struct uffdio_writeprotect wp = { .range = { (uintptr_t)p, 2 * page },
						  .mode = UFFDIO_WRITEPROTECT_MODE_WP };

		p[0] = 1;
		if (ioctl(fd, UFFDIO_REGISTER, &reg) || ioctl(fd, UFFDIO_WRITEPROTECT, &wp)) {
			err = -errno;
			snprintf(reason, sizeof(reason), "userfaultfd write-protection: %s",
				 strerror(-err));
			goto done;
		}
		p[page] = 2; /* written after the protection: the only written page */
	}
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	{
		struct pm_scan_arg a = {
			.size = sizeof(a), .flags = PM_SCAN_WP_MATCHING, .start = (uintptr_t)p,
			.end = (uintptr_t)p + 2 * page, .vec = (uintptr_t)r, .vec_len = 4,
			.category_mask = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_WRITTEN,
		};
		long n = pm < 0 ? -1 : ioctl(pm, PAGEMAP_SCAN, &a);

		if (n < 0) {
			err = -errno;
			snprintf(reason, sizeof(reason), err == -ENOTTY || err == -EINVAL
				 ? "no PAGEMAP_SCAN on /proc/PID/pagemap (Linux 6.7)"
				 : "PAGEMAP_SCAN: %s", strerror(-err));
			goto done;
		}
		if (n != 1 || r[0].start != (uintptr_t)p + page || r[0].end != (uintptr_t)p + 2 * page) {
			err = -EOPNOTSUPP;
			snprintf(reason, sizeof(reason),
				 "PAGEMAP_SCAN did not tell the written page (%ld regions)", n);
			goto done;
		}
	}
	err = 0;
done:
	if (pm >= 0)
		close(pm);
	if (fd >= 0)
		close(fd);
	if (p != MAP_FAILED)
		munmap(p, 2 * page);
	__atomic_store_n(&result, err, __ATOMIC_RELEASE);
out:
	err = __atomic_load_n(&result, __ATOMIC_ACQUIRE);
	if (err)
		snprintf(why, why_len, "%s", reason);
	return err;
}

/* --- the freezes: tracedump at SCHED_FIFO while the target is stopped --------------- */

/* On a loaded machine a dumper at normal priority loses whole time slices while the
 * target waits for it; freeze.c boosts only while seizing and releasing. */
struct boost {
	int policy;
	struct sched_param param;
	bool changed;
};

static void boost(struct boost *b)
{
	struct sched_param fifo = { .sched_priority = 1 };

	b->changed = false;
	b->policy = sched_getscheduler(0);
	if (b->policy < 0 || b->policy == SCHED_FIFO || b->policy == SCHED_RR ||
	    sched_getparam(0, &b->param))
		return;
	b->changed = !sched_setscheduler(0, SCHED_FIFO, &fifo);
}

static void unboost(struct boost *b)
{
	if (b->changed)
		sched_setscheduler(0, b->policy, &b->param);
	b->changed = false;
}

/* --- freeze #1: a userfaultfd of the target's mm, held by tracedump alone ------------ */

static int take_uffd(pid_t pid, struct precopy *pc, int *uffd, char *why, size_t why_len)
{
	struct freeze fz = {};
	struct capture mini = {};
	struct boost b = {};
	uint64_t insn, args[6] = { O_CLOEXEC | O_NONBLOCK };
	long tfd = -1, r;
	int err, pidfd = -1;

	*uffd = -1;
	/* The `syscall` instruction is found before the freeze: the vDSO stays. */
	mini.mem_pid = pid;
	err = procfs_read(pid, -1, "auxv", (char **)&mini.auxv, &mini.auxv_len);
	if (err) {
		/* A leader that called pthread_exit has none: the fork copes. */
		snprintf(pc->reason, sizeof(pc->reason), "cannot read /proc/%d/auxv: %s", pid,
			 strerror(-err));
		err = 1;
		goto out;
	}
	insn = snapshot__find_insn(&mini);
	if (!insn) {
		snprintf(pc->reason, sizeof(pc->reason),
			 "no syscall instruction found in the process's executable text");
		err = 1;
		goto out;
	}
	boost(&b);
	err = freeze__all(pid, &fz, NULL, why, why_len);
	if (err)
		goto out;
	if (!fz.count || fz.threads[0].gone) {
		snprintf(pc->reason, sizeof(pc->reason), "the main thread has exited");
		err = 1;
		goto out;
	}
	err = snapshot__syscall(&fz, insn, SYS_userfaultfd, args, &tfd, pc->reason,
				sizeof(pc->reason));
	if (!err && tfd == -EPERM) {
		args[0] |= UFFD_USER_MODE_ONLY;
		err = snapshot__syscall(&fz, insn, SYS_userfaultfd, args, &tfd, pc->reason,
					sizeof(pc->reason));
	}
	if (err == -ESRCH) {
		snprintf(why, why_len, "process %d exited", pid);
		goto out;
	}
	if (err || tfd < 0) {
		if (!err)
			snprintf(pc->reason, sizeof(pc->reason), "userfaultfd() failed in the "
				 "process: %s", strerror((int)-tfd));
		err = 1;
		goto out;
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0)
		*uffd = (int)syscall(SYS_pidfd_getfd, pidfd, (int)tfd, 0);
	if (*uffd < 0)
		snprintf(pc->reason, sizeof(pc->reason), "pidfd_getfd of the userfaultfd: %s",
			 strerror(errno));
	/* The target must not keep it: it would outlive the dump. */
	args[0] = (uint64_t)tfd;
	err = snapshot__syscall(&fz, insn, SYS_close, args, &r, why, why_len);
	if (err || r) {
		if (!err)
			snprintf(why, why_len, "close() returned %s", strerror((int)-r));
		snprintf(pc->warning, sizeof(pc->warning),
			 "process %d keeps a userfaultfd (fd %ld) tracedump could not close in "
			 "it (%s); it costs it a minor fault per first write to a page", pid,
			 tfd, why);
		why[0] = 0;
	}
	err = *uffd < 0 ? 1 : 0;
out:
	freeze__release(&fz);
	unboost(&b);
	pc->pause1_ns = fz.released_ns - fz.frozen_ns;
	if (pidfd >= 0)
		close(pidfd);
	free(mini.auxv);
	if (err && *uffd >= 0) {
		close(*uffd);
		*uffd = -1;
	}
	return err;
}

/* --- freeze #2: the mappings from /proc/PID/maps and the scan ---------------------- */

/* The mapping of @before (sorted) that @pm is the same as or a piece of; NULL if new. */
static const struct capture_map *same_map(const struct capture *before,
					  const struct proc_map *pm)
{
	size_t lo = 0, hi = before->map_count;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (before->maps[mid].end <= pm->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == before->map_count) {
		return NULL;
	} else {
		const struct capture_map *b = &before->maps[lo];

		if (b->start > pm->start || b->inode != pm->inode || b->dev_major != pm->dev_major ||
		    b->dev_minor != pm->dev_minor || strcmp(b->path, pm->path) ||
		    (b->inode && b->offset + (pm->start - b->start) != pm->offset))
			return NULL;
		return b;
	}
}

/* Is the mapping at @start registered with a write-protecting userfaultfd? One page of
 * PAGEMAP_SCAN tells (PAGE_IS_WPALLOWED is a property of the whole mapping). */
static bool registered(int pagemap, uint64_t start)
{
	struct page_region v[2];
	struct pm_scan_arg a = {
		.size = sizeof(a), .start = start, .end = start + 4096,
		.vec = (uint64_t)(uintptr_t)v, .vec_len = 2, .return_mask = PAGE_IS_WPALLOWED,
	};

	return ioctl(pagemap, PAGEMAP_SCAN, &a) >= 1 && (v[0].categories & PAGE_IS_WPALLOWED);
}

/*
 * Fills @cap->maps from /proc/PID/maps (no page walk), with the flags and counters
 * smaps gave @before for mappings that were there. @written (the fast PAGEMAP_SCAN of
 * freeze #2) stands in for what smaps would say now: a written page of a tracked
 * mapping is anonymous memory (or a dropped one); in a mapping not tracked every page
 * with a page table looks written, an upper bound of what it holds. (*@tracked)[i] says
 * whether mapping i is the one the pre-copy registered, still registered.
 */
static int maps_now(pid_t pid, int memfd, int pagemap, const struct capture *before,
		    const struct regions *written, struct capture *cap, bool **tracked)
{
	char *buf = NULL, *line, *next;
	size_t cap_maps = 0;
	int err = procfs_read(pid, -1, "maps", &buf, NULL);

	*tracked = NULL;
	for (line = buf; !err && line && *line; line = next) {
		struct proc_map pm;
		const struct capture_map *b;
		struct capture_map *m;
		uint64_t w = 0;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (procfs_parse_maps_line(line, &pm))
			continue;
		if (cap->map_count == cap_maps) {
			size_t n = cap_maps ? cap_maps * 2 : 256;
			void *p = realloc(cap->maps, n * sizeof(*cap->maps));
			void *q = realloc(*tracked, n * sizeof(**tracked));

			if (p)
				cap->maps = p;
			if (q)
				*tracked = q;
			if (!p || !q) {
				err = -ENOMEM;
				break;
			}
			cap_maps = n;
		}
		m = &cap->maps[cap->map_count];
		err = capture__map_from(m, &pm);
		if (err)
			break;
		(*tracked)[cap->map_count++] = false;
		m->has_vmflags = true;
		for (size_t i = regions__at(written, m->start);
		     i < written->n && written->v[i].start < m->end; i++) {
			uint64_t s = written->v[i].start > m->start ? written->v[i].start : m->start;
			uint64_t e = written->v[i].end < m->end ? written->v[i].end : m->end;

			w += e - s;
		}
		b = same_map(before, &pm);
		if (b) {
			/* dd, ht, io, dc, wf stay; r, w, x may have changed (mprotect). */
			m->vmflags |= b->vmflags & ~(VMF_READ | VMF_WRITE | VMF_EXEC | VMF_SHARED);
			m->file_unlinked = b->file_unlinked;
			m->file_exec = b->file_exec;
			m->elf_magic = b->start == m->start && b->elf_magic;
			m->rss = b->rss;
			m->swap = b->swap;
			m->anonymous = b->anonymous;
			(*tracked)[cap->map_count - 1] = pm.start < USER_TOP &&
							  registered(pagemap, pm.start);
		} else if (pm.inode || pm.path[0] == '/') {
			capture__file_facts(pid, m, memfd);
		}
		/* Resident at most what it was plus what was written since; never 0 when
		 * something was written, so the plan looks at the pages themselves. */
		m->rss += w;
		m->anonymous += w;
		/* A tracked mapping's zero pages are holes in the file already, and its
		 * written ones are read again: no page scan of it while frozen. */
		if (m->rss > m->end - m->start || (*tracked)[cap->map_count - 1])
			m->rss = m->end - m->start;
		if (m->anonymous > m->end - m->start)
			m->anonymous = m->end - m->start;
	}
	free(buf);
	return err;
}

/* --- the dump --------------------------------------------------------------------- */

/* @covered (pre-copied spans) where the mapping is the pre-copy's, still tracked. */
static int still_tracked(const struct spans *covered, const struct capture *cap,
			 const bool *tracked, struct spans *out)
{
	int err = 0;

	for (size_t i = 0; i < cap->map_count && !err; i++) {
		const struct capture_map *m = &cap->maps[i];

		if (!tracked[i])
			continue;
		for (size_t j = spans__at(covered, m->start);
		     j < covered->n && covered->v[j].start < m->end && !err; j++) {
			const struct span *c = &covered->v[j];
			uint64_t s = m->start > c->start ? m->start : c->start;
			uint64_t e = m->end < c->end ? m->end : c->end;

			err = spans__push(out, s, e, c->off + (s - c->start));
		}
	}
	return err;
}

/* A round: the pages written since the last look, protected again, read again and
 * written over their place. */
static int round_once(pid_t pid, int pagemap, int memfd, const struct spans *covered,
		      struct core_sink *sink, unsigned char *chunk, uint64_t *found,
		      uint64_t *unreadable, uint64_t *punched)
{
	struct regions r = {};
	struct spans ios = {};
	int err;

	*found = 0;
	if (!covered->n)
		return 0;
	err = scan(pagemap, covered->v[0].start, covered->v[covered->n - 1].end,
		   PM_SCAN_WP_MATCHING, PAGE_IS_WRITTEN, PAGE_IS_WRITTEN, &r);
	for (size_t j = 0; j < r.n && !err; j++) {
		for (size_t i = spans__at(covered, r.v[j].start);
		     i < covered->n && covered->v[i].start < r.v[j].end && !err; i++) {
			const struct span *c = &covered->v[i];
			uint64_t s = r.v[j].start > c->start ? r.v[j].start : c->start;
			uint64_t e = r.v[j].end < c->end ? r.v[j].end : c->end;

			err = spans__push_io(&ios, found, s, e, c->off + (s - c->start));
		}
	}
	if (!err)
		err = copy_ios(pid, memfd, &ios, sink, chunk, unreadable, punched);
	free(r.v);
	free(ios.v);
	return err;
}

static void noop(void *ctx)
{
	(void)ctx;
}

/* Registers and write-protects every mapping of @maps it can; @tracked gets the
 * mappings registered (shallow copies: the paths stay @maps'). */
static void track(int uffd, const struct capture *maps, struct capture *tracked,
		  struct precopy *pc)
{
	for (size_t i = 0; i < maps->map_count; i++) {
		const struct capture_map *m = &maps->maps[i];
		struct uffdio_register reg = { .range = { m->start, m->end - m->start },
					       .mode = UFFDIO_REGISTER_MODE_WP };
		struct uffdio_writeprotect wp = { .range = { m->start, m->end - m->start },
						  .mode = UFFDIO_WRITEPROTECT_MODE_WP };

		/* [vdso], [vvar], VM_IO, VM_PFNMAP, one another userfaultfd holds, one
		 * gone since smaps was read: read whole at freeze #2. */
		if (m->start >= USER_TOP || ioctl(uffd, UFFDIO_REGISTER, &reg) ||
		    ioctl(uffd, UFFDIO_WRITEPROTECT, &wp)) {
			pc->untracked_maps++;
			continue;
		}
		tracked->maps[tracked->map_count++] = *m;
		pc->tracked_maps++;
	}
}

int precopy__dump(const struct precopy_opts *o, struct core_sink *sink, struct capture *cap,
		  struct precopy *pc, char *why, size_t why_len)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), t, data_end, tail, lo, hi;
	struct capture before = {}, tracked = {};
	struct dump_plan pre = {}, plan = {};
	struct spans covered = {}, still = {};
	bool *tracked_now = NULL;
	struct regions r = {};
	struct precopy_reads f = {};
	struct precopy_layout l = {};
	struct note_buf notes = {};
	struct freeze fz = {};
	struct boost b = {};
	struct copy_stats stats = {};
	struct copy_opts copy = { o->cancel, o->progress, o->progress_ctx };
	unsigned char *chunk = NULL, *frozen_buf = MAP_FAILED;
	size_t frozen_len = 0;
	char path[64];
	int uffd = -1, pagemap = -1, memfd = -1, err;

	memset(pc, 0, sizeof(*pc));
	memset(cap, 0, sizeof(*cap));
	err = take_uffd(o->pid, pc, &uffd, why, why_len);
	if (err)
		return err;
	t = monotonic_ns();
	{
		struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURES };

		if (ioctl(uffd, UFFDIO_API, &api)) {
			snprintf(pc->reason, sizeof(pc->reason), "UFFDIO_API: %s", strerror(errno));
			err = 1;
			goto out;
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", o->pid);
	pagemap = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/mem", o->pid);
	memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pagemap < 0) {
		err = errno == ENOENT || errno == ESRCH ? -ESRCH : -errno;
		snprintf(why, why_len, "failed to open /proc/%d/pagemap: %s", o->pid,
			 strerror(-err));
		goto out;
	}

	/* Track, then plan and copy everything, the target running. */
	err = capture__read_maps(o->pid, &before);
	if (err) {
		err = err == -ENOENT ? -ESRCH : err;
		snprintf(why, why_len, "failed to read /proc/%d/smaps: %s", o->pid, strerror(-err));
		goto out;
	}
	tracked.maps = calloc(before.map_count + 1, sizeof(*tracked.maps));
	if (!tracked.maps) {
		err = -ENOMEM;
		goto out;
	}
	tracked.mem_pid = tracked.pid = o->pid;
	track(uffd, &before, &tracked, pc);
	pc->setup_ns = monotonic_ns() - t;
	t = monotonic_ns();
	err = memory__plan(o->pid, &tracked, o->mode, o->filter, &pre);
	if (err) {
		snprintf(why, why_len, "failed to plan the core: %s", strerror(-err));
		goto out;
	}
	data_end = page;
	for (size_t i = 0; i < pre.seg_count && !err; i++) {
		err = spans__push(&covered, pre.segs[i].vaddr, pre.segs[i].vaddr + pre.segs[i].filesz,
				 data_end);
		data_end += pre.segs[i].filesz;
	}
	if (!err)
		err = core_sink__begin(sink, data_end, page + pre.read_bytes);
	if (!err)
		err = core_sink__zeros(sink, page); /* the ELF header goes there at the end */
	if (err) {
		snprintf(why, why_len, "%s", sink->why[0] ? sink->why : strerror(-err));
		goto out;
	}
	copy.total = data_end;
	copy.read_done = noop;
	err = memory__copy(o->pid, &pre, sink, &copy, &stats, why, why_len);
	if (err)
		goto out;
	pc->precopy_bytes = pre.read_bytes;
	pc->precopy_ns = monotonic_ns() - t;

	/* Rounds, while the written set shrinks and is worth it. */
	t = monotonic_ns();
	chunk = malloc(IO_CHUNK);
	if (!chunk) {
		err = -ENOMEM;
		goto out;
	}
	while (pc->rounds < PRECOPY_MAX_ROUNDS) {
		uint64_t found;

		if (o->cancel && *o->cancel) {
			err = -ECANCELED;
			goto out;
		}
		err = round_once(o->pid, pagemap, memfd, &covered, sink, chunk, &found,
				 &stats.unreadable, &pc->punched_bytes);
		if (err) {
			if (err == -ESRCH)
				snprintf(why, why_len, "process %d exited during the dump", o->pid);
			else if (!why[0])
				snprintf(why, why_len, "%s", sink->why[0] ? sink->why
					 : strerror(-err));
			goto out;
		}
		pc->round_bytes[pc->rounds++] = found;
		pc->reread_bytes += found;
		if (found < ROUND_ENOUGH ||
		    (pc->rounds > 1 && found >= pc->round_bytes[pc->rounds - 2]))
			break;
	}
	pc->rounds_ns = monotonic_ns() - t;

	/* Freeze #2: the instant the core shows. */
	boost(&b);
	err = freeze__all(o->pid, &fz, o->cancel, why, why_len);
	if (err)
		goto out;
	t = monotonic_ns();
	err = capture__take_threads(&fz, cap, why, why_len);
	if (err)
		goto out;
	pc->freeze2_capture_ns = monotonic_ns() - t;
	t = monotonic_ns();
	lo = ~0ULL;
	hi = 0;
	{
		char *maps = NULL, *line, *next;

		/* The span of the user address space in use, from the cheap maps. */
		err = procfs_read(o->pid, -1, "maps", &maps, NULL);
		for (line = maps; !err && line && *line; line = next) {
			struct proc_map pm;

			next = strchr(line, '\n');
			if (next)
				*next++ = 0;
			if (procfs_parse_maps_line(line, &pm) || pm.start >= USER_TOP)
				continue;
			lo = pm.start < lo ? pm.start : lo;
			hi = pm.end > hi ? pm.end : hi;
		}
		free(maps);
	}
	if (!err && lo < hi)
		/* The kernel's fast path (category and return masks exactly
		 * PAGE_IS_WRITTEN): 0.3 ms per GiB, where asking for more categories walks
		 * each entry the slow way (3 ms, 17 ms with PAGE_IS_FILE). */
		err = scan(pagemap, lo, hi, 0, PAGE_IS_WRITTEN, PAGE_IS_WRITTEN, &r);
	if (!err)
		err = maps_now(o->pid, memfd, pagemap, &before, &r, cap, &tracked_now);
	if (err) {
		snprintf(why, why_len, "failed to read the mappings of process %d: %s", o->pid,
			 strerror(-err));
		goto out;
	}
	err = memory__plan(o->pid, cap, o->mode, o->filter, &plan);
	if (!err)
		err = still_tracked(&covered, cap, tracked_now, &still);
	tail = (sink->offset + page - 1) & ~(page - 1);
	if (!err)
		err = precopy_layout__build(&plan, &still, &tail, &l);
	if (!err)
		err = precopy_layout__reads(&plan, &l, &r, &f);
	if (err) {
		snprintf(why, why_len, "failed to plan the core: %s", strerror(-err));
		goto out;
	}
	pc->freeze2_scan_ns = monotonic_ns() - t;
	t = monotonic_ns();
	frozen_len = f.written + f.untracked;
	if (frozen_len) {
		frozen_buf = mmap(NULL, frozen_len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (frozen_buf == MAP_FAILED) {
			err = -ENOMEM;
			snprintf(why, why_len, "out of memory for %llu bytes read while frozen",
				 (unsigned long long)frozen_len);
			goto out;
		}
		err = read_ios(o->pid, memfd, f.ios.v, f.ios.n, frozen_buf, &stats.unreadable);
		if (err) {
			snprintf(why, why_len, "process %d exited during the dump", o->pid);
			goto out;
		}
	}
	pc->freeze2_read_ns = monotonic_ns() - t;
	freeze__release(&fz);
	unboost(&b);
	pc->pause2_ns = fz.released_ns - fz.frozen_ns;
	pc->final_bytes = f.written;
	pc->untracked_bytes = f.untracked;

	/* The target runs: write what was read, the notes, the headers. */
	t = monotonic_ns();
	if (frozen_len)
		err = write_ios(sink, f.ios.v, f.ios.n, frozen_buf, &pc->punched_bytes);
	if (!err)
		err = notes__build(cap, &notes);
	if (!err && l.phnum >= PN_XNUM) {
		snprintf(why, why_len, "too many mappings (%zu) for an ELF core", l.phnum);
		err = -E2BIG;
		goto out;
	}
	if (!err) {
		uint64_t notes_off = (tail + 7) & ~7ULL;
		uint64_t ph_off = (notes_off + notes.len + 7) & ~7ULL;
		Elf64_Ehdr eh = {
			.e_type = ET_CORE, .e_machine = arch_elf_machine, .e_version = EV_CURRENT,
			.e_phoff = ph_off, .e_ehsize = sizeof(eh),
			.e_phentsize = sizeof(Elf64_Phdr), .e_phnum = (Elf64_Half)l.phnum,
		};

		memcpy(eh.e_ident, ELFMAG, SELFMAG);
		eh.e_ident[EI_CLASS] = ELFCLASS64;
		eh.e_ident[EI_DATA] = ELFDATA2LSB;
		eh.e_ident[EI_VERSION] = EV_CURRENT;
		eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
		l.ph[0] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = notes_off,
					.p_filesz = notes.len };
		err = sink_file__pwrite(sink, notes.data, notes.len, notes_off);
		if (!err)
			err = sink_file__pwrite(sink, l.ph, l.phnum * sizeof(*l.ph), ph_off);
		if (!err)
			err = sink_file__pwrite(sink, &eh, sizeof(eh), 0);
		pc->core_size = ph_off + l.phnum * sizeof(*l.ph);
	}
	if (err) {
		if (!why[0])
			snprintf(why, why_len, "%s", sink->why[0] ? sink->why : strerror(-err));
		goto out;
	}
	pc->write_ns = monotonic_ns() - t;
	pc->memory_bytes = plan.data_bytes;
	/* Known zero when planned, found zero when read, dropped since. */
	pc->zero_bytes = (pre.data_bytes - pre.read_bytes) + (plan.data_bytes - plan.read_bytes) +
			 stats.zero + pc->punched_bytes;
	if (pc->zero_bytes > plan.data_bytes)
		pc->zero_bytes = plan.data_bytes;
	pc->unreadable_bytes = stats.unreadable;
	pc->segments = l.phnum - 1;
	pc->rewritten_bytes = pc->reread_bytes + pc->final_bytes + sizeof(Elf64_Ehdr);
	err = 0;
out:
	freeze__release(&fz);
	unboost(&b);
	if (fz.released_ns && !pc->pause2_ns)
		pc->pause2_ns = fz.released_ns - fz.frozen_ns;
	/* Closing it ends the tracking: every range unregistered, uffd-wp bits cleared. */
	if (uffd >= 0)
		close(uffd);
	if (pagemap >= 0)
		close(pagemap);
	if (memfd >= 0)
		close(memfd);
	if (frozen_buf != MAP_FAILED)
		munmap(frozen_buf, frozen_len);
	free(chunk);
	free(tracked.maps);
	capture__free(&before);
	memory__plan_free(&pre);
	memory__plan_free(&plan);
	free(covered.v);
	free(still.v);
	free(tracked_now);
	free(r.v);
	free(f.ios.v);
	precopy_layout__free(&l);
	notes__free(&notes);
	if (err == -ESRCH && !why[0])
		snprintf(why, why_len, "process %d exited during the dump", o->pid);
	if (err < 0 && !why[0])
		snprintf(why, why_len, "%s", strerror(-err));
	return err;
}

json_t *precopy__json(const struct precopy *pc)
{
	json_t *rounds = json_array(), *o;

	for (unsigned i = 0; rounds && i < pc->rounds; i++)
		json_array_append_new(rounds, json_integer((json_int_t)pc->round_bytes[i]));
	o = json_pack("{s:b, s:s, s:f, s:f, s:i, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		      "s:{s:f, s:f, s:f, s:f, s:f, s:f, s:f}, s:s}",
		      "used", 1, "method", "precopy", "freeze1_ms", pc->pause1_ns / 1e6,
		      "freeze2_ms", pc->pause2_ns / 1e6, "rounds", (int)pc->rounds,
		      "round_bytes", rounds, "precopy_bytes", (json_int_t)pc->precopy_bytes,
		      "reread_bytes", (json_int_t)pc->reread_bytes,
		      "reread_pages", (json_int_t)(pc->reread_bytes / 4096),
		      "final_bytes", (json_int_t)pc->final_bytes,
		      "untracked_bytes", (json_int_t)pc->untracked_bytes,
		      "punched_bytes", (json_int_t)pc->punched_bytes,
		      "untracked_maps", (json_int_t)pc->untracked_maps,
		      "timings_ms", "setup", pc->setup_ns / 1e6, "precopy", pc->precopy_ns / 1e6,
		      "rounds", pc->rounds_ns / 1e6, "freeze2_capture",
		      pc->freeze2_capture_ns / 1e6, "freeze2_scan", pc->freeze2_scan_ns / 1e6,
		      "freeze2_read", pc->freeze2_read_ns / 1e6, "write", pc->write_ns / 1e6,
		      "limit",
		      "pages of shared mappings written by other processes during the dump are "
		      "not tracked: they may show later contents");
	if (o && pc->warning[0])
		json_object_set_new(o, "warning", json_string(pc->warning));
	return o;
}
