/*
 * sqlite_load: test helper that puts real load on an SQLite database while snapkeep backs it up.
 *
 *   sqlite_load make DB MIB               create a WAL database: 1000 accounts of balance 1000,
 *                                         an empty ledger, and MIB MiB of filler rows
 *   sqlite_load backup-under-load DB CMD...
 *                                         run CMD (snapkeep backup-now) while a writer thread
 *                                         commits transfers (each moves money between two accounts
 *                                         and appends a ledger row) as fast as it can; prints
 *                                         "commits=N failed=F before=B max_ms=M" and exits 1 when a
 *                                         commit failed or CMD failed
 *   sqlite_load check DB                  check the invariants: balances sum to 1,000,000 and the
 *                                         ledger is 1..N without gaps; prints N
 *   sqlite_load lock DB SECONDS           hold an exclusive lock (rollback journal) for SECONDS
 *   sqlite_load make-realistic DB MIB     like make, but the filler is about MIB MiB of realistic
 *                                         rows (orders: names, e-mails, statuses, amounts, dates, notes,
 *                                         JSON), from a fixed seed, with two indexes (benchmarks)
 *   sqlite_load writer DB RATE MAXFILE    commit transfers at RATE commits/s (0: as fast as it can)
 *                                         until SIGTERM; on SIGUSR1 write the worst commit latency
 *                                         (ms) since the previous SIGUSR1 into MAXFILE, which it
 *                                         also writes ("0.0") once it is ready (benchmarks)
 */
#include <signal.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

extern char **environ;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "sqlite_load: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    exit(2);
}

static void exec(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        die(db, sql);
}

static int make(const char *path, long mib)
{
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(db, "open");
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
             "CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);"
             "CREATE TABLE ledger(seq INTEGER PRIMARY KEY, src INTEGER, dst INTEGER, amount INTEGER);"
             "CREATE TABLE filler(id INTEGER PRIMARY KEY, body TEXT);"
             "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 1000)"
             " INSERT INTO accounts SELECT x, 1000 FROM c;");
    /* about 1 KiB a row: half repetitive text, half random hex, so compression has work to do */
    char sql[512];
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < %ld)"
             " INSERT INTO filler(body) SELECT printf('%%.500c', 'backup') || hex(randomblob(256)) FROM c;",
             mib * 1024);
    exec(db, "BEGIN");
    exec(db, sql);
    exec(db, "COMMIT");
    sqlite3_close(db);
    return 0;
}

typedef struct load {
    const char *path;
    volatile int stop;
    long commits, failed;
    double max_ms;
    double rate;    /* commits a second; 0: unlimited */
} load;

static void *writer(void *arg)
{
    load *l = arg;
    sqlite3 *db;
    if (sqlite3_open(l->path, &db) != SQLITE_OK)
        die(db, "writer open");
    /* a short busy timeout: in WAL mode a reader must never make us wait this long */
    sqlite3_busy_timeout(db, 100);
    sqlite3_stmt *a, *b, *c;
    if (sqlite3_prepare_v2(db, "UPDATE accounts SET balance = balance - ?2 WHERE id = ?1", -1, &a, NULL) ||
        sqlite3_prepare_v2(db, "UPDATE accounts SET balance = balance + ?2 WHERE id = ?1", -1, &b, NULL) ||
        sqlite3_prepare_v2(db, "INSERT INTO ledger(src, dst, amount) VALUES (?1, ?2, ?3)", -1, &c, NULL))
        die(db, "prepare");
    unsigned seed = 7;
    while (!l->stop) {
        int src = 1 + rand_r(&seed) % 1000, dst = 1 + rand_r(&seed) % 1000, amt = 1 + rand_r(&seed) % 50;
        double t0 = now();
        int ok = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
        if (ok) {
            sqlite3_bind_int(a, 1, src), sqlite3_bind_int(a, 2, amt);
            sqlite3_bind_int(b, 1, dst), sqlite3_bind_int(b, 2, amt);
            sqlite3_bind_int(c, 1, src), sqlite3_bind_int(c, 2, dst), sqlite3_bind_int(c, 3, amt);
            ok = sqlite3_step(a) == SQLITE_DONE && sqlite3_step(b) == SQLITE_DONE && sqlite3_step(c) == SQLITE_DONE;
            sqlite3_reset(a), sqlite3_reset(b), sqlite3_reset(c);
            ok = ok && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
            if (!ok)
                sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        }
        double ms = (now() - t0) * 1000;
        if (ms > l->max_ms)
            l->max_ms = ms;
        if (l->rate > 0 && 1.0 / l->rate > now() - t0)
            usleep((useconds_t)((1.0 / l->rate - (now() - t0)) * 1e6));
        if (ok)
            l->commits++;
        else {
            l->failed++;
            fprintf(stderr, "sqlite_load: commit failed: %s\n", sqlite3_errmsg(db));
        }
    }
    sqlite3_finalize(a), sqlite3_finalize(b), sqlite3_finalize(c);
    sqlite3_close(db);
    return NULL;
}

static int backup_under_load(const char *path, char **cmd)
{
    load l = { path, 0, 0, 0, 0, 0 };
    pthread_t th;
    pthread_create(&th, NULL, writer, &l);
    /* let the writer get going, so the backup starts mid-stream */
    while (l.commits < 200 && !l.failed)
        usleep(1000);
    long before = l.commits;
    pid_t pid;
    if (posix_spawn(&pid, cmd[0], NULL, NULL, cmd, environ) != 0) {
        perror("spawn");
        return 2;
    }
    int status;
    waitpid(pid, &status, 0);
    long during = l.commits - before;
    usleep(200000); /* and keep writing for a while after */
    l.stop = 1;
    pthread_join(th, NULL);
    printf("commits=%ld failed=%ld before=%ld during=%ld max_ms=%.1f backup_status=%d\n", l.commits, l.failed, before,
           during, l.max_ms, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return l.failed || !WIFEXITED(status) || WEXITSTATUS(status) ? 1 : 0;
}

static int check(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die(db, "open");
    if (sqlite3_prepare_v2(db,
                           "SELECT (SELECT sum(balance) FROM accounts), (SELECT count(*) FROM ledger),"
                           " (SELECT coalesce(max(seq), 0) FROM ledger), (SELECT coalesce(min(seq), 1) FROM ledger)",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        die(db, "check");
    long long sum = sqlite3_column_int64(st, 0), n = sqlite3_column_int64(st, 1), max = sqlite3_column_int64(st, 2),
              min = sqlite3_column_int64(st, 3);
    sqlite3_finalize(st);
    sqlite3_close(db);
    printf("%lld\n", n);
    if (sum != 1000000 || n != max || min != 1) {
        fprintf(stderr, "sqlite_load: invariant broken: balances sum %lld (want 1000000), ledger %lld rows, seq %lld..%lld\n",
                sum, n, min, max);
        return 1;
    }
    return 0;
}

static int lock(const char *path, int seconds)
{
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(db, "open");
    exec(db, "BEGIN EXCLUSIVE; UPDATE accounts SET balance = balance WHERE id = 1;");
    printf("locked\n");
    fflush(stdout);
    sleep((unsigned)seconds);
    exec(db, "COMMIT");
    sqlite3_close(db);
    return 0;
}

/* Deterministic pseudo-random numbers (xorshift64*), so every run builds the same database. */
static uint64_t rng_state = 0x2545F4914F6CDD1DULL;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static const char *const WORDS[] = {
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima",
    "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey",
    "amber", "basil", "cedar", "dune", "ember", "fjord", "garnet", "harbor", "iris", "jade", "kestrel", "lagoon",
    "meadow", "nectar", "orchid", "pepper", "quartz", "raven", "saffron", "thistle", "umber", "violet", "willow",
    "invoice", "delivery", "refund", "coupon", "parcel", "express", "standard", "priority", "warehouse", "courier",
    "returned", "damaged", "signed", "gift", "morning", "evening", "weekend", "office", "home", "door", "fragile",
};
#define NWORDS (sizeof WORDS / sizeof *WORDS)

static size_t phrase(char *out, size_t cap, int n)
{
    size_t k = 0;
    for (int i = 0; i < n && k + 16 < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%s", i ? " " : "", WORDS[rnd() % NWORDS]);
    return k;
}

static int make_realistic(const char *path, long mib)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    make(path, 0);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(db, "open");
    exec(db, "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT NOT NULL, email TEXT NOT NULL,"
             " status TEXT NOT NULL, total REAL NOT NULL, currency TEXT, created_at TEXT NOT NULL, note TEXT,"
             " payload TEXT)");
    if (sqlite3_prepare_v2(db, "INSERT INTO orders VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", -1, &st, NULL))
        die(db, "prepare");
    static const char *const status[] = { "new", "paid", "shipped", "delivered", "cancelled", "refunded" };
    static const char *const cur[] = { "EUR", "USD", "GBP" };
    /* a row with its share of the two indexes is about 320 bytes on disk */
    long rows = mib * 1024 * 1024 / 320;
    exec(db, "BEGIN");
    for (long i = 1; i <= rows; i++) {
        char name[64], email[96], date[32], note[256], payload[256], street[64], carrier[32];
        phrase(name, sizeof name, 2);
        snprintf(email, sizeof email, "user%ld.%06llx@example.org", i, (unsigned long long)(rnd() & 0xffffff));
        time_t t = 1577836800 + (time_t)(rnd() % (5 * 365 * 86400L));
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
        size_t nl = rnd() % 10 < 6 ? phrase(note, sizeof note, 3 + (int)(rnd() % 12)) : 0;
        phrase(street, sizeof street, 2);
        phrase(carrier, sizeof carrier, 1);
        snprintf(payload, sizeof payload,
                 "{\"street\":\"%u %s\",\"zip\":\"%05u\",\"carrier\":\"%s\",\"tracking\":\"%016llx%016llx\"}",
                 (unsigned)(rnd() % 400), street, (unsigned)(rnd() % 99999), carrier, (unsigned long long)rnd(),
                 (unsigned long long)rnd());
        sqlite3_bind_int64(st, 1, i);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, email, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, status[rnd() % 6], -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 5, (double)(500 + rnd() % 90000) / 100.0);
        sqlite3_bind_text(st, 6, cur[rnd() % 3], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, date, -1, SQLITE_STATIC);
        if (nl)
            sqlite3_bind_text(st, 8, note, (int)nl, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 8);
        sqlite3_bind_text(st, 9, payload, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            die(db, "insert");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    exec(db, "CREATE INDEX orders_created ON orders(created_at); CREATE INDEX orders_email ON orders(email); COMMIT");
    sqlite3_close(db);
    return 0;
}

static volatile sig_atomic_t got_usr1, got_term;
static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        got_usr1 = 1;
    else
        got_term = 1;
}

static int writer_until_term(const char *path, double rate, const char *maxfile)
{
    load l = { path, 0, 0, 0, 0, rate };
    pthread_t th;
    sigset_t set;
    signal(SIGUSR1, on_signal);
    signal(SIGTERM, on_signal);
    /* the writer thread must not take the signals: this thread polls their flags */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1), sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_create(&th, NULL, writer, &l);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    FILE *ready = fopen(maxfile, "w"); /* tells the caller the signals are handled from now on */
    if (ready) {
        fputs("0.0\n", ready);
        fclose(ready);
    }
    while (!got_term && !l.failed) {
        usleep(10000);
        if (got_usr1) {
            got_usr1 = 0;
            FILE *f = fopen(maxfile, "w");
            if (f) {
                fprintf(f, "%.1f\n", l.max_ms);
                fclose(f);
            }
            l.max_ms = 0;
        }
    }
    l.stop = 1;
    pthread_join(th, NULL);
    printf("commits=%ld failed=%ld\n", l.commits, l.failed);
    return l.failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "make-realistic"))
        return make_realistic(argv[2], strtol(argv[3], NULL, 10));
    if (argc == 5 && !strcmp(argv[1], "writer"))
        return writer_until_term(argv[2], strtod(argv[3], NULL), argv[4]);
    if (argc >= 4 && !strcmp(argv[1], "make"))
        return make(argv[2], strtol(argv[3], NULL, 10));
    if (argc >= 4 && !strcmp(argv[1], "backup-under-load"))
        return backup_under_load(argv[2], argv + 3);
    if (argc == 3 && !strcmp(argv[1], "check"))
        return check(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "lock"))
        return lock(argv[2], (int)strtol(argv[3], NULL, 10));
    fprintf(stderr, "usage: see the comment at the top of tests/tools/sqlite_load.c\n");
    return 2;
}
