/*
 * The whole C library the freestanding core may use. The core (src/core,
 * src/arch, src/os) includes this and never a system header other than the
 * compiler's freestanding ones (stddef, stdint, stdbool, stdarg).
 *
 * On a hosted build these resolve to the host libc; in the appliance they
 * come from the unikernel's libc. CI checks with `nm -u` that the core's
 * objects need nothing beyond this list (tests/check-freestanding.sh).
 */
#ifndef TVMI_CORE_LIBC_H
#define TVMI_CORE_LIBC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
char *strdup(const char *s);
char *strndup(const char *s, size_t n);
char *strstr(const char *h, const char *n);
unsigned long long strtoull(const char *s, char **end, int base);
long long strtoll(const char *s, char **end, int base);
int snprintf(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
void *malloc(size_t n);
void *calloc(size_t nmemb, size_t n);
void *realloc(void *p, size_t n);
void free(void *p);
void qsort(void *base, size_t nmemb, size_t size,
           int (*cmp)(const void *, const void *));

#endif
