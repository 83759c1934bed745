/* libFuzzer target for the ELF reader (src/elf.c): any input must parse to
 * ELF_OK, ELF_NOT_ELF or ELF_MALFORMED without a crash, a hang or a sanitizer
 * report, and a successful parse must leave consistent, NUL-terminated data.
 * The same bytes, as a file, go through elf_load_needed (the loader's pread
 * window): it must find the same names whenever the full parse succeeds.
 * Built and run by `make fuzz-elf` (clang -fsanitize=fuzzer,address,undefined). */
#define _GNU_SOURCE
#include "elf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The input as a file, for elf_load_needed; the path, or NULL. */
static const char *fuzz_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0 && (fd = memfd_create("fuzz_elf", 0)) >= 0)
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (fd < 0 || ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
        return NULL;
    return path;
}

/* Names longer than the window may be refused by the window reader alone. */
static int fuzz_long_name(const elf_info *info)
{
    size_t longest = 0;
    const char *names[] = {info->soname, info->rpath, info->runpath};
    for (size_t i = 0; i < 3; i++)
        if (names[i] && strlen(names[i]) > longest)
            longest = strlen(names[i]);
    for (size_t i = 0; i < info->n_needed; i++)
        if (strlen(info->needed[i]) > longest)
            longest = strlen(info->needed[i]);
    return longest >= 2048;
}

static void fuzz_compare_window(const uint8_t *data, size_t size, int rc, const elf_info *full)
{
    const char *path = fuzz_file(data, size);
    elf_info names;
    char err[160];
    if (!path)
        return;
    int rc_names = elf_load_needed(path, &names, err, sizeof err);
    if (rc_names != ELF_OK && rc_names != ELF_NOT_ELF && rc_names != ELF_MALFORMED)
        abort();
    if ((rc == ELF_NOT_ELF) != (rc_names == ELF_NOT_ELF))
        abort();
    if (rc == ELF_OK && rc_names != ELF_OK && !fuzz_long_name(full))
        abort();
    if (rc == ELF_OK && rc_names == ELF_OK) {
        if (names.n_needed != full->n_needed)
            abort();
        for (size_t i = 0; i < names.n_needed; i++)
            if (strcmp(names.needed[i], full->needed[i]) != 0)
                abort();
        if (memcmp(names.relocs, full->relocs, sizeof names.relocs) != 0)
            abort();
    }
    if (rc_names == ELF_OK)
        elf_info_free(&names);
}

static void fuzz_touch(const char *s)
{
    /* strlen walks the string: ASan flags it if it is not terminated in bounds. */
    if (s && strlen(s) > (size_t)1 << 30)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    elf_info info;
    char err[160];
    int rc = elf_parse(data, size, &info, err, sizeof err);
    if (rc != ELF_OK && rc != ELF_NOT_ELF && rc != ELF_MALFORMED)
        abort();
    if (rc == ELF_MALFORMED && (!err[0] || !memchr(err, '\0', sizeof err)))
        abort(); /* every refusal must say why */
    fuzz_compare_window(data, size, rc, &info);
    if (rc != ELF_OK)
        return 0;
    fuzz_touch(info.soname);
    fuzz_touch(info.rpath);
    fuzz_touch(info.runpath);
    for (size_t i = 0; i < info.n_needed; i++)
        fuzz_touch(info.needed[i]);
    if (!memchr(info.glibc_max, '\0', sizeof info.glibc_max) ||
        !memchr(info.glibc_sym, '\0', sizeof info.glibc_sym))
        abort();
    char tmp[32];
    fuzz_touch(elf_machine_name(info.machine, tmp, sizeof tmp));
    if (info.glibc_max[0])
        (void)elf_version_cmp(info.glibc_max + 6, "2.26");
    elf_info_free(&info);
    return 0;
}
