/* Uses the static libcurl: checks it is HTTP-only with no TLS/compression, then GETs argv[1]. */
#include <stdio.h>
#include <string.h>
#include <curl/curl.h>

static size_t sink(char *p, size_t sz, size_t nm, void *ud) {
  fwrite(p, sz, nm, (FILE *)ud);
  return sz * nm;
}

int main(int argc, char **argv) {
  if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK) return 10;
  curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  int nproto = 0;
  for (const char *const *p = v->protocols; *p; p++) {
    printf("protocol %s\n", *p);
    nproto++;
  }
  if (nproto != 1 || strcmp(v->protocols[0], "http") != 0) return 11;
  if (v->ssl_version || v->libz_version) return 12;
  if (!(v->features & CURL_VERSION_ASYNCHDNS)) return 13;
  printf("version %s\n", v->version);
  if (argc < 2) return 0;
  CURL *h = curl_easy_init();
  if (!h) return 14;
  curl_easy_setopt(h, CURLOPT_URL, argv[1]);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, stdout);
  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  printf("\nstatus %ld rc %d\n", status, (int)rc);
  curl_easy_cleanup(h);
  return rc == CURLE_OK && status == 200 ? 0 : 15;
}
