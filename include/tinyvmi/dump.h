/*
 * tinyvmi extension: copy a target's physical memory into a snapshot file.
 * Only backed frames are written (holes are skipped, never zero-filled into
 * an ELF core or LiME file; a raw image has to fill them with zeros).
 */
#ifndef TINYVMI_DUMP_H
#define TINYVMI_DUMP_H

#include <tinyvmi/tinyvmi.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tvmi_dump_format {
    TVMI_DUMP_ELF,  /* ELF64 core: one PT_LOAD per backed range, QEMU-style
                       CPU notes when the source has registers */
    TVMI_DUMP_RAW,  /* flat image from physical 0 to the highest backed byte */
    TVMI_DUMP_LIME, /* LiME: one record per backed range */
} tvmi_dump_format_t;

/* Called now and then with bytes done so far and the total to do. */
typedef void (*tvmi_dump_progress_fn)(void *arg, uint64_t done, uint64_t total);

/* Writes the target's memory to path (created, truncated). On failure the
 * partial file is removed and tvmi_last_error() says what went wrong. */
status_t tvmi_dump(vmi_instance_t vmi, const char *path, tvmi_dump_format_t fmt,
                   tvmi_dump_progress_fn progress, void *arg);

#ifdef __cplusplus
}
#endif

#endif
