/*
 * Output: one buffered stdout sink (so a closed pipe or a full disk is
 * noticed with its errno), a small JSON emitter, and key/label fields that
 * print as "label: value" text or as JSON members depending on --json.
 */
#ifndef TVMI_OUTPUT_H
#define TVMI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern bool out_json;

/* ---- the stdout sink ----------------------------------------------- */
void out_write(const void *p, size_t n);
void out_puts(const char *s);
void out_time_stamp(void); /* "12:34:56 " */
void out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Flushes; returns 0 or the errno of the first failed write. */
int out_flush(void);
/* True once a write failed: long outputs stop early. */
bool out_broken(void);

/* ---- JSON emitter: key is NULL inside arrays ----------------------- */
void json_begin_object(const char *key);
void json_end_object(void);
void json_begin_array(const char *key);
void json_end_array(void);
void json_string(const char *key, const char *s);
void json_string_bytes(const char *key, const void *p, size_t n);
void json_u64(const char *key, uint64_t v);
void json_hex(const char *key, uint64_t v);   /* "0x..." */
void json_double(const char *key, double v);
void json_bool(const char *key, bool v);
void json_null(const char *key);
/* A string member written in pieces: begin, any number of hex chunks, end. */
void json_hexbytes_begin(const char *key);
void json_hexbytes_more(const void *p, size_t n);
void json_hexbytes_end(void);
/* Writes msg as an "error" member of the open document (closing nested
 * containers) or as a document of its own. */
void json_error(const char *msg);
/* Closes whatever is still open and ends the document with a newline. */
void json_finish(void);

/* ---- fields: text "label: value" lines or JSON members --------------------
 * A NULL label means JSON only; out_text() is text only. */
void out_section(const char *key, const char *title);
void out_section_end(void);
void out_list(const char *key, const char *title);
void out_list_end(void);
void out_str(const char *key, const char *label, const char *v);
void out_hex(const char *key, const char *label, uint64_t v);
void out_num(const char *key, const char *label, uint64_t v);
void out_size(const char *key, const char *label, uint64_t bytes);
void out_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "512 MiB", "1.5 GiB", "100 bytes" */
const char *human_size(char buf[32], uint64_t bytes);

/* ---- hexdump.c ----------------------------------------------------- */
/* Lines of 16 bytes: address (digits wide), hex, ASCII. */
void hexdump(uint64_t addr, const unsigned char *p, size_t n, int digits);

#endif
