/* Canned events of an exact size.
 *
 * The payload is a list of small records rather than one long string, so
 * that parsing it costs what a real event of that size costs (many objects,
 * numbers, booleans). The format is exactly what Python's json.dumps writes
 * with its default separators (", " and ": "), so a handler that returns the
 * event unchanged produces the same bytes and the driver can check the echo
 * with memcmp. */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The Lambda console's "hello world" test event: the warm-path payload. */
const char EVENT_SMALL[] = "{\"key1\": \"value1\", \"key2\": \"value2\", \"key3\": \"value3\"}";

static const char EVENT_HEAD[] = "{\"records\": [";
static const char EVENT_MID[] = "], \"padding\": \"";
static const char EVENT_TAIL[] = "\"}";

static int event_record(char *out, size_t cap, unsigned i)
{
    return snprintf(out, cap,
                    "{\"id\": %u, \"name\": \"record-%07u\", \"active\": %s, "
                    "\"score\": %u.25, \"tags\": [\"alpha\", \"beta\"]}",
                    i, i, (i % 3) ? "true" : "false", i % 1000);
}

int event_make(struct buf *b, size_t size)
{
    size_t fixed = strlen(EVENT_HEAD) + strlen(EVENT_MID) + strlen(EVENT_TAIL);
    if (size < fixed)
        return -EINVAL;
    b->len = 0;
    int rc = buf_reserve(b, size + 1);
    if (rc)
        return rc;
    buf_append(b, EVENT_HEAD, strlen(EVENT_HEAD));
    char rec[256];
    /* Bounded: each record is > 80 bytes, so at most size/80 iterations. */
    for (unsigned i = 0; i < size / 64 + 1; i++) {
        int n = event_record(rec, sizeof(rec), i);
        size_t sep = i ? 2 : 0;
        if (n < 0 || b->len + sep + (size_t)n + fixed - strlen(EVENT_HEAD) > size)
            break;
        if (sep)
            buf_append(b, ", ", 2);
        buf_append(b, rec, (size_t)n);
    }
    buf_append(b, EVENT_MID, strlen(EVENT_MID));
    size_t pad = size - b->len - strlen(EVENT_TAIL);
    memset(b->p + b->len, 'x', pad);
    b->len += pad;
    buf_append(b, EVENT_TAIL, strlen(EVENT_TAIL));
    return b->len == size ? 0 : -EINVAL;
}
