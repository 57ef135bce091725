/* The local destination: atomic, never-overwriting puts, aborts that leave nothing, listing by
 * prefix that never shows in-progress files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <cmocka.h>

#include "../../agent/config.h"
#include "../../uploader/local/local.h"

static char root[64];

static const char *fake_get(void *ud, const char *name)
{
    (void)ud;
    return strcmp(name, "SNAPKEEP_DEST_DIR") == 0 ? root : NULL;
}

static sk_rc count(void *ud, const sk_object *o, sk_err *err)
{
    (void)err;
    char *seen = ud;
    size_t n = strlen(seen);
    snprintf(seen + n, 1024 - n, "%s;", o->key);
    return SK_OK;
}

static int files_in(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.' || (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."));
    if (d)
        closedir(d);
    return n;
}

static void test_local(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/snapkeep-test-local-XXXXXX");
    assert_non_null(mkdtemp(root));
    const sk_setting_def *const tables[] = { sk_local_settings, NULL };
    sk_err err;
    sk_err_clear(&err);
    sk_config *cfg = sk_config_load(tables, fake_get, NULL, NULL, &err);
    assert_non_null(cfg);
    assert_true(sk_dest_local.selected(cfg, 1));
    void *d = NULL;
    assert_int_equal(sk_dest_local.open(cfg, 1, NULL, &d, &err), SK_OK);

    sk_writer *w;
    assert_int_equal(sk_dest_local.put(d, "a/b/one.zst", &w, &err), SK_OK);
    assert_int_equal(sk_writer_write(w, "hello", 5, &err), SK_OK);
    /* not visible before finish */
    char seen[1024] = "";
    assert_int_equal(sk_dest_local.list(d, "a/", count, seen, &err), SK_OK);
    assert_string_equal(seen, "");
    assert_int_equal(sk_writer_finish(w, &err), SK_OK);
    sk_writer_free_chain(w);
    assert_int_equal(sk_dest_local.list(d, "a/", count, seen, &err), SK_OK);
    assert_string_equal(seen, "a/b/one.zst;");

    /* abort leaves nothing, not even the hidden temp file */
    assert_int_equal(sk_dest_local.put(d, "a/b/two.zst", &w, &err), SK_OK);
    assert_int_equal(sk_writer_write(w, "partial", 7, &err), SK_OK);
    sk_writer_abort(w);
    sk_writer_free_chain(w);
    char dir[128];
    snprintf(dir, sizeof dir, "%s/a/b", root);
    assert_int_equal(files_in(dir), 1);

    /* an unfinished writer that is just freed leaves nothing either */
    assert_int_equal(sk_dest_local.put(d, "a/b/three.zst", &w, &err), SK_OK);
    sk_writer_free_chain(w);
    assert_int_equal(files_in(dir), 1);

    /* never overwrite */
    assert_int_equal(sk_dest_local.put(d, "a/b/one.zst", &w, &err), SK_OK);
    assert_int_equal(sk_writer_write(w, "other", 5, &err), SK_OK);
    assert_int_equal(sk_writer_finish(w, &err), SK_ERR_DEST);
    assert_non_null(strstr(err.msg, "already exists"));
    sk_writer_free_chain(w);
    sk_err_clear(&err);
    assert_int_equal(files_in(dir), 1);

    /* get back the original bytes */
    sk_writer *m = sk_mem_writer_new(100, &err);
    assert_int_equal(sk_dest_local.get(d, "a/b/one.zst", m, &err), SK_OK);
    size_t len;
    assert_memory_equal(sk_mem_writer_data(m, &len), "hello", 5);
    assert_int_equal(len, 5);
    sk_writer_free_chain(m);

    /* prefix filtering, and missing keys */
    assert_int_equal(sk_dest_local.put(d, "a/c.zst", &w, &err), SK_OK);
    assert_int_equal(sk_writer_finish(w, &err), SK_OK);
    sk_writer_free_chain(w);
    seen[0] = '\0';
    assert_int_equal(sk_dest_local.list(d, "a/b", count, seen, &err), SK_OK);
    assert_string_equal(seen, "a/b/one.zst;");
    m = sk_mem_writer_new(100, &err);
    assert_int_equal(sk_dest_local.get(d, "a/nope", m, &err), SK_ERR_NOTFOUND);
    sk_writer_free_chain(m);
    sk_err_clear(&err);
    assert_int_equal(sk_dest_local.put(d, "../escape", &w, &err), SK_ERR_USAGE);
    sk_err_clear(&err);
    assert_int_equal(sk_dest_local.remove(d, "a/b/one.zst", &err), SK_OK);
    assert_int_equal(sk_dest_local.remove(d, "a/b/one.zst", &err), SK_OK);
    assert_int_equal(files_in(dir), 0);

    sk_dest_local.close(d);
    sk_config_free(cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_local) };
    return cmocka_run_group_tests_name("local", tests, NULL, NULL);
}
