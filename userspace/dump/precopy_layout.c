// SPDX-License-Identifier: GPL-2.0-only
/* Where a pre-copy core's pieces lie, and what freeze #2 reads; see precopy_layout.h. */
#include <errno.h>
#include <stdlib.h>

#include "dump/precopy_layout.h"

static int spans_append(struct spans *s, uint64_t start, uint64_t end, uint64_t off)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		void *p = realloc(s->v, cap * sizeof(*s->v));

		if (!p)
			return -ENOMEM;
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = (struct span){ start, end, off };
	return 0;
}

int spans__push(struct spans *s, uint64_t start, uint64_t end, uint64_t off)
{
	struct span *last = s->n ? &s->v[s->n - 1] : NULL;

	if (end <= start)
		return 0;
	if (last && last->end == start && last->off + (last->end - last->start) == off) {
		last->end = end;
		return 0;
	}
	return spans_append(s, start, end, off);
}

int spans__push_io(struct spans *s, uint64_t *bytes, uint64_t start, uint64_t end,
		   uint64_t off)
{
	int err = 0;

	while (!err && start < end) {
		uint64_t len = end - start < IO_CHUNK ? end - start : IO_CHUNK;
		struct span *last = s->n ? &s->v[s->n - 1] : NULL;

		if (last && last->end == start && last->off + (last->end - last->start) == off &&
		    last->end - last->start + len <= IO_CHUNK) {
			last->end += len;
		} else {
			err = spans_append(s, start, start + len, off);
		}
		*bytes += len;
		start += len;
		off += len;
	}
	return err;
}

size_t regions__at(const struct regions *r, uint64_t addr)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (r->v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t spans__at(const struct spans *s, uint64_t addr)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int layout_piece(struct precopy_layout *l, struct piece p)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		void *q = realloc(l->pieces, cap * sizeof(*l->pieces));

		if (!q)
			return -ENOMEM;
		l->pieces = q;
		l->cap = cap;
	}
	l->pieces[l->n++] = p;
	return 0;
}

static int layout_ph(struct precopy_layout *l, uint64_t vaddr, uint64_t memsz, uint64_t filesz,
		     uint64_t off, uint32_t flags)
{
	if (l->phnum == l->ph_cap) {
		size_t cap = l->ph_cap ? l->ph_cap * 2 : 256;
		void *q = realloc(l->ph, cap * sizeof(*l->ph));

		if (!q)
			return -ENOMEM;
		l->ph = q;
		l->ph_cap = cap;
	}
	l->ph[l->phnum++] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = flags, .p_offset = off,
					  .p_vaddr = vaddr, .p_filesz = filesz, .p_memsz = memsz,
					  .p_align = 4096 };
	return 0;
}

int precopy_layout__build(const struct dump_plan *plan, const struct spans *tracked, uint64_t *tail,
		   struct precopy_layout *l)
{
	int err = layout_ph(l, 0, 0, 0, 0, 0); /* the PT_NOTE, filled in at the end */

	for (size_t k = 0; k < plan->seg_count && !err; k++) {
		const struct dump_segment *s = &plan->segs[k];
		uint64_t v = s->vaddr, end = s->vaddr + s->filesz;
		size_t first = l->n, t = spans__at(tracked, v);

		if (!s->filesz) {
			err = layout_ph(l, s->vaddr, s->memsz, 0, *tail, s->flags);
			continue;
		}
		while (v < end && !err) {
			struct piece p = { v, end, 0, false };

			if (t < tracked->n && tracked->v[t].start <= v) {
				if (tracked->v[t].end < end)
					p.end = tracked->v[t].end;
				p.off = tracked->v[t].off + (v - tracked->v[t].start);
				p.covered = true;
				if (tracked->v[t].end <= p.end)
					t++;
			} else {
				if (t < tracked->n && tracked->v[t].start < end)
					p.end = tracked->v[t].start;
				p.off = *tail;
				*tail += p.end - p.start;
			}
			err = layout_piece(l, p);
			v = p.end;
		}
		for (size_t i = first; i < l->n && !err; i++) {
			const struct piece *p = &l->pieces[i];
			uint64_t memsz = i + 1 < l->n ? p->end - p->start
						      : s->vaddr + s->memsz - p->start;

			err = layout_ph(l, p->start, memsz, p->end - p->start, p->off, s->flags);
		}
	}
	return err;
}

/* The pieces of [start, end) (sorted, covering it). */
static size_t piece_at(const struct precopy_layout *l, uint64_t addr)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (l->pieces[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int precopy_layout__reads(const struct dump_plan *plan, const struct precopy_layout *l,
		      const struct regions *r, struct precopy_reads *f)
{
	int err = 0;

	for (size_t e = 0; e < plan->ext_count && !err; e++) {
		uint64_t a = plan->ext[e].addr, end = a + plan->ext[e].len;

		for (size_t i = piece_at(l, a); i < l->n && a < end && !err; i++) {
			const struct piece *p = &l->pieces[i];
			uint64_t b = p->end < end ? p->end : end;

			if (p->start > a)
				break; /* cannot happen: pieces cover every segment's data */
			if (plan->ext[e].hole) {
				/* Known zero, in an untracked mapping (tracked ones are
				 * planned without holes): new room, zeros already. */
			} else if (!p->covered) {
				err = spans__push_io(&f->ios, &f->untracked, a, b, p->off + (a - p->start));
			} else {
				for (size_t j = regions__at(r, a); j < r->n && r->v[j].start < b && !err;
				     j++) {
					uint64_t s = r->v[j].start > a ? r->v[j].start : a;
					uint64_t t = r->v[j].end < b ? r->v[j].end : b;

					if (r->v[j].categories & PAGE_IS_WRITTEN)
						err = spans__push_io(&f->ios, &f->written, s, t,
							       p->off + (s - p->start));
				}
			}
			a = b;
		}
	}
	return err;
}

void precopy_layout__free(struct precopy_layout *l)
{
	free(l->pieces);
	free(l->ph);
	l->pieces = NULL;
	l->ph = NULL;
	l->n = l->cap = l->phnum = l->ph_cap = 0;
}
