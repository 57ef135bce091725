/*
 * local.h: the local-directory destination (SNAPKEEP_DEST_DIR).
 *
 * A key maps to <dir>/<key>. put() writes "<dir>/<key-dir>/.<base>.tmp-<random>", and finish()
 * fsyncs it, moves it to its name without ever replacing an existing file (renameat2
 * RENAME_NOREPLACE, or link+unlink where the filesystem lacks it), and fsyncs the directory. So a
 * process killed at any moment leaves at most a hidden temp file, which list() never shows.
 */
#ifndef SK_UPLOADER_LOCAL_H
#define SK_UPLOADER_LOCAL_H

#include "../../agent/dest.h"

extern const sk_dest_type sk_dest_local;
extern const sk_setting_def sk_local_settings[];

#endif
