/* SPDX-License-Identifier: GPL-2.0-only */
/* Facts about an ELF file on disk, read with libelf: build-id, soname, class. */
#ifndef TRACEDUMP_ELF_INFO_H
#define TRACEDUMP_ELF_INFO_H

#include <stddef.h>
#include <stdint.h>

#define ELF_BUILD_ID_MAX 64 /* bytes; GNU build-ids are 20 (sha1) or 16 (md5) */

struct elf_info {
	unsigned char build_id[ELF_BUILD_ID_MAX];
	size_t build_id_len; /* 0: the file has no NT_GNU_BUILD_ID note */
	char soname[256];    /* DT_SONAME, "" if none */
	int elf_class;	     /* ELFCLASS32 / ELFCLASS64 */
	uint16_t e_type;     /* ET_EXEC, ET_DYN, ... */
	uint16_t e_machine;
};

/* Reads @path; -ENOENT/-EACCES from open, -ENOEXEC when it is not ELF. */
int elf_info__read(const char *path, struct elf_info *info);
/* The same on an open fd (e.g. /proc/PID/map_files/...); the fd is not closed. */
int elf_info__read_fd(int fd, struct elf_info *info);
/* The same on an ELF image in memory (e.g. the vDSO copied out of /proc/PID/mem);
 * @image must stay valid during the call only. */
int elf_info__read_memory(void *image, size_t size, struct elf_info *info);

/* Lower-case hex of the build-id into @out (2 * len + 1 bytes); "" when none. */
void elf_info__build_id_hex(const struct elf_info *info, char *out, size_t size);

#endif /* TRACEDUMP_ELF_INFO_H */
