/*
 * The appliance has no file system: profiles cannot be read from files
 * here, and the core's zero-configuration discovery needs none.
 */
#include "platform.h"

status_t tvmi_platform_read_file(const char *path, void **buf, size_t *len,
                                 char *err, size_t errlen)
{
    (void)path;
    *buf = NULL;
    *len = 0;
    snprintf(err, errlen, "the tinyvmi appliance has no files (profiles are "
             "for host builds; the appliance uses zero-configuration "
             "discovery)");
    return VMI_FAILURE;
}
