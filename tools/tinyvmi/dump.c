/*
 * tinyvmi dump: copy the target's memory into an ELF core, raw image or
 * LiME file, with a progress bar when someone is watching.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <tinyvmi/dump.h>

#include "cli.h"
#include "output.h"

enum { D_FORMAT };
static const struct opt dump_opts[] = {
    [D_FORMAT] = { "format", true },
    { NULL, false },
};
static const char *const dump_pos[] = { "OUT" };

static const struct {
    tvmi_dump_format_t fmt;
    const char *name;
} formats[] = {
    { TVMI_DUMP_ELF, "elf" },
    { TVMI_DUMP_RAW, "raw" },
    { TVMI_DUMP_LIME, "lime" },
};

static int arg_format(const char *s, tvmi_dump_format_t *out)
{
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        if (!strcmp(s, formats[i].name)) {
            *out = formats[i].fmt;
            return EXIT_OK;
        }
    }
    return usage_error("dump", "bad format '%s': want elf, raw or lime", s);
}

#define BAR_WIDTH 30

/* Redraws one stderr line; only called when stderr is a terminal. */
static void draw_progress(void *arg, uint64_t done, uint64_t total)
{
    bool *drawn = arg;
    double frac = total ? (double)done / (double)total : 1.0;
    int fill = (int)(frac * BAR_WIDTH);
    char d[32], t[32];

    if (fill > BAR_WIDTH)
        fill = BAR_WIDTH;
    fprintf(stderr, "\rdumping [%.*s%*s] %3d%%  %s of %s\033[K",
            fill, "##############################", BAR_WIDTH - fill, "",
            (int)(frac * 100), human_size(d, done), human_size(t, total));
    *drawn = true;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) +
           (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Dumping onto the snapshot being read would truncate the file under the
 * library's mapping of it. */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;

    return a && stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
           sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void report(const char *out, const char *fmt, uint64_t bytes,
                   double secs)
{
    double mib = (double)bytes / (1024.0 * 1024.0);
    double rate = mib / (secs > 1e-6 ? secs : 1e-6);
    char h[32];

    if (out_json) {
        json_string("output", out);
        json_string("format", fmt);
        json_u64("bytes", bytes);
        json_double("seconds", secs);
        json_double("mib_per_s", rate);
        return;
    }
    out_printf("wrote %llu bytes (%s) to %s in %.2f s, %.1f MiB/s\n",
               (unsigned long long)bytes, human_size(h, bytes), out, secs,
               rate);
}

static int dump(vmi_instance_t vmi, const char *out, tvmi_dump_format_t fmt,
                const char *fmt_name)
{
    bool drawn = false;
    bool tty = isatty(STDERR_FILENO);
    struct timespec t0;
    struct stat st;
    status_t st_dump;
    double secs;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    st_dump = tvmi_dump(vmi, out, fmt, tty ? draw_progress : NULL, &drawn);
    secs = seconds_since(&t0);
    if (drawn)
        fputc('\n', stderr);
    if (st_dump != VMI_SUCCESS)
        return fail("dump (%s): %s", fmt_name, tvmi_last_error(vmi));
    if (stat(out, &st) != 0)
        return fail("dumping to %s: the file is gone after writing: %s", out,
                    strerror(errno));
    report(out, fmt_name, (uint64_t)st.st_size, secs);
    return EXIT_OK;
}

static int run_dump(const struct global *g, const struct args *a)
{
    tvmi_dump_format_t fmt = TVMI_DUMP_ELF;
    const char *fmt_name = a->val[D_FORMAT] ? a->val[D_FORMAT] : "elf";
    vmi_instance_t vmi;
    int rc = arg_format(fmt_name, &fmt);

    if (rc != EXIT_OK)
        return rc;
    if (same_file(g->file, a->pos[0]))
        return usage_error("dump", "refusing to overwrite the snapshot being "
                                   "read (%s)", a->pos[0]);
    rc = target_open(g, "dump", &vmi);
    if (rc != EXIT_OK)
        return rc;
    rc = dump(vmi, a->pos[0], fmt, fmt_name);
    vmi_destroy(vmi);
    return rc;
}

const struct command cmd_dump = {
    .name = "dump",
    .summary = "copy the target's memory to an ELF core, raw or LiME file",
    .help =
        "usage: tinyvmi --file PATH dump OUT [--format elf|raw|lime]\n"
        "\n"
        "Writes the target's physical memory to OUT (created or truncated).\n"
        "  elf    ELF64 core: a PT_LOAD per backed range, CPU notes (default)\n"
        "  raw    flat image from physical 0, holes filled with zeros\n"
        "  lime   LiME, one record per backed range\n"
        "A progress bar goes to stderr when it is a terminal. The last line\n"
        "gives the bytes written, the time taken and the speed.\n"
        "JSON keys: output, format, bytes, seconds, mib_per_s, error.\n",
    .opts = dump_opts,
    .min_pos = 1,
    .max_pos = 1,
    .pos_names = dump_pos,
    .run = run_dump,
};
