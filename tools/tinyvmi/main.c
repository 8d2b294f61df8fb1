/*
 * tinyvmi: look inside a virtual machine's memory from the command line.
 * This file parses the options, picks the command and turns everything
 * into an exit code: 0 ok, 1 target or data error, 2 usage error.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "output.h"

extern const struct command cmd_watch; /* watch.c */

static const struct command *const commands[] = {
    &cmd_info, &cmd_read, &cmd_translate, &cmd_dump, &cmd_sym, &cmd_linux_info,
    &cmd_ps, &cmd_modules, &cmd_dmesg, &cmd_write, &cmd_appliance, &cmd_watch,
    NULL,
};

static const char top_help_head[] =
    "usage: tinyvmi [--file PATH | --xen NAME|DOMID] [--json] [--write]\n"
    "               COMMAND [ARGS]\n"
    "\n"
    "Target (global options may also follow the command):\n"
    "  --file PATH    a memory snapshot: ELF core, LiME or raw image\n"
    "  --xen DOMAIN   a running Xen domain, by name or numeric id\n"
    "  --write        open the target read-write\n"
    "  --pause        hold a live domain paused while the command runs (a\n"
    "                 consistent view; resumed on exit, error or signal)\n"
    "  --profile F    Linux profile: Volatility 3 ISF (.json, .json.xz)\n"
    "  --sysmap F     Linux profile: System.map\n"
    "  --btf F        Linux profile: BTF (raw .BTF or /sys/kernel/btf/vmlinux)\n"
    "  --config F     a libvmi.conf; --domain NAME picks its entry\n"
    "  --no-hints     no discovery-hint cache (also TINYVMI_NO_HINTS=1)\n"
    "  --json         print one JSON document on stdout (see below)\n"
    "  --help, -h     this text; 'tinyvmi COMMAND --help' for a command\n"
    "  --version      print the version\n"
    "\n"
    "Commands:\n";

static const char top_help_tail[] =
    "\n"
    "Numbers are decimal or 0x-prefixed hexadecimal.\n"
    "JSON output: objects with lowercase keys; addresses, page-table entries\n"
    "and register values are strings \"0x...\"; sizes and counts are plain\n"
    "numbers; bytes read are one lowercase hex string. On failure the\n"
    "document carries an \"error\" member (the same text goes to stderr).\n"
    "Exit status: 0 ok, 1 target or data error, 2 usage error.\n";

static void print_top_help(void)
{
    out_puts(top_help_head);
    for (const struct command *const *c = commands; *c; c++)
        out_printf("  %-13s %s\n", (*c)->name, (*c)->summary);
    out_puts(top_help_tail);
}

/* ---- error reporting ----------------------------------------------- */

static void report(const char *msg)
{
    fprintf(stderr, "tinyvmi: %s\n", msg);
    if (out_json)
        json_error(msg);
}

int fail(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    report(msg);
    return EXIT_TARGET;
}

int usage_error(const char *cmd, const char *fmt, ...)
{
    char why[768], msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (cmd)
        snprintf(msg, sizeof(msg), "%s: %s", cmd, why);
    else
        snprintf(msg, sizeof(msg), "%s", why);
    report(msg);
    fprintf(stderr, "Try 'tinyvmi%s%s --help'.\n", cmd ? " " : "",
            cmd ? cmd : "");
    return EXIT_USAGE;
}

/* ---- option parsing ------------------------------------------------ */

/* "-5" is a (bad, negative) number for the number parser to reject with a
 * clear message, not an unknown option. */
static bool is_option(const char *s)
{
    return s[0] == '-' && s[1] && !isdigit((unsigned char)s[1]);
}

/* Matches argv[i] against --name or --name=value. Returns how many argv
 * entries it used (0: no match), or -1 after a usage error. */
static int match_opt(const char *cmd, const struct opt *o, int argc,
                     char **argv, int i, const char **val)
{
    const char *s = argv[i] + 2;
    size_t len = strlen(o->name);

    if (strncmp(argv[i], "--", 2) || strncmp(s, o->name, len) ||
        (s[len] != '\0' && s[len] != '='))
        return 0;
    if (!o->takes_value) {
        if (s[len] == '=') {
            usage_error(cmd, "option '--%s' takes no value", o->name);
            return -1;
        }
        *val = "";
        return 1;
    }
    if (s[len] == '=') {
        *val = s + len + 1;
        return 1;
    }
    if (i + 1 >= argc) {
        usage_error(cmd, "option '--%s' needs a value", o->name);
        return -1;
    }
    *val = argv[i + 1];
    return 2;
}

enum { G_FILE, G_XEN, G_JSON, G_WRITE, G_PROFILE, G_SYSMAP, G_BTF, G_CONFIG,
       G_DOMAIN, G_NO_HINTS, G_PAUSE };
static const struct opt global_opts[] = {
    [G_FILE] = { "file", true },
    [G_XEN] = { "xen", true },
    [G_JSON] = { "json", false },
    [G_WRITE] = { "write", false },
    [G_PROFILE] = { "profile", true },
    [G_SYSMAP] = { "sysmap", true },
    [G_BTF] = { "btf", true },
    [G_CONFIG] = { "config", true },
    [G_DOMAIN] = { "domain", true },
    [G_NO_HINTS] = { "no-hints", false },
    [G_PAUSE] = { "pause", false },
    { NULL, false },
};

/* When argv[i] is a global option, stores it in g and returns how many
 * argv entries it used; 0 if it is not one; -1 after a usage error. */
static int global_option(const char *cmd, int argc, char **argv, int i,
                         struct global *g)
{
    for (int k = 0; global_opts[k].name; k++) {
        const char *val = NULL;
        int n = match_opt(cmd, &global_opts[k], argc, argv, i, &val);
        if (n == 0)
            continue;
        if (n < 0)
            return -1;
        switch (k) {
        case G_FILE: g->file = val; break;
        case G_XEN: g->xen = val; break;
        case G_JSON: g->json = true; break;
        case G_WRITE: g->write = true; break;
        case G_PROFILE: g->profile = val; break;
        case G_SYSMAP: g->sysmap = val; break;
        case G_BTF: g->btf = val; break;
        case G_CONFIG: g->config = val; break;
        case G_DOMAIN: g->domain = val; break;
        case G_NO_HINTS: g->no_hints = true; break;
        case G_PAUSE: g->pause = true; break;
        }
        return n;
    }
    return 0;
}

static int command_option(const struct command *cmd, int argc, char **argv,
                          int i, struct args *a)
{
    for (int k = 0; k < ARGS_MAX_OPTS && cmd->opts[k].name; k++) {
        int n = match_opt(cmd->name, &cmd->opts[k], argc, argv, i, &a->val[k]);
        if (n != 0)
            return n;
    }
    return 0;
}

static int check_positionals(const struct command *cmd, const struct args *a)
{
    if (a->npos < cmd->min_pos)
        return usage_error(cmd->name, "missing %s", cmd->pos_names[a->npos]);
    if (a->npos > cmd->max_pos)
        return usage_error(cmd->name, "unexpected argument '%s'",
                           a->pos[cmd->max_pos]);
    return EXIT_OK;
}

int parse_args(const struct command *cmd, int argc, char **argv, int skip,
               struct global *g, struct args *a)
{
    bool only_positional = false;

    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int n;

        if (i == skip)
            continue;
        if (!only_positional && !strcmp(s, "--")) {
            only_positional = true;
            continue;
        }
        if (only_positional || !is_option(s)) {
            /* one more than a command takes, so the excess can be named */
            if (a->npos <= cmd->max_pos)
                a->pos[a->npos++] = s;
            continue;
        }
        if (!strcmp(s, "--help") || !strcmp(s, "-h"))
            return -1;
        n = global_option(cmd->name, argc, argv, i, g);
        if (n == 0)
            n = command_option(cmd, argc, argv, i, a);
        if (n < 0)
            return EXIT_USAGE;
        if (n == 0)
            return usage_error(cmd->name, "unknown option '%s'", s);
        i += n - 1;
    }
    return check_positionals(cmd, a);
}

/* --json changes how even early usage errors are reported, so look for it
 * before anything else. */
static bool wants_json(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--json"))
            return true;
    return false;
}

/* ---- dispatch ------------------------------------------------------ */

static const struct command *find_command(const char *name)
{
    for (const struct command *const *c = commands; *c; c++)
        if (!strcmp((*c)->name, name))
            return *c;
    return NULL;
}

static bool opt_takes_value(const struct opt *opts, const char *name,
                            size_t len)
{
    for (; opts->name; opts++)
        if (strlen(opts->name) == len && !strncmp(opts->name, name, len))
            return opts->takes_value;
    return false;
}

/* True when "--name" (with no "=value") takes the next word as its value
 * for the global options or any command. */
static bool value_follows(const char *arg)
{
    const char *name = arg + 2;
    size_t len = strlen(name);

    if (strncmp(arg, "--", 2) || strchr(name, '='))
        return false;
    if (opt_takes_value(global_opts, name, len))
        return true;
    for (const struct command *const *c = commands; *c; c++)
        if (opt_takes_value((*c)->opts, name, len))
            return true;
    return false;
}

/* Options may come before and after the command, so the command is the
 * first word that is neither an option nor an option's value. Returns its
 * index, or -1. */
static int find_command_word(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            return i + 1 < argc ? i + 1 : -1;
        if (!is_option(argv[i]))
            return i;
        if (value_follows(argv[i]))
            i++;
    }
    return -1;
}

static int run_help(int argc, char **argv, int i)
{
    const struct command *cmd;

    if (i >= argc) {
        print_top_help();
        return EXIT_OK;
    }
    cmd = find_command(argv[i]);
    if (!cmd)
        return usage_error(NULL, "unknown command '%s'", argv[i]);
    out_puts(cmd->help);
    return EXIT_OK;
}

static int run_command(const struct command *cmd, int argc, char **argv,
                       int skip, struct global *g)
{
    struct args a;
    int rc = parse_args(cmd, argc, argv, skip, g, &a);

    if (rc < 0) {
        out_puts(cmd->help);
        return EXIT_OK;
    }
    if (rc != EXIT_OK)
        return rc;
    if (g->pause && (!g->xen || cmd == &cmd_appliance))
        return usage_error(cmd->name, "--pause applies to a running domain "
                                      "(--xen DOMAIN)");
    if (g->pause && cmd == &cmd_watch)
        return usage_error(cmd->name, "--pause would keep the domain paused "
                                      "between checks: watch reads it live");
    if (out_json && !cmd->json_array)
        json_begin_object(NULL);
    return cmd->run(g, &a);
}

/* Without a command: an unknown option is the better thing to report. */
static int no_command(int argc, char **argv, struct global *g)
{
    for (int i = 1; i < argc; i++) {
        int n = global_option(NULL, argc, argv, i, g);
        if (n < 0)
            return EXIT_USAGE;
        if (n == 0)
            return usage_error(NULL, "unknown option '%s'", argv[i]);
        i += n - 1;
    }
    return usage_error(NULL, "no command given");
}

static int dispatch(int argc, char **argv)
{
    struct global g = { 0 };
    const struct command *cmd;
    int at = find_command_word(argc, argv);

    for (int i = 1; i < (at < 0 ? argc : at) && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "--version")) {
            out_printf("tinyvmi %s\n", TVMI_VERSION_STRING);
            return EXIT_OK;
        }
        if (at < 0 && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")))
            return run_help(argc, argv, argc);
    }
    if (at < 0)
        return no_command(argc, argv, &g);
    if (!strcmp(argv[at], "help"))
        return run_help(argc, argv, at + 1);
    cmd = find_command(argv[at]);
    if (!cmd)
        return usage_error(NULL, "unknown command '%s'", argv[at]);
    return run_command(cmd, argc, argv, at, &g);
}

/* A reader that went away (| head) ends the output quietly; any other
 * failure to write stdout is an error of its own. */
static int finish(int rc)
{
    int err;

    if (out_json)
        json_finish();
    err = out_flush();
    if (err == 0 || err == EPIPE)
        return rc;
    fprintf(stderr, "tinyvmi: writing to standard output: %s\n", strerror(err));
    return rc ? rc : EXIT_TARGET;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    out_json = wants_json(argc, argv);
    return finish(dispatch(argc, argv));
}
