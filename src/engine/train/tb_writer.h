/* tb_writer: TensorBoard event files written by hand — TFRecord framing
 * (u64 length, masked CRC-32C of the length, data, masked CRC-32C of the
 * data; little-endian) around Event protobufs: the first record carries
 * file_version "brain.Event:2", then one Event per scalar with wall_time
 * (field 1, double), step (field 2, int64) and summary (field 5) holding
 * one value { tag (1), simple_value (2, float) }. Tags longer than
 * TB_MAX_TAG bytes are cut. */
#ifndef AURL_TB_WRITER_H
#define AURL_TB_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "util/fileio.h"

#define TB_MAX_TAG 255

typedef struct tb_writer tb_writer;

/* Create DIR (mkdir -p) and open DIR/events.out.tfevents.<unix time>.<host>
 * for append, writing the file_version record. 0 or -1 (err set). */
int tb_writer_open(tb_writer **out, const char *dir, char err[AURL_ERR_LEN]);
/* Append one scalar Event (buffered; see tb_writer_flush). 0 or -1. */
int tb_writer_scalar(tb_writer *w, const char *tag, int64_t step, double wall_time, float value);
/* Push buffered records to the file. 0 or -1. */
int tb_writer_flush(tb_writer *w);
/* The event file's path. */
const char *tb_writer_path(const tb_writer *w);
/* Flush, close and free W (NULL is fine). */
void tb_writer_close(tb_writer *w);

#endif
