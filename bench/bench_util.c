/* Clocks, a growable buffer and percentile statistics for the driver. */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int buf_reserve(struct buf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra) {
        if (cap > ((size_t)1 << 40))
            return -ENOMEM;
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p)
        return -ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

int buf_append(struct buf *b, const void *data, size_t n)
{
    int rc = buf_reserve(b, n + 1);
    if (rc)
        return rc;
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0'; /* keeps the buffer usable as a C string */
    return 0;
}

void buf_free(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile: the smallest sample with at least p% of the
 * samples at or below it. No interpolation, so p99 is a latency that
 * actually happened. */
static double stats_rank_us(const uint64_t *sorted, size_t n, double p)
{
    size_t k = (size_t)ceil(p / 100.0 * (double)n);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)sorted[k - 1] / 1000.0;
}

void stats_compute(uint64_t *ns, size_t n, struct stats *out)
{
    memset(out, 0, sizeof(*out));
    if (n == 0)
        return;
    qsort(ns, n, sizeof(*ns), cmp_u64);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)ns[i];
    out->min_us = (double)ns[0] / 1000.0;
    out->max_us = (double)ns[n - 1] / 1000.0;
    out->mean_us = sum / (double)n / 1000.0;
    out->p50_us = stats_rank_us(ns, n, 50);
    out->p90_us = stats_rank_us(ns, n, 90);
    out->p99_us = stats_rank_us(ns, n, 99);
    out->p999_us = stats_rank_us(ns, n, 99.9);
}
