/*
 * The appliance's program: one target, one task at a time, results on the
 * console (text, for people and `xl console`) and in xenstore (JSON lines,
 * for `tinyvmi appliance` in dom0). docs/unikernel.md has the protocol.
 */
#ifndef APP_H
#define APP_H

#include "uk.h"
#include "private.h"
#include <tinyvmi/linux.h>

/* What the command line asked for ("key=value" words). */
struct app_args {
    const char *target;   /* domid */
    const char *task;     /* ps | modules | info | watch | serve | selftest */
    const char *ranges;   /* populated ranges, "start-end,..." in hex */
    unsigned interval_ms; /* watch: between checks */
    unsigned count;       /* watch: checks before stopping; 0 = forever */
};

void appliance_banner(void);
int appliance_selftest(int argc, char **argv, uint64_t t_main);

/* ---- out.c: the results channel --------------------------------------------- */

/* Prepares data/tinyvmi/ in our xenstore home; false when xenstore is not
 * there (plain QEMU): then results go to the console only. */
bool out_init(void);
void out_state(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One JSON object: begin, members, end (which queues the line). */
void out_begin(const char *type, unsigned seq);
void out_str(const char *key, const char *v);
void out_u64(const char *key, uint64_t v);
void out_i64(const char *key, int64_t v);
void out_hex(const char *key, uint64_t v);
void out_bool(const char *key, bool v);
void out_null(const char *key);
void out_bytes(const char *key, const uint8_t *b, size_t n); /* hex string */
void out_names(const char *key, const char *comma_list);   /* array */
void out_end(void);
/* Pushes queued lines to xenstore (also done when the buffer fills). */
void out_flush(void);
/* Before powering off: when dom0 said it reads (data/tinyvmi/reader),
 * waits until it has read every chunk, at most timeout_ms. */
void out_wait_read(unsigned timeout_ms);
/* The next command dom0 wrote to data/tinyvmi/cmd ("<seq> <words>"), if
 * it is new: copies the words and returns the seq, else 0. */
unsigned out_poll_command(char *buf, size_t len);

/* ---- tasks.c ------------------------------------------------------------------- */
int app_run(const struct app_args *args);

#endif
