/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ELF note writer: the PT_NOTE segment of a core, in the kernel's order
 * (fs/binfmt_elf.c write_note_info): the first thread's NT_PRSTATUS, then NT_PRPSINFO,
 * NT_SIGINFO, NT_AUXV, NT_FILE, then its other register sets; then each other thread's
 * NT_PRSTATUS and register sets; then the architecture's extra notes (x86_64:
 * NT_X86_XSAVE_LAYOUT).
 */
#ifndef TRACEDUMP_DUMP_NOTES_H
#define TRACEDUMP_DUMP_NOTES_H

#include <stddef.h>
#include <stdint.h>

struct capture;

struct note_buf {
	unsigned char *data;
	size_t len, cap;
};

/* Appends one note (name and descriptor padded to 4 bytes, as Linux cores do). */
int notes__add(struct note_buf *nb, const char *name, uint32_t type, const void *desc,
	       size_t desc_len);

/* Builds every note of @cap into @nb (which starts empty). 0 or -ENOMEM. */
int notes__build(const struct capture *cap, struct note_buf *nb);

/* The NT_FILE descriptor alone (count, page size, ranges, names); malloc'd. */
int notes__file_desc(const struct capture *cap, void **desc, size_t *len);

void notes__free(struct note_buf *nb);

#endif /* TRACEDUMP_DUMP_NOTES_H */
