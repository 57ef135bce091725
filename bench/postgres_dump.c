/*
 * postgres_dump: the benchmark's driver — the postgres engine's dump through the product's chain
 * (sha256 -> zstd -> md5 -> file), connecting with libpq's PG* variables.
 *   postgres_dump OUTFILE [LEVEL]
 * Prints one line: "bytes_plain=N bytes_stored=N rows=N objects=N seconds=S".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../agent/filter_hash.h"
#include "../agent/filter_zstd.h"
#include "../engines/postgres/pg_engine.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: postgres_dump OUTFILE [LEVEL]\n");
        return 2;
    }
    int level = 3;
    if (argc > 2) {
        char *end;
        long v = strtol(argv[2], &end, 10);
        if (*end || v < 1 || v > 22) {
            fprintf(stderr, "bad level '%s'\n", argv[2]);
            return 2;
        }
        level = (int)v;
    }
    sk_err err;
    sk_err_clear(&err);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    sk_zstd_opts zo = { level, cpus > 1 ? (int)cpus : 0 };
    sk_writer *file = sk_fd_writer_new(fd, argv[1], &err);
    sk_writer *md5 = file ? sk_hash_writer_new(file, SK_HASH_MD5, &err) : NULL;
    sk_writer *z = md5 ? sk_zstd_writer_new(md5, &zo, &err) : NULL;
    sk_writer *sha = z ? sk_hash_writer_new(z, SK_HASH_SHA256, &err) : NULL;
    if (!sha) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    PGconn *c = sk_pg_connect(NULL, NULL, "benchmark database", &err);
    if (!c) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double t0 = now_s();
    sk_pg_dump_stats st;
    sk_rc rc = sk_pg_dump_conn(c, NULL, sha, NULL, &st, &err);
    if (!rc)
        rc = sk_writer_finish(sha, &err);
    else
        sk_writer_abort(sha);
    double took = now_s() - t0;
    PQfinish(c);
    if (rc) {
        fprintf(stderr, "dump failed: %s\n", err.msg);
        sk_writer_free_chain(sha);
        return 1;
    }
    printf("bytes_plain=%llu bytes_stored=%llu rows=%llu objects=%ld seconds=%.3f\n",
           (unsigned long long)sha->bytes, (unsigned long long)md5->bytes, (unsigned long long)st.rows, st.objects,
           took);
    sk_writer_free_chain(sha);
    close(fd);
    return 0;
}
