/*
 * libFuzzer target: a BTF file (lx_btf_from_buffer) and lookups in it,
 * with names taken from its own string section so that the lookups find
 * something.
 */
#include <stdint.h>
#include <string.h>

#include "os/linux/profile.h"

/* Up to n strings of the blob's string section (the header is trusted
 * only as far as the buffer goes). */
static size_t names(const uint8_t *d, size_t size, const char **out, size_t n)
{
    uint32_t hdr, off, len;
    size_t k = 0;

    if (size < 24)
        return 0;
    memcpy(&hdr, d + 4, 4);
    memcpy(&off, d + 16, 4);
    memcpy(&len, d + 20, 4);
    if (hdr > size || off > size - hdr || len > size - hdr - off || !len ||
        d[hdr + off + len - 1])
        return 0;
    for (size_t p = hdr + off; p < hdr + off + len && k < n;
         p += strlen((const char *)d + p) + 1)
        if (d[p])
            out[k++] = (const char *)d + p;
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lx_btf *b = NULL;
    const char *n[8];
    size_t k = names(data, size, n, 8), off;
    struct lx_field f;

    if (lx_btf_from_buffer(NULL, data, size, &b) != VMI_SUCCESS) {
        if (!tvmi_init_error_message()[0])
            __builtin_trap();
        return 0;
    }
    lx_btf_type_count(NULL, b);
    for (size_t i = 0; i < k; i++) {
        lx_btf_struct_size(NULL, b, n[i], &off);
        for (size_t j = 0; j < k; j++) {
            lx_btf_member_offset(NULL, b, n[i], n[j], &off);
            lx_btf_field(NULL, b, n[i], n[j], &f);
        }
    }
    lx_btf_free(b);
    return 0;
}
