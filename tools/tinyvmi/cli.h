/*
 * The tinyvmi command: shared pieces of option parsing, target opening and
 * the command table. Uses only the public API (tinyvmi.h, dump.h).
 */
#ifndef TVMI_CLI_H
#define TVMI_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <tinyvmi/tinyvmi.h>

/* Exit codes. */
enum { EXIT_OK = 0, EXIT_TARGET = 1, EXIT_USAGE = 2 };

/* Options that apply to every command, wherever they appear. */
struct global {
    const char *file;
    const char *xen;
    bool json;
    bool write;
    /* profiles for commands that initialise the OS layer */
    const char *profile;  /* ISF .json / .json.xz */
    const char *sysmap;
    const char *btf;
    const char *config;   /* libvmi.conf */
    const char *domain;   /* its entry */
    bool no_hints;        /* neither read nor write the discovery-hint cache */
    bool pause;           /* hold the domain paused while the command runs */
};

struct opt {
    const char *name;  /* without the leading "--" */
    bool takes_value;
};

#define ARGS_MAX_POS 4
#define ARGS_MAX_OPTS 12

/* One command line after parsing; val[i] belongs to the command's opts[i]:
 * NULL when absent, "" for a flag that was given. */
struct args {
    const char *pos[ARGS_MAX_POS];
    int npos;
    const char *val[ARGS_MAX_OPTS];
};

struct command {
    const char *name;
    const char *summary;
    const char *help;         /* full text for "tinyvmi CMD --help" */
    const struct opt *opts;   /* terminated by a NULL name */
    int min_pos, max_pos;
    const char *const *pos_names; /* for "missing ADDR" */
    int (*run)(const struct global *g, const struct args *a);
    bool json_array;          /* it opens its own --json output (array, lines) */
};

extern const struct command cmd_info, cmd_read, cmd_translate, cmd_dump;
extern const struct command cmd_sym, cmd_linux_info;
extern const struct command cmd_ps, cmd_modules, cmd_dmesg;
extern const struct command cmd_write, cmd_appliance;

/* Parses argv for cmd, whose name is argv[skip]; options of both kinds
 * may come before and after it. Returns EXIT_OK, EXIT_USAGE after saying
 * why, or -1 when --help was asked for. */
int parse_args(const struct command *cmd, int argc, char **argv, int skip,
               struct global *g, struct args *a);

/* Number arguments: 0x hex or decimal, nothing else. Each prints a usage
 * error naming what (e.g. "address") and returns EXIT_USAGE on bad input. */
int arg_u64(const char *cmd, const char *what, const char *s, uint64_t *out);
int arg_pid(const char *cmd, const char *s, vmi_pid_t *out);
int arg_page_mode(const char *cmd, const char *s, page_mode_t *out);

const char *page_mode_name(page_mode_t pm);

/* Opens the target the global options name. EXIT_OK or an exit code after
 * saying why. */
int target_open(const struct global *g, const char *cmd, vmi_instance_t *vmi);
const char *target_name(const struct global *g);
/* --pause: pauses a live target right after opening it (vmi_destroy, an
 * exit or a fatal signal resumes it). EXIT_OK, or EXIT_TARGET after
 * saying why and destroying *vmi. */
int target_pause(const struct global *g, vmi_instance_t *vmi);
/* The same with the OS layer initialised (vmi_init_complete) and the
 * profile options passed as its config (profile.c). */
int target_open_os(const struct global *g, const char *cmd, vmi_instance_t *vmi);

/* The discovery-hint cache (hints.c). vmi_init_complete, with the cached
 * record for the target given to the library first and a new one stored
 * after a discovery that did without it (zero configuration only).
 * EXIT_OK, or EXIT_TARGET with *err and the library's message in msg. */
int hints_init_complete(const struct global *g, vmi_instance_t *vmi,
                        const void *domain, uint64_t flags, vmi_config_t mode,
                        void *config, vmi_init_error_t *err, char *msg,
                        size_t msglen);
bool hints_enabled(const struct global *g);
/* The cache file for this target (create: make its directory). */
bool hints_path(vmi_instance_t vmi, char *path, size_t len, bool create);

/* Which page tables to use: --dtb / --mode, else what the target knows. */
struct paging {
    bool have_dtb, have_mode;
    addr_t dtb;
    page_mode_t pm;
};
/* Parses the --dtb and --mode values (either may be NULL). */
int paging_args(const char *cmd, const char *dtb, const char *mode,
                struct paging *p);
/* Fills in what the options left open from the target; a usage error when
 * neither knows (a raw image has no registers). */
int paging_resolve(vmi_instance_t vmi, const char *cmd, struct paging *p);

/* Reports a usage error (stderr, and {"error"} in JSON mode): EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Reports a target or data error: EXIT_TARGET. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
