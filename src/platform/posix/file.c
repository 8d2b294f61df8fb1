/*
 * Files for the core on a POSIX host: the whole file in one malloc'd
 * buffer, xz-compressed files (Volatility's .json.xz) decompressed with
 * liblzma when the build has it.
 *
 * Sizes are not taken from fstat alone: sysfs and procfs files report 0
 * or a guess, so we read to end of file, capped at TVMI_FILE_MAX.
 */
#define _POSIX_C_SOURCE 200809L /* O_CLOEXEC */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef TVMI_HAVE_LZMA
#include <lzma.h>
#endif

#include "platform.h"

static const unsigned char xz_magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0 };

static status_t say(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return VMI_FAILURE;
}

/* Grows *buf to hold at least need + 1 bytes (the + 1 for the NUL). */
static bool grow(char **buf, size_t *cap, size_t need)
{
    size_t n = *cap ? *cap : 1 << 16;
    char *p;

    while (n < need + 1)
        n *= 2;
    if (n == *cap)
        return true;
    p = realloc(*buf, n);
    if (!p)
        return false;
    *buf = p;
    *cap = n;
    return true;
}

static status_t read_all(int fd, size_t hint, char **out, size_t *len,
                         char *err, size_t errlen)
{
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (hint > TVMI_FILE_MAX)
        return say(err, errlen, "larger than %llu MiB",
                   (unsigned long long)(TVMI_FILE_MAX >> 20));
    for (;;) {
        ssize_t r;

        if (n + 1 >= cap && !grow(&buf, &cap, n < hint ? hint : n + 65536)) {
            free(buf);
            return say(err, errlen, "out of memory");
        }
        r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(buf);
            return say(err, errlen, "%s", strerror(errno));
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > TVMI_FILE_MAX) {
            free(buf);
            return say(err, errlen, "larger than %llu MiB",
                       (unsigned long long)(TVMI_FILE_MAX >> 20));
        }
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return VMI_SUCCESS;
}

#ifdef TVMI_HAVE_LZMA
static status_t unxz(const char *in, size_t inlen, char **out, size_t *outlen,
                     char *err, size_t errlen)
{
    lzma_stream s = LZMA_STREAM_INIT;
    char *buf = NULL;
    size_t cap = 0;
    lzma_ret r;

    if (lzma_stream_decoder(&s, 1ull << 30, LZMA_CONCATENATED) != LZMA_OK)
        return say(err, errlen, "liblzma: cannot start the decoder");
    s.next_in = (const uint8_t *)in;
    s.avail_in = inlen;
    do {
        if (s.total_out > TVMI_FILE_MAX) {
            r = LZMA_MEMLIMIT_ERROR;
            break;
        }
        if (s.avail_out == 0) {
            size_t want = cap ? cap : inlen < (TVMI_FILE_MAX >> 2) ? inlen * 4 : TVMI_FILE_MAX;
            if (!grow(&buf, &cap, want)) {
                r = LZMA_MEM_ERROR;
                break;
            }
            s.next_out = (uint8_t *)buf + s.total_out;
            s.avail_out = cap - 1 - s.total_out;
        }
        r = lzma_code(&s, LZMA_FINISH);
    } while (r == LZMA_OK);
    if (r != LZMA_STREAM_END) {
        lzma_end(&s);
        free(buf);
        if (r == LZMA_MEMLIMIT_ERROR)
            return say(err, errlen, "xz data decompresses to more than "
                       "%llu MiB", (unsigned long long)(TVMI_FILE_MAX >> 20));
        return say(err, errlen, "xz data is corrupt or truncated (liblzma "
                   "error %d)", (int)r);
    }
    *outlen = s.total_out;
    buf[*outlen] = '\0';
    lzma_end(&s);
    *out = buf;
    return VMI_SUCCESS;
}
#else
static status_t unxz(const char *in, size_t inlen, char **out, size_t *outlen,
                     char *err, size_t errlen)
{
    (void)in, (void)inlen, (void)out, (void)outlen;
    return say(err, errlen, "is xz-compressed and this tinyvmi was built "
               "without liblzma: decompress it first (unxz)");
}
#endif

status_t tvmi_platform_read_file(const char *path, void **buf, size_t *len,
                                 char *err, size_t errlen)
{
    struct stat st;
    char *data = NULL, *plain = NULL;
    size_t n = 0, plain_len = 0;
    status_t rc;
    int fd;

    if (!path || !*path)
        return say(err, errlen, "no file name");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return say(err, errlen, "%s", strerror(errno));
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return say(err, errlen, "is a directory");
    }
    rc = read_all(fd, st.st_size > 0 ? (size_t)st.st_size : 0, &data, &n,
                  err, errlen);
    close(fd);
    if (rc != VMI_SUCCESS)
        return rc;
    if (n >= sizeof(xz_magic) && !memcmp(data, xz_magic, sizeof(xz_magic))) {
        rc = unxz(data, n, &plain, &plain_len, err, errlen);
        free(data);
        if (rc != VMI_SUCCESS)
            return rc;
        data = plain;
        n = plain_len;
    }
    *buf = data;
    *len = n;
    return VMI_SUCCESS;
}
