/*
 * pg_globals.c: the cluster-wide part a database dump leaves out — roles, their attributes and
 * password hashes, comments, memberships and cluster-wide settings — as a script that restores
 * into any cluster, idempotently (an existing role is altered, not re-created).
 */
#include "pg_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_buf.h"

static sk_rc fail_query(PGconn *conn, PGresult *r, const char *what, sk_err *err)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    sk_rc rc = sk_fail(err, SK_ERR_SOURCE, 0, "reading %s failed: %s (SQLSTATE %s)%s", what,
                       PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
                                                                     : PQerrorMessage(conn),
                       state ? state : "none",
                       state && strcmp(state, "42501") == 0 ? ": the roles dump needs a superuser" : "");
    PQclear(r);
    return rc;
}

/* A dollar-quote tag that does not occur in `s`. */
static void pick_tag(const char *s, char *tag, size_t tagsz)
{
    for (int n = 0;; n++) {
        snprintf(tag, tagsz, "$sk%d$", n);
        if (!strstr(s, tag))
            return;
    }
}

enum { M_ROLE, M_MEMBER, M_ADMIN, M_GRANTOR, M_INHERIT, M_SET, M_ROLEID, M_GRANTORSUPER };

/* 16's memberships, each with its three options. A grant by a role other than a superuser needs
 * that role to hold ADMIN on the granted role first, so a grant is written once its grantor's
 * ADMIN grant is (pg_dumpall orders them the same way); a cycle left over is written as is. */
static sk_rc memberships16(pg_buf *b, const PGresult *members, sk_err *err)
{
    int n = PQntuples(members);
    char *done = calloc(n ? (size_t)n : 1, 1);
    if (!done)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
    for (int left = n, pass_any = 1; left > 0;) {
        int progressed = 0;
        for (int i = 0; i < n; i++) {
            if (done[i])
                continue;
            const char *role = PQgetvalue(members, i, M_ROLEID);
            int ready = !pass_any || PQgetisnull(members, i, M_GRANTOR) ||
                        PQgetvalue(members, i, M_GRANTORSUPER)[0] == 't';
            /* otherwise: the grantor's ADMIN on this role must be written already */
            for (int k = 0; !ready && k < n; k++)
                ready = done[k] && strcmp(PQgetvalue(members, k, M_ROLEID), role) == 0 &&
                        PQgetvalue(members, k, M_ADMIN)[0] == 't' &&
                        strcmp(PQgetvalue(members, k, M_MEMBER), PQgetvalue(members, i, M_GRANTOR)) == 0;
            if (!ready)
                continue;
            pg_buf_addf(b, "GRANT %s TO %s WITH ADMIN %s, INHERIT %s, SET %s", PQgetvalue(members, i, M_ROLE),
                        PQgetvalue(members, i, M_MEMBER), PQgetvalue(members, i, M_ADMIN)[0] == 't' ? "TRUE" : "FALSE",
                        PQgetvalue(members, i, M_INHERIT)[0] == 't' ? "TRUE" : "FALSE",
                        PQgetvalue(members, i, M_SET)[0] == 't' ? "TRUE" : "FALSE");
            if (!PQgetisnull(members, i, M_GRANTOR))
                pg_buf_addf(b, " GRANTED BY %s", PQgetvalue(members, i, M_GRANTOR));
            pg_buf_add(b, ";\n");
            done[i] = 1;
            left--;
            progressed = 1;
        }
        if (!progressed)
            pass_any = 0; /* a cycle: write the rest in their order */
    }
    free(done);
    return SK_OK;
}

sk_rc sk_pg_dump_globals(PGconn *conn, sk_writer *out, sk_err *err)
{
    sk_rc rc = SK_OK;
    pg_buf b;
    pg_buf_init(&b);
    PGresult *roles = NULL, *members = NULL, *settings = NULL;
    /* pg_authid (not pg_roles) for the password hashes; predefined roles and the bootstrap
     * superuser (the target cluster has its own) are left alone */
    roles = PQexec(conn,
                   "SELECT a.rolname, quote_ident(a.rolname), a.rolsuper, a.rolinherit, a.rolcreaterole, "
                   "a.rolcreatedb, a.rolcanlogin, a.rolreplication, a.rolbypassrls, a.rolconnlimit, "
                   "quote_literal(a.rolpassword), quote_literal(a.rolvaliduntil::text), "
                   "quote_literal(pg_catalog.shobj_description(a.oid, 'pg_authid')) FROM pg_catalog.pg_authid a "
                   "WHERE a.oid <> 10 AND a.rolname !~ '^pg_' ORDER BY a.rolname");
    if (PQresultStatus(roles) != PGRES_TUPLES_OK) {
        rc = fail_query(conn, roles, "roles", err);
        roles = NULL;
        goto out;
    }
    /* 16 made a membership's INHERIT and SET options its own (before, INHERIT came from the member
     * and SET did not exist) and lets one role be granted to a member by several grantors */
    int v16 = PQserverVersion(conn) >= 160000;
    members = PQexec(conn, v16 ? "SELECT quote_ident(r.rolname), quote_ident(m.rolname), am.admin_option, CASE WHEN "
                                 "am.grantor <> 10 THEN quote_ident(g.rolname) END, am.inherit_option, am.set_option, "
                                 "am.roleid, g.rolsuper "
                                 "FROM pg_catalog.pg_auth_members am JOIN pg_catalog.pg_authid r ON r.oid = am.roleid "
                                 "JOIN pg_catalog.pg_authid m ON m.oid = am.member LEFT JOIN pg_catalog.pg_authid g ON "
                                 "g.oid = am.grantor WHERE r.rolname !~ '^pg_' OR m.rolname !~ '^pg_' ORDER BY 1, 2, 4"
                               : "SELECT quote_ident(r.rolname), quote_ident(m.rolname), am.admin_option, CASE WHEN "
                                 "am.grantor <> 10 THEN quote_ident(g.rolname) END "
                                 "FROM pg_catalog.pg_auth_members am JOIN pg_catalog.pg_authid r ON r.oid = am.roleid "
                                 "JOIN pg_catalog.pg_authid m ON m.oid = am.member LEFT JOIN pg_catalog.pg_authid g ON "
                                 "g.oid = am.grantor WHERE r.rolname !~ '^pg_' OR m.rolname !~ '^pg_' ORDER BY 1, 2");
    if (PQresultStatus(members) != PGRES_TUPLES_OK) {
        rc = fail_query(conn, members, "role memberships", err);
        members = NULL;
        goto out;
    }
    settings = PQexec(conn,
                      "SELECT quote_ident(a.rolname), s.cfg FROM pg_catalog.pg_db_role_setting d JOIN "
                      "pg_catalog.pg_authid a ON a.oid = d.setrole, LATERAL unnest(d.setconfig) WITH ORDINALITY "
                      "s(cfg, o) WHERE d.setdatabase = 0 AND a.oid <> 10 ORDER BY a.rolname, s.o");
    if (PQresultStatus(settings) != PGRES_TUPLES_OK) {
        rc = fail_query(conn, settings, "role settings", err);
        settings = NULL;
        goto out;
    }

    pg_buf_add(&b, "--\n-- PostgreSQL roles written by snapkeep\n--\n\nSET client_min_messages = warning;\n"
                   "SET standard_conforming_strings = on;\n\n");
    for (int i = 0; i < PQntuples(roles); i++) {
        const char *q = PQgetvalue(roles, i, 1);
        char tag[32];
        pick_tag(q, tag, sizeof tag);
        /* CREATE ROLE only where it is missing: roles are shared by every database of a cluster */
        pg_buf_addf(&b, "DO %s BEGIN CREATE ROLE %s; EXCEPTION WHEN duplicate_object THEN NULL; END %s;\n", tag, q,
                    tag);
        pg_buf_addf(&b, "ALTER ROLE %s WITH %sSUPERUSER %sINHERIT %sCREATEROLE %sCREATEDB %sLOGIN %sREPLICATION "
                        "%sBYPASSRLS CONNECTION LIMIT %s",
                    q, PQgetvalue(roles, i, 2)[0] == 't' ? "" : "NO", PQgetvalue(roles, i, 3)[0] == 't' ? "" : "NO",
                    PQgetvalue(roles, i, 4)[0] == 't' ? "" : "NO", PQgetvalue(roles, i, 5)[0] == 't' ? "" : "NO",
                    PQgetvalue(roles, i, 6)[0] == 't' ? "" : "NO", PQgetvalue(roles, i, 7)[0] == 't' ? "" : "NO",
                    PQgetvalue(roles, i, 8)[0] == 't' ? "" : "NO", PQgetvalue(roles, i, 9));
        /* the stored hash (SCRAM or md5), as pg_dumpall writes it: the artifact holds secrets */
        pg_buf_addf(&b, " PASSWORD %s", PQgetisnull(roles, i, 10) ? "NULL" : PQgetvalue(roles, i, 10));
        if (!PQgetisnull(roles, i, 11)) /* unset stays unset ('infinity' would be stored as such) */
            pg_buf_addf(&b, " VALID UNTIL %s", PQgetvalue(roles, i, 11));
        pg_buf_add(&b, ";\n");
        if (!PQgetisnull(roles, i, 12))
            pg_buf_addf(&b, "COMMENT ON ROLE %s IS %s;\n", q, PQgetvalue(roles, i, 12));
    }
    pg_buf_add(&b, "\n");
    if (v16) {
        if ((rc = memberships16(&b, members, err)))
            goto out;
    } else {
        for (int i = 0; i < PQntuples(members); i++) {
            pg_buf_addf(&b, "GRANT %s TO %s%s", PQgetvalue(members, i, 0), PQgetvalue(members, i, 1),
                        PQgetvalue(members, i, 2)[0] == 't' ? " WITH ADMIN OPTION" : "");
            if (!PQgetisnull(members, i, 3))
                pg_buf_addf(&b, " GRANTED BY %s", PQgetvalue(members, i, 3));
            pg_buf_add(&b, ";\n");
        }
    }
    pg_buf_add(&b, "\n");
    for (int i = 0; i < PQntuples(settings); i++) {
        const char *cfg = PQgetvalue(settings, i, 1);
        const char *eq = strchr(cfg, '=');
        if (!eq)
            continue;
        /* setting names are [a-z0-9_.] (custom ones carry a dot): written as they are */
        int plain = eq > cfg;
        for (const char *p = cfg; p < eq; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'))
                plain = 0;
        if (!plain)
            continue;
        char *val = PQescapeLiteral(conn, eq + 1, strlen(eq + 1));
        if (val)
            pg_buf_addf(&b, "ALTER ROLE %s SET %.*s TO %s;\n", PQgetvalue(settings, i, 0), (int)(eq - cfg), cfg, val);
        PQfreemem(val);
    }
    pg_buf_add(&b, "\n--\n-- PostgreSQL database dump complete\n--\n\n");
    if (!pg_buf_ok(&b)) {
        rc = sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
        goto out;
    }
    rc = sk_writer_write(out, b.s, b.len, err);
out:
    PQclear(roles);
    PQclear(members);
    PQclear(settings);
    /* the buffer held password hashes */
    if (b.s)
        memset(b.s, 0, b.cap);
    pg_buf_free(&b);
    return rc;
}
