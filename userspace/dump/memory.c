// SPDX-License-Identifier: GPL-2.0-only
/* What memory goes into a core: the kernel's rules and the PT_LOAD plan; see memory.h. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dump/arch.h"
#include "dump/capture.h"
#include "dump/memory.h"

#define MINI_STACK_MAX (8ULL << 20) /* the used stack of one thread, at most */
#define RED_ZONE 128		    /* below SP, live on x86_64 */

bool memory__always_dump(const struct capture_map *m)
{
	/* The kernel's always_dump_vma(): the gate vma and special mappings with a name
	 * from vm_ops->name or arch_vma_name(), not [heap]/[stack]/[anon:...]. */
	static const char *const special[] = { "[vdso]", "[vsyscall]", "[vvar]", "[vvar_vclock]",
					       "[uprobes]", "[sigpage]", "[vectors]" };

	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (!strcmp(m->path, special[i]))
			return true;
	return false;
}

static bool has_file(const struct capture_map *m)
{
	return m->path[0] == '/';
}

/* The mapping has anonymous pages of its own (the kernel's vma->anon_vma): a private
 * mapping that was written to. Without smaps, assume it was. */
static bool anon_touched(const struct capture_map *m)
{
	return !m->has_vmflags || m->anonymous || m->swap;
}

uint64_t memory__dump_size(const struct capture_map *m, unsigned long filter, uint64_t page)
{
	uint64_t whole = m->end - m->start;

	if (memory__always_dump(m))
		return whole;
	if (m->vmflags & VMF_DONTDUMP)
		return 0;
	/* Nothing can be read from an unreadable mapping: the kernel writes holes for it,
	 * we write nothing (p_filesz 0). */
	if (!(m->vmflags & VMF_READ))
		return 0;
	if (m->vmflags & VMF_HUGETLB) {
		if (m->vmflags & VMF_SHARED)
			return filter & DUMP_FILTER_HUGETLB_SHARED ? whole : 0;
		return filter & DUMP_FILTER_HUGETLB_PRIVATE ? whole : 0;
	}
	if (m->vmflags & VMF_IO)
		return 0;
	if (m->vmflags & VMF_SHARED) {
		/* Shared memory "mapped from an anonymous file": an inode with no links
		 * (MAP_SHARED|MAP_ANONYMOUS, SysV shm, memfd, a deleted file). */
		bool unlinked = m->file_unlinked || !has_file(m);

		return filter & (unlinked ? DUMP_FILTER_ANON_SHARED : DUMP_FILTER_MAPPED_SHARED)
			       ? whole : 0;
	}
	if (anon_touched(m) && (filter & DUMP_FILTER_ANON_PRIVATE))
		return whole;
	if (!has_file(m))
		return 0;
	if (filter & DUMP_FILTER_MAPPED_PRIVATE)
		return whole;
	/* The first page of an executable file or of an ELF library, so a debugger can
	 * tell what was mapped there (build-id). */
	if ((filter & DUMP_FILTER_ELF_HEADERS) && m->offset == 0 &&
	    (m->file_exec || m->elf_magic))
		return whole < page ? whole : page;
	return 0;
}

/* --- planning -------------------------------------------------------------------- */

struct range {
	uint64_t start, end;
};

struct ranges {
	struct range *r;
	size_t n, cap;
};

static int ranges_add(struct ranges *rs, uint64_t start, uint64_t end)
{
	if (end <= start)
		return 0;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		void *p = realloc(rs->r, cap * sizeof(*rs->r));

		if (!p)
			return -ENOMEM;
		rs->r = p;
		rs->cap = cap;
	}
	rs->r[rs->n++] = (struct range){ start, end };
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int plan_push_seg(struct dump_plan *p, size_t *cap, struct dump_segment s)
{
	if (p->seg_count == *cap) {
		size_t n = *cap ? *cap * 2 : 256;
		void *q = realloc(p->segs, n * sizeof(*p->segs));

		if (!q)
			return -ENOMEM;
		p->segs = q;
		*cap = n;
	}
	p->segs[p->seg_count++] = s;
	p->data_bytes += s.filesz;
	return 0;
}

static int plan_push_ext(struct dump_plan *p, size_t *cap, uint64_t addr, uint64_t len,
			 bool hole)
{
	struct dump_extent *last = p->ext_count ? &p->ext[p->ext_count - 1] : NULL;

	if (!len)
		return 0;
	if (!hole)
		p->read_bytes += len;
	if (last && last->hole == hole && (hole || last->addr + last->len == addr)) {
		last->len += len;
		return 0;
	}
	if (p->ext_count == *cap) {
		size_t n = *cap ? *cap * 2 : 256;
		void *q = realloc(p->ext, n * sizeof(*p->ext));

		if (!q)
			return -ENOMEM;
		p->ext = q;
		*cap = n;
	}
	p->ext[p->ext_count++] = (struct dump_extent){ addr, len, hole };
	return 0;
}

/* A private anonymous mapping: a page that is neither present nor swapped is zero. */
static bool anon_private(const struct capture_map *m)
{
	return !has_file(m) && !m->inode && !(m->vmflags & VMF_SHARED) &&
	       !memory__always_dump(m);
}

/* PAGEMAP_SCAN (Linux 6.7, include/uapi/linux/fs.h): the present or swapped ranges of
 * a mapping in one call, skipping empty page tables. Debian 12's headers predate it. */
#ifndef PAGEMAP_SCAN
struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
struct page_region {
	uint64_t start, end, categories;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#endif

/* 1: done with PAGEMAP_SCAN; 0: not supported here (nothing pushed); -errno. */
static int plan_data_scan(struct dump_plan *p, size_t *cap, int pagemap, uint64_t addr,
			  uint64_t end)
{
	struct page_region *all = NULL, regions[512];
	size_t count = 0, all_cap = 0;
	uint64_t at = addr;
	int err = 0;

	while (at < end) {
		struct pm_scan_arg a = {
			.size = sizeof(a), .start = at, .end = end,
			.vec = (uint64_t)(uintptr_t)regions, .vec_len = 512,
			.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
			.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		};
		long n = ioctl(pagemap, PAGEMAP_SCAN, &a);

		if (n < 0 || a.walk_end <= at) {
			free(all);
			return 0;
		}
		if (count + n > all_cap) {
			size_t c = (count + n) * 2;
			void *q = realloc(all, c * sizeof(*all));

			if (!q) {
				free(all);
				return -ENOMEM;
			}
			all = q;
			all_cap = c;
		}
		memcpy(all + count, regions, n * sizeof(*regions));
		count += n;
		at = a.walk_end;
	}
	at = addr;
	for (size_t i = 0; i < count && !err; i++) {
		err = plan_push_ext(p, cap, at, all[i].start - at, true);
		if (!err)
			err = plan_push_ext(p, cap, all[i].start, all[i].end - all[i].start, false);
		at = all[i].end;
	}
	if (!err)
		err = plan_push_ext(p, cap, at, end - at, true);
	free(all);
	return err ? err : 1;
}

/* Extents for [addr, addr + len) of @m: untouched anonymous pages are holes, found in
 * /proc/PID/pagemap (bit 63 present, bit 62 swapped), so a huge sparse mapping costs
 * neither reading nor disk. */
static int plan_data(struct dump_plan *p, size_t *cap, int pagemap, const struct capture_map *m,
		     uint64_t addr, uint64_t len, uint64_t page)
{
	uint64_t resident = m->rss + m->swap, end = addr + len;
	uint64_t entries[4096];
	int err;

	if (!anon_private(m) || pagemap < 0 || !m->has_vmflags ||
	    resident >= m->end - m->start)
		return plan_push_ext(p, cap, addr, len, false);
	if (!resident)
		return plan_push_ext(p, cap, addr, len, true);
	err = plan_data_scan(p, cap, pagemap, addr, end);
	if (err)
		return err < 0 ? err : 0;
	/* Without PAGEMAP_SCAN (before 6.7): one pagemap entry per page. */
	while (addr < end) {
		size_t want = (end - addr) / page, got;
		ssize_t n;

		if (want > sizeof(entries) / sizeof(entries[0]))
			want = sizeof(entries) / sizeof(entries[0]);
		n = pread(pagemap, entries, want * 8, (off_t)(addr / page * 8));
		if (n <= 0) /* cannot tell: read it all */
			return plan_push_ext(p, cap, addr, end - addr, false);
		got = (size_t)n / 8;
		for (size_t i = 0; i < got; i++) {
			bool in = entries[i] & (3ULL << 62);

			err = plan_push_ext(p, cap, addr, page, !in);
			if (err)
				return err;
			addr += page;
		}
	}
	return 0;
}

static uint32_t seg_flags(const struct capture_map *m)
{
	return (m->perms[0] == 'r' ? PF_R : 0) | (m->perms[1] == 'w' ? PF_W : 0) |
	       (m->perms[2] == 'x' ? PF_X : 0);
}

/* Reads @len bytes at @addr of @pid; 0 or -errno. */
static int peek(pid_t pid, int memfd, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };

	if (process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len)
		return 0;
	if (memfd >= 0 && pread(memfd, buf, len, (off_t)addr) == (ssize_t)len)
		return 0;
	return -EFAULT;
}

/*
 * The memory gdb reads to list shared libraries (solib-svr4): the executable's
 * dynamic section, its DT_DEBUG r_debug, every link_map and its name. Without them
 * a mini core's backtraces stop at the first libc frame.
 */
static int mini_link_map(pid_t pid, int memfd, const struct capture *cap, struct ranges *rs)
{
	const Elf64_auxv_t *av = cap->auxv;
	uint64_t phdr = 0, phnum = 0, bias = 0, dyn = 0, dyn_len = 0, r_debug = 0, lm;
	Elf64_Phdr ph[64];
	int err, n = 0;

	for (size_t i = 0; i < cap->auxv_len / sizeof(*av); i++) {
		if (av[i].a_type == AT_PHDR)
			phdr = av[i].a_un.a_val;
		else if (av[i].a_type == AT_PHNUM)
			phnum = av[i].a_un.a_val;
	}
	if (!phdr || !phnum || phnum > 64 || peek(pid, memfd, phdr, ph, phnum * sizeof(*ph)))
		return 0;
	for (size_t i = 0; i < phnum; i++)
		if (ph[i].p_type == PT_PHDR)
			bias = phdr - ph[i].p_vaddr;
	for (size_t i = 0; i < phnum; i++)
		if (ph[i].p_type == PT_DYNAMIC) {
			dyn = bias + ph[i].p_vaddr;
			dyn_len = ph[i].p_memsz;
		}
	if (!dyn || dyn_len > (1 << 20))
		return 0;
	err = ranges_add(rs, dyn, dyn + dyn_len);
	if (err)
		return err;
	for (uint64_t a = dyn; a + sizeof(Elf64_Dyn) <= dyn + dyn_len; a += sizeof(Elf64_Dyn)) {
		Elf64_Dyn d;

		if (peek(pid, memfd, a, &d, sizeof(d)) || d.d_tag == DT_NULL)
			break;
		if (d.d_tag == DT_DEBUG)
			r_debug = d.d_un.d_ptr;
	}
	/* struct r_debug (with glibc's r_debug_extended tail): 48 bytes. */
	if (!r_debug || (err = ranges_add(rs, r_debug, r_debug + 48)))
		return err;
	if (peek(pid, memfd, r_debug + 8, &lm, sizeof(lm)))
		return 0;
	/* struct link_map's public part: l_addr, l_name, l_ld, l_next, l_prev. */
	while (lm && n++ < 4096) {
		uint64_t l[5];
		char name[PATH_MAX];
		size_t len;

		if (peek(pid, memfd, lm, l, sizeof(l)) || (err = ranges_add(rs, lm, lm + sizeof(l))))
			return err;
		if (l[1]) {
			/* The name may end near a page end: read up to it, then on. */
			size_t first = 4096 - (l[1] & 4095);

			memset(name, 0, sizeof(name));
			if (!peek(pid, memfd, l[1], name, first) ||
			    !peek(pid, memfd, l[1], name, 1)) {
				if (!memchr(name, 0, first))
					peek(pid, memfd, l[1], name, sizeof(name) - 1);
				len = strnlen(name, sizeof(name) - 1);
				err = ranges_add(rs, l[1], l[1] + len + 1);
				if (err)
					return err;
			}
		}
		lm = l[3];
	}
	return 0;
}

static int mini_ranges(pid_t pid, const struct capture *cap, uint64_t page, struct ranges *rs)
{
	char path[64];
	int memfd, err = 0;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	memfd = open(path, O_RDONLY | O_CLOEXEC);
	/* Each thread's used stack: from below SP (the red zone) up to the top of the
	 * mapping it is in, at most MINI_STACK_MAX. */
	for (size_t i = 0; i < cap->thread_count && !err; i++) {
		uint64_t sp = arch__sp(&cap->threads[i].regs);
		uint64_t lo = (sp - RED_ZONE) & ~(page - 1);

		for (size_t j = 0; j < cap->map_count; j++) {
			const struct capture_map *m = &cap->maps[j];

			if (sp < m->start || sp >= m->end)
				continue;
			if (lo < m->start)
				lo = m->start;
			err = ranges_add(rs, lo, lo + MINI_STACK_MAX < m->end ? lo + MINI_STACK_MAX
									       : m->end);
			break;
		}
	}
	/* Module headers (with their build-id notes), the vDSO whole. */
	for (size_t j = 0; j < cap->map_count && !err; j++) {
		const struct capture_map *m = &cap->maps[j];

		if (memory__always_dump(m) && (m->vmflags & VMF_READ))
			err = ranges_add(rs, m->start, m->end);
		else if (has_file(m) && m->offset == 0 && (m->vmflags & VMF_READ) && m->elf_magic)
			err = ranges_add(rs, m->start, m->start + page);
	}
	if (!err)
		err = mini_link_map(pid, memfd, cap, rs);
	if (memfd >= 0)
		close(memfd);
	return err;
}

int memory__plan(pid_t mem_pid, const struct capture *cap, enum plan_mode mode,
		 unsigned long filter, struct dump_plan *plan)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct ranges all = {}, mine = {};
	size_t seg_cap = 0, ext_cap = 0;
	char path[64];
	int pagemap, err = 0;

	memset(plan, 0, sizeof(*plan));
	snprintf(path, sizeof(path), "/proc/%d/pagemap", mem_pid);
	pagemap = open(path, O_RDONLY | O_CLOEXEC);
	if (mode == PLAN_MINI) {
		err = mini_ranges(mem_pid, cap, page, &all);
		if (err)
			goto out;
	}
	for (size_t i = 0; i < cap->map_count && !err; i++) {
		const struct capture_map *m = &cap->maps[i];
		uint64_t cursor = m->start;

		mine.n = 0;
		if (mode == PLAN_FILTER) {
			err = ranges_add(&mine, m->start, m->start + memory__dump_size(m, filter, page));
		} else if (mode == PLAN_FULL) {
			if (memory__always_dump(m) ||
			    ((m->vmflags & VMF_READ) && !(m->vmflags & (VMF_IO | VMF_DONTDUMP))))
				err = ranges_add(&mine, m->start, m->end);
		} else if (!(m->vmflags & (VMF_IO | VMF_DONTDUMP)) || memory__always_dump(m)) {
			/* Mini: the wanted ranges inside this mapping, page-aligned, merged. */
			for (size_t k = 0; k < all.n && !err; k++) {
				uint64_t s = all.r[k].start & ~(page - 1);
				uint64_t e = (all.r[k].end + page - 1) & ~(page - 1);

				if (s < m->start)
					s = m->start;
				if (e > m->end)
					e = m->end;
				err = ranges_add(&mine, s, e);
			}
		}
		if (err)
			break;
		qsort(mine.r, mine.n, sizeof(*mine.r), cmp_range);
		{
			size_t w = 0;

			for (size_t k = 0; k < mine.n; k++) {
				if (w && mine.r[k].start <= mine.r[w - 1].end) {
					if (mine.r[k].end > mine.r[w - 1].end)
						mine.r[w - 1].end = mine.r[k].end;
				} else {
					mine.r[w++] = mine.r[k];
				}
			}
			mine.n = w;
		}
		/* One PT_LOAD for the whole mapping when it is dumped from its start or not
		 * at all (the kernel's shape); more when mini keeps pieces in the middle. */
		if (!mine.n)
			err = plan_push_seg(plan, &seg_cap, (struct dump_segment){
				m->start, m->end - m->start, 0, seg_flags(m) });
		for (size_t k = 0; k < mine.n && !err; k++) {
			uint64_t next = k + 1 < mine.n ? mine.r[k + 1].start : m->end;

			if (k == 0 && mine.r[0].start > cursor)
				err = plan_push_seg(plan, &seg_cap, (struct dump_segment){
					cursor, mine.r[0].start - cursor, 0, seg_flags(m) });
			if (!err)
				err = plan_push_seg(plan, &seg_cap, (struct dump_segment){
					mine.r[k].start, next - mine.r[k].start,
					mine.r[k].end - mine.r[k].start, seg_flags(m) });
			if (!err)
				err = plan_data(plan, &ext_cap, pagemap, m, mine.r[k].start,
						mine.r[k].end - mine.r[k].start, page);
		}
	}
out:
	free(all.r);
	free(mine.r);
	if (pagemap >= 0)
		close(pagemap);
	if (err)
		memory__plan_free(plan);
	return err;
}

void memory__plan_free(struct dump_plan *plan)
{
	free(plan->segs);
	free(plan->ext);
	memset(plan, 0, sizeof(*plan));
}
