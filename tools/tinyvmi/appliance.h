/*
 * tinyvmi appliance: the launcher (appliance.c) and its xenstore side
 * (appliance_io.c): finding domains, sending commands, streaming results.
 */
#ifndef TVMI_APPLIANCE_CLI_H
#define TVMI_APPLIANCE_CLI_H

#include <stdint.h>

#include "cli.h"
#include "output.h"

extern const struct command cmd_appliance;

#ifdef TVMI_HAVE_XEN
/* Prints "tinyvmi: appliance: <msg>" on stderr; returns EXIT_TARGET. */
int fail_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A positive decimal number; 0 or -1. */
int arg_ulong(const char *s, unsigned long *out);
double now_s(void);

/* A domain by name or id, through xenstore; 0 or -1. */
int xs_domid_of(const char *name_or_id, uint32_t *domid);
bool xs_domain_exists(uint32_t domid);
 /* Tells the appliance someone reads its results: it then waits (bounded)
  * for them to be read before it powers off. */
int app_set_reader(uint32_t adom);
/* Writes "<seq> <command>" to the appliance's data/tinyvmi/cmd. */
int app_send_command(uint32_t adom, const char *command, unsigned *seq);
/* Waits until data/tinyvmi/state is want; 0, or -1 after timeout_s. */
int app_wait_state(uint32_t adom, const char *want, unsigned long timeout_s);
void app_wait_gone(uint32_t adom, unsigned long timeout_s);
/* Prints results until the "done" or "error" line of seq (or, forever,
 * until interrupted or the appliance goes), then with until_gone until the
 * appliance has powered off (bounded). Returns an exit code. */
int app_stream(uint32_t adom, unsigned seq, bool forever, bool until_gone,
               unsigned long timeout_s, double t0);
#endif

#endif
