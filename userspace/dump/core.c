// SPDX-License-Identifier: GPL-2.0-only
/* The ELF core file; see core.h. */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump/arch.h"
#include "dump/core.h"
#include "dump/memory.h"
#include "dump/notes.h"
#include "dump/sink.h"

int core__layout(const struct dump_plan *plan, const struct note_buf *notes,
		 struct core_layout *l)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	size_t phnum = 1 + plan->seg_count;

	/* Beyond PN_XNUM the kernel moves the count to a section header; with the
	 * default vm.max_map_count (65530) it never gets there. */
	if (phnum >= PN_XNUM)
		return -E2BIG;
	memset(l, 0, sizeof(*l));
	l->headers_len = sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr);
	l->notes_off = l->headers_len;
	l->data_off = (l->notes_off + notes->len + page - 1) & ~(page - 1);
	l->size = l->data_off + plan->data_bytes;
	l->estimate = l->data_off + plan->read_bytes;
	return 0;
}

static int write_headers(const struct dump_plan *plan, const struct note_buf *notes,
			 const struct core_layout *l, struct core_sink *sink)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	unsigned char *buf = calloc(1, l->headers_len);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(*eh));
	uint64_t off = l->data_off;
	int err;

	if (!buf)
		return -ENOMEM;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_ident[EI_OSABI] = ELFOSABI_NONE;
	eh->e_type = ET_CORE;
	eh->e_machine = arch_elf_machine;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = (Elf64_Half)(1 + plan->seg_count);

	ph[0].p_type = PT_NOTE;
	ph[0].p_offset = l->notes_off;
	ph[0].p_filesz = notes->len;
	for (size_t i = 0; i < plan->seg_count; i++) {
		const struct dump_segment *s = &plan->segs[i];
		Elf64_Phdr *p = &ph[1 + i];

		p->p_type = PT_LOAD;
		p->p_offset = off;
		p->p_vaddr = s->vaddr;
		p->p_filesz = s->filesz;
		p->p_memsz = s->memsz;
		p->p_flags = s->flags;
		p->p_align = page;
		off += s->filesz;
	}
	err = core_sink__write(sink, buf, l->headers_len);
	free(buf);
	return err;
}

int core__write(const struct dump_plan *plan, const struct note_buf *notes,
		const struct core_layout *l, pid_t mem_pid, struct core_sink *sink,
		const struct copy_opts *o, struct copy_stats *stats, char *why, size_t why_len)
{
	int err;

	err = core_sink__begin(sink, l->size, l->estimate);
	if (!err)
		err = write_headers(plan, notes, l, sink);
	if (!err)
		err = core_sink__write(sink, notes->data, notes->len);
	if (!err)
		err = core_sink__zeros(sink, l->data_off - sink->offset);
	if (err) {
		snprintf(why, why_len, "%s", sink->why[0] ? sink->why : strerror(-err));
		return err;
	}
	err = memory__copy(mem_pid, plan, sink, o, stats, why, why_len);
	if (!err && sink->offset != l->size) {
		snprintf(why, why_len, "internal error: wrote %llu bytes of a %llu-byte core",
			 (unsigned long long)sink->offset, (unsigned long long)l->size);
		err = -EIO;
	}
	return err;
}
