/*
 * What the freestanding core asks of the platform it is linked with
 * (src/platform/<name>), beyond the libc subset of libc.h.
 *
 * The core never opens files itself: the appliance has none. Profiles
 * (System.map, ISF JSON, BTF, libvmi.conf) reach the parsers as memory
 * buffers through this hook; a platform without files says so.
 */
#ifndef TVMI_CORE_PLATFORM_H
#define TVMI_CORE_PLATFORM_H

#include "libc.h"
#include <tinyvmi/tinyvmi.h>

/* Largest file the hook returns (after decompression). */
#define TVMI_FILE_MAX (512ull << 20)

/* Reads the whole file at path into *buf (malloc'd, free() it, with one
 * NUL byte after the *len bytes so text parsers may stop there). A file
 * compressed with xz (.json.xz) comes back decompressed where the
 * platform can. On failure returns VMI_FAILURE with the reason in err
 * (e.g. "No such file or directory"). */
status_t tvmi_platform_read_file(const char *path, void **buf, size_t *len,
                                 char *err, size_t errlen);

#endif
