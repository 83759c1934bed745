/* Links against libcjson from the sysroot: prints a re-serialized document and the library version. */
#include <stdio.h>
#include <cjson/cJSON.h>

int main(void) {
  cJSON *doc = cJSON_Parse("{\"arch\": [1, 2, 3]}");
  if (!doc) return 1;
  char *out = cJSON_PrintUnformatted(doc);
  printf("%s %s\n", out, cJSON_Version());
  cJSON_free(out);
  cJSON_Delete(doc);
  return 0;
}
