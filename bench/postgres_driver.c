/*
 * postgres_driver: the postgres engine without the CLI, for scripts (tests/integration/postgres_*.sh,
 * benchmarks) until the engine is reachable through `snapkeep`.
 *   postgres_driver dump OUTFILE              dump the database libpq's PG* variables name
 *   postgres_driver restore CONNINFO INFILE   restore a script through the restore sink (one transaction)
 * Prints the dump's statistics or the error; exit status 0 on success.
 * SK_PG_DRIVER_PARALLEL="HELPERS MIN_BLOCKS RANGE_BLOCKS" dumps with helper connections
 * (sk_pg_dump_opts.parallel*), e.g. "2 1 2": every table of a block or more, in 2-block ranges.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engines/postgres/pg_engine.h"

int main(int argc, char **argv)
{
    sk_err err;
    sk_err_clear(&err);
    if (argc == 3 && strcmp(argv[1], "dump") == 0) {
        int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) {
            perror(argv[2]);
            return 1;
        }
        PGconn *c = sk_pg_connect(NULL, NULL, "source database", &err);
        sk_writer *w = c ? sk_fd_writer_new(fd, argv[2], &err) : NULL;
        sk_pg_dump_stats st;
        memset(&st, 0, sizeof st);
        sk_pg_dump_opts opts;
        memset(&opts, 0, sizeof opts);
        const char *par = getenv("SK_PG_DRIVER_PARALLEL");
        if (par && sscanf(par, "%d %ld %ld", &opts.parallel, &opts.parallel_min_blocks, &opts.parallel_range_blocks) != 3) {
            fprintf(stderr, "SK_PG_DRIVER_PARALLEL: want \"HELPERS MIN_BLOCKS RANGE_BLOCKS\"\n");
            return 2;
        }
        sk_rc rc = w ? sk_pg_dump_conn(c, par ? &opts : NULL, w, NULL, &st, &err) : err.rc;
        if (!rc)
            rc = sk_writer_finish(w, &err);
        if (w)
            sk_writer_free_chain(w);
        PQfinish(c);
        close(fd);
        if (rc) {
            fprintf(stderr, "dump failed: %s\n", err.msg);
            return 1;
        }
        printf("objects=%ld tables=%ld rows=%llu order_warnings=%ld parallel_tables=%ld\n", st.objects, st.tables,
               (unsigned long long)st.rows, st.order_warnings, st.parallel_tables);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "restore") == 0) {
        int fd = open(argv[3], O_RDONLY);
        if (fd < 0) {
            perror(argv[3]);
            return 1;
        }
        sk_writer *w = sk_pg_restore_sink_new(argv[2], NULL, NULL, &err);
        sk_rc rc = w ? sk_copy_fd(fd, argv[3], w, 1 << 16, NULL, NULL, &err) : err.rc;
        if (!rc)
            rc = sk_writer_finish(w, &err);
        else if (w)
            sk_writer_abort(w);
        if (w)
            sk_writer_free_chain(w);
        close(fd);
        if (rc) {
            fprintf(stderr, "restore failed: %s\n", err.msg);
            return 1;
        }
        return 0;
    }
    fprintf(stderr, "usage: postgres_driver dump OUTFILE | restore CONNINFO INFILE\n");
    return 2;
}
