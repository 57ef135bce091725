/* Unit tests for engines/postgres/pg_model.c: the object index, dependencies, ordering (sections,
 * topological order, ties, loop breaking, moving views after post-data objects) and name patterns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../engines/postgres/pg_model.h"

static long add(pg_model *m, pg_kind k, unsigned objid, const char *schema, const char *name)
{
    long i = pg_model_add(m, k, objid ? PG_CLASS_OID : PG_PSEUDO_NONE, objid, schema, name, "X", NULL);
    assert_true(i >= 0);
    return i;
}

static long pos_of(const long *order, size_t n, long idx)
{
    for (size_t i = 0; i < n; i++)
        if (order[i] == idx)
            return (long)i;
    fail_msg("object %ld missing from the order", idx);
    return -1;
}

static void test_index_and_deps(void **state)
{
    (void)state;
    pg_model m;
    pg_model_init(&m);
    long a = add(&m, K_RELATION, 20001, "s", "a");
    long b = add(&m, K_RELATION, 20002, "s", "b");
    assert_int_equal(pg_model_find(&m, PG_CLASS_OID, 20001), a);
    assert_int_equal(pg_model_find(&m, PG_CLASS_OID, 99999), -1);
    assert_int_equal(pg_model_find(&m, PG_TYPE_OID, 20001), -1); /* the class id is part of the key */
    /* an alias names the same object; the first registration wins */
    assert_int_equal(pg_model_alias(&m, PG_TYPE_OID, 30001, a), 0);
    assert_int_equal(pg_model_alias(&m, PG_TYPE_OID, 30001, b), 0);
    assert_int_equal(pg_model_find(&m, PG_TYPE_OID, 30001), a);
    /* self edges and duplicates are dropped */
    assert_int_equal(pg_model_dep(&m, a, a), 0);
    assert_int_equal(pg_model_dep(&m, a, b), 0);
    assert_int_equal(pg_model_dep(&m, a, b), 0);
    assert_int_equal(m.objs[a].ndeps, 1);
    assert_int_equal(m.objs[b].ndeps, 0);
    /* many entries: the map grows and keeps every key */
    for (unsigned i = 0; i < 5000; i++)
        assert_int_equal(pg_model_alias(&m, PG_PROC_OID, 40000 + i, (long)(i % 2)), 0);
    for (unsigned i = 0; i < 5000; i++)
        assert_int_equal(pg_model_find(&m, PG_PROC_OID, 40000 + i), (long)(i % 2));
    pg_model_free(&m);
}

static void test_order_sections_and_deps(void **state)
{
    (void)state;
    pg_model m;
    pg_model_init(&m);
    /* added in an order that contradicts the dependencies */
    long view2 = add(&m, K_RELATION, 1, "s", "a_view_on_pk");   /* needs the PK: must move to post */
    long view = add(&m, K_RELATION, 2, "s", "b_view");
    long pk = add(&m, K_CONSTRAINT, 3, "s", "t pk");
    long data = add(&m, K_TABLE_DATA, 0, "s", "t");
    long table = add(&m, K_RELATION, 4, "s", "t");
    long fn = add(&m, K_FUNCTION, 5, "s", "z_fn");
    long schema = add(&m, K_SCHEMA, 6, NULL, "s");
    long other = add(&m, K_RELATION, 7, "r", "zzz");            /* independent, schema r sorts first */
    m.objs[view].movable = m.objs[view2].movable = 1;
    pg_model_dep(&m, table, fn);     /* a CHECK calling the function */
    pg_model_dep(&m, table, schema);
    pg_model_dep(&m, fn, schema);
    pg_model_dep(&m, view, table);
    pg_model_dep(&m, view2, pk);
    pg_model_dep(&m, pk, table);
    pg_model_dep(&m, data, table);
    long order[8];
    sk_err err;
    sk_err_clear(&err);
    assert_int_equal(pg_sort(&m, order, &err), SK_OK);
    size_t n = m.n;
    assert_int_equal(order[0], schema);
    assert_true(pos_of(order, n, fn) < pos_of(order, n, table));
    assert_true(pos_of(order, n, table) < pos_of(order, n, view));
    assert_true(pos_of(order, n, other) < pos_of(order, n, table)); /* tie: kind, then schema name */
    /* sections: pre-data, then data, then post-data */
    assert_true(pos_of(order, n, view) < pos_of(order, n, data));
    assert_true(pos_of(order, n, data) < pos_of(order, n, pk));
    /* the view that needs the primary key moved after it */
    assert_int_equal(m.objs[view2].section, SEC_POST);
    assert_true(pos_of(order, n, pk) < pos_of(order, n, view2));
    assert_int_equal(m.warnings, 0);
    /* every object exactly once */
    char seen[8] = { 0 };
    for (size_t i = 0; i < n; i++) {
        assert_false(seen[order[i]]);
        seen[order[i]] = 1;
    }
    pg_model_free(&m);
}

static void test_loop_is_broken_and_counted(void **state)
{
    (void)state;
    pg_model m;
    pg_model_init(&m);
    long a = add(&m, K_FUNCTION, 1, "s", "a");
    long b = add(&m, K_FUNCTION, 2, "s", "b");
    long c = add(&m, K_FUNCTION, 3, "s", "c");
    long after = add(&m, K_RELATION, 4, "s", "t");
    pg_model_dep(&m, a, b);
    pg_model_dep(&m, b, a);
    pg_model_dep(&m, after, a);
    pg_model_dep(&m, c, after);
    long order[4];
    sk_err err;
    sk_err_clear(&err);
    assert_int_equal(pg_sort(&m, order, &err), SK_OK);
    assert_true(m.warnings >= 1);
    /* the loop is broken at its lowest-ranked member; the rest still follows the edges */
    assert_int_equal(order[0], a);
    assert_int_equal(order[1], b);
    assert_true(pos_of(order, 4, after) < pos_of(order, 4, c));
    pg_model_free(&m);
}

/* Objects of the same kind, schema and name (operator classes of two access methods) come in
 * the order of what they say, not in the order the catalogs' OIDs read them. */
static void test_same_names_ordered_by_text(void **state)
{
    (void)state;
    pg_model m;
    pg_model_init(&m);
    long hash = add(&m, K_OPCLASS, 1, "s", "abs_ops");
    long btree = add(&m, K_OPCLASS, 2, "s", "abs_ops");
    m.objs[hash].create = strdup("CREATE OPERATOR CLASS s.abs_ops FOR TYPE integer USING hash AS ...;\n");
    m.objs[btree].create = strdup("CREATE OPERATOR CLASS s.abs_ops FOR TYPE integer USING btree AS ...;\n");
    assert_non_null(m.objs[hash].create);
    assert_non_null(m.objs[btree].create);
    long order[2];
    sk_err err;
    sk_err_clear(&err);
    assert_int_equal(pg_sort(&m, order, &err), SK_OK);
    assert_int_equal(order[0], btree);
    assert_int_equal(order[1], hash);
    pg_model_free(&m);
}

static void test_name_patterns(void **state)
{
    (void)state;
    static const char *const pats[] = { "app.audit_*", "sessions", "*.tmp?", NULL };
    assert_true(pg_name_excluded(pats, "app", "audit_log"));
    assert_false(pg_name_excluded(pats, "other", "audit_log"));
    assert_true(pg_name_excluded(pats, "public", "sessions"));   /* no dot: any schema */
    assert_true(pg_name_excluded(pats, "x", "tmp1"));
    assert_false(pg_name_excluded(pats, "x", "tmp12"));
    assert_false(pg_name_excluded(NULL, "x", "y"));
    /* schema-only patterns: the name is matched on its own */
    static const char *const schemas[] = { "pg_*", NULL };
    assert_true(pg_name_excluded(schemas, NULL, "pg_temp_1"));
    assert_false(pg_name_excluded(schemas, NULL, "public"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_and_deps),
        cmocka_unit_test(test_order_sections_and_deps),
        cmocka_unit_test(test_loop_is_broken_and_counted),
        cmocka_unit_test(test_same_names_ordered_by_text),
        cmocka_unit_test(test_name_patterns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
