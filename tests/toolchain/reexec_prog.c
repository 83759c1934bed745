/* Re-executes itself once through /proc/self/exe with LD_LIBRARY_PATH set, like the
 * runtime does at startup; each generation prints what it sees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = '\0';
  const char *gen = getenv("REEXEC_GEN");
  const char *llp = getenv("LD_LIBRARY_PATH");
  printf("gen=%s exe=%s args=%d arg1=%s llp=%s\n", gen ? gen : "0", exe, argc,
         argc > 1 ? argv[1] : "", llp ? llp : "");
  fflush(stdout);
  if (!gen) {
    setenv("REEXEC_GEN", "1", 1);
    setenv("LD_LIBRARY_PATH", "/opt/arm64/lib", 1);
    execv("/proc/self/exe", argv);
    perror("execv(/proc/self/exe)");
    return 2;
  }
  return 0;
}
