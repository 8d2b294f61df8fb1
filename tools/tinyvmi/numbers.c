/*
 * Number and name arguments. strtoull is not used: it skips blanks,
 * accepts signs (and wraps "-1" to 2^64-1) and octal, and all of that
 * turns a typo into a plausible address.
 */
#include <string.h>

#include "cli.h"

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* NULL on success, else why s is not a number. */
static const char *parse_u64(const char *s, uint64_t *out)
{
    unsigned base = 10;
    uint64_t v = 0;

    if (*s == '-')
        return "negative values are not allowed";
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return "not a number";
    for (; *s; s++) {
        int d = digit_value(*s);
        if (d < 0 || (unsigned)d >= base)
            return "not a number";
        if (v > (UINT64_MAX - (unsigned)d) / base)
            return "too large (more than 64 bits)";
        v = v * base + (unsigned)d;
    }
    *out = v;
    return NULL;
}

int arg_u64(const char *cmd, const char *what, const char *s, uint64_t *out)
{
    const char *why = parse_u64(s, out);

    if (why)
        return usage_error(cmd, "bad %s '%s': %s", what, s, why);
    return EXIT_OK;
}

int arg_pid(const char *cmd, const char *s, vmi_pid_t *out)
{
    uint64_t v;
    int rc = arg_u64(cmd, "pid", s, &v);

    if (rc != EXIT_OK)
        return rc;
    if (v > INT32_MAX)
        return usage_error(cmd, "bad pid '%s': too large", s);
    *out = (vmi_pid_t)v;
    return EXIT_OK;
}

static const struct {
    page_mode_t pm;
    const char *name;
} modes[] = {
    { VMI_PM_NONE, "none" },       { VMI_PM_LEGACY, "legacy" },
    { VMI_PM_PAE, "pae" },         { VMI_PM_IA32E, "ia32e" },
    { VMI_PM_LA57, "la57" },       { VMI_PM_AARCH32, "aarch32" },
    { VMI_PM_AARCH64, "aarch64" }, { VMI_PM_EPT_4L, "ept4" },
    { VMI_PM_EPT_5L, "ept5" },
};

const char *page_mode_name(page_mode_t pm)
{
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (modes[i].pm == pm)
            return modes[i].name;
    return "unknown";
}

/* Only the x86 modes (the first entries) can be asked for: they are the
 * ones the page walker knows. */
#define X86_MODES 5

int arg_page_mode(const char *cmd, const char *s, page_mode_t *out)
{
    for (size_t i = 0; i < X86_MODES; i++) {
        if (!strcmp(s, modes[i].name)) {
            *out = modes[i].pm;
            return EXIT_OK;
        }
    }
    return usage_error(cmd, "bad paging mode '%s': want none, legacy, pae, "
                            "ia32e or la57", s);
}
