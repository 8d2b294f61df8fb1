/*
 * Error messages. Every failing call leaves "what: why" in the instance so
 * the caller (and the CLI) can say exactly what went wrong. vmi_init has no
 * instance to hang it on when it fails, hence the one static buffer for
 * init failures (documented as not thread-safe).
 */
#include "private.h"

static char init_error[TVMI_ERR_MAX] = "no error";

static void vformat(char *buf, size_t n, const char *fmt, va_list ap)
{
    if (vsnprintf(buf, n, fmt, ap) < 0)
        snprintf(buf, n, "(unformattable error message)");
}

/* dst = "a: b", cut to fit: the context first, then as much of the reason
 * as there is room for. */
static void join(char *dst, const char *a, const char *b)
{
    size_t la = strnlen(a, TVMI_ERR_MAX - 3), lb;

    memcpy(dst, a, la);
    memcpy(dst + la, ": ", 2);
    lb = strnlen(b, TVMI_ERR_MAX - 1 - la - 2);
    memcpy(dst + la + 2, b, lb);
    dst[la + 2 + lb] = '\0';
}

status_t tvmi_fail(vmi_instance_t vmi, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vformat(vmi ? vmi->err : init_error, TVMI_ERR_MAX, fmt, ap);
    va_end(ap);
    return VMI_FAILURE;
}

/* Puts context in front of the message a deeper layer left behind. */
status_t tvmi_fail_ctx(vmi_instance_t vmi, const char *fmt, ...)
{
    char ctx[TVMI_ERR_MAX];
    char *err = vmi ? vmi->err : init_error;
    char old[TVMI_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vformat(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);
    memcpy(old, err, TVMI_ERR_MAX);
    join(err, ctx, old);
    return VMI_FAILURE;
}

const char *tvmi_last_error(vmi_instance_t vmi)
{
    if (!vmi)
        return "no instance (vmi_init failed or was not called)";
    return vmi->err[0] ? vmi->err : "no error";
}

const char *tvmi_init_error_message(void)
{
    return init_error;
}

/* vmi_init copies the instance's last message here before freeing it. */
void tvmi_set_init_error(const char *msg)
{
    snprintf(init_error, sizeof(init_error), "%s", msg);
}
