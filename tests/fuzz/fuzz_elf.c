/* libFuzzer target for the ELF reader (src/elf.c): any input must parse to
 * ELF_OK, ELF_NOT_ELF or ELF_MALFORMED without a crash, a hang or a sanitizer
 * report, and a successful parse must leave consistent, NUL-terminated data.
 * Built and run by `make fuzz-elf` (clang -fsanitize=fuzzer,address,undefined). */
#include "elf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
