/* elf.h: the project's defensive ELF reader (src/elf.c).
 *
 * The project compiles with `-iquote include`, so `#include "elf.h"` finds this
 * file while `#include <elf.h>` still finds the C library's <elf.h>, whose
 * structures and constants the reader uses.  Never add `-I include`: that would
 * make the line below include this file again instead of the system header. */
#ifndef BOOTSTRAP_ELF_READER_H
#define BOOTSTRAP_ELF_READER_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>

/* What elf_parse/elf_load return. */
enum elf_status {
    ELF_OK = 0,        /* a well-formed ELF file; *info is filled */
    ELF_NOT_ELF = 1,   /* no ELF magic: some other kind of file */
    ELF_MALFORMED = 2, /* ELF magic, but truncated or inconsistent; err says why */
    ELF_IO = 3         /* the file could not be read; err says why */
};

/* The facts the layer doctor needs about one ELF file.  Strings are owned by
 * the struct and released by elf_info_free. */
typedef struct elf_info {
    int elf_class;        /* ELFCLASS32 | ELFCLASS64 */
    int data;             /* ELFDATA2LSB | ELFDATA2MSB */
    unsigned type;        /* e_type: ET_EXEC, ET_DYN, ET_REL, ... */
    unsigned machine;     /* e_machine: EM_X86_64, EM_AARCH64, ... */
    int dynamic;          /* has PT_DYNAMIC (is dynamically linked) */
    char *soname;         /* DT_SONAME, or NULL */
    char *rpath;          /* DT_RPATH, or NULL */
    char *runpath;        /* DT_RUNPATH, or NULL */
    char **needed;        /* DT_NEEDED names, in file order */
    size_t n_needed;
    char glibc_max[32];   /* highest GLIBC_x.y in .gnu.version_r, "" if none */
    char glibc_sym[64];   /* a symbol bound to that version, "" if unknown */
    char glibcxx_max[32]; /* highest GLIBCXX_x.y.z needed, "" if none */
    /* The relocation tables the dynamic loader reads, when they lie in a read-only segment
     * (virtual addresses; size 0 = none or writable): DT_RELA/DT_RELASZ, DT_REL/DT_RELSZ,
     * DT_JMPREL/DT_PLTRELSZ, DT_RELR/DT_RELRSZ. */
    struct { uint64_t vaddr, size; } relocs[4];
} elf_info;

/* Parse an ELF image held in memory.  Never reads outside buf[0..len) and
 * bounds every loop, so hostile input can only produce ELF_MALFORMED.
 * On ELF_OK the caller owns *info (elf_info_free).  err gets a reason for
 * ELF_MALFORMED. */
int elf_parse(const void *buf, size_t len, elf_info *info, char *err, size_t err_len);

/* Read a file and parse it (files larger than ELF_MAX_FILE are refused). */
#define ELF_MAX_FILE ((size_t)1 << 30)
int elf_load(const char *path, elf_info *info, char *err, size_t err_len);

/* Like elf_load, but maps the file and reads only the dynamic section's names (soname,
 * rpath, runpath, needed); glibc_* stay empty.  For the loader module's every dlopen. */
int elf_load_needed(const char *path, elf_info *info, char *err, size_t err_len);

void elf_info_free(elf_info *info);

/* 1 when buf starts with the ELF magic. */
int elf_is_elf(const void *buf, size_t len);

/* Lambda's name for a machine ("x86_64", "arm64"), or the common name of
 * other machines ("i386", "arm", "ppc64", ...), or "machine N". */
const char *elf_machine_name(unsigned machine, char *tmp, size_t tmp_len);

/* EM_X86_64 for "x86_64"/"amd64", EM_AARCH64 for "arm64"/"aarch64", 0 otherwise. */
unsigned elf_arch_machine(const char *arch);

/* Compare dotted versions numerically ("2.34" > "2.4"); missing parts are 0. */
int elf_version_cmp(const char *a, const char *b);

#endif
