#!/usr/bin/env bash
# Issue 10 item 4: no password of a connection string reaches an output, against a real
# PostgreSQL 15 server: `restore --to` a URL or a conninfo string with a password (logged masked,
# host and database still readable), a wrong target password, a malformed DATABASE_URL whose
# password libpq quotes in its own message, and the status file's last error. Every password set
# here is registered with `secret`; done_testing searches every output for each.
. "$(dirname "$0")/../lib.sh"
clean_env
root=$(cd "$(dirname "$0")/../.." && pwd)
chmod 755 "$T"
"$root/tests/servers/pg.sh" start "$T/pg" >/dev/null || { nok "start PostgreSQL"; done_testing; exit 1; }
trap '"$root/tests/servers/pg.sh" stop "$T/pg"; rm -rf "$T"' EXIT
# shellcheck disable=SC1091
. "$T/pg/env"
PW=$(cat "$T/pg/password")
secret "$PW"
createdb src && psql -X -q -d src -c "CREATE TABLE t(id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 50) g"

# the source through pgpass (no password in the URL): a backup to restore from
export SNAPKEEP_ENGINE=postgres SNAPKEEP_DEST_DIR=$T/dest DATABASE_URL="postgresql://$PGUSER@127.0.0.1:$PGPORT/src"
sk backup-now
check "backup-now exits 0" rc_is 0

# restore --to a URL with the password in it (the password file is not used for it)
mv "$T/pg/pgpass" "$T/pg/pgpass.off"
sk restore latest --to "postgresql://$PGUSER:$PW@127.0.0.1:$PGPORT/target_uri"
check "restore --to postgresql://user:PASSWORD@host/db exits 0" rc_is 0
check "... the log shows the target with its password masked" err_has "-> postgresql://$PGUSER:\*\*\*@127.0.0.1:$PGPORT/target_uri"
check "... and the rows arrived" test "$(PGPASSFILE=$T/pg/pgpass.off psql -X -At -d target_uri -c 'SELECT count(*) FROM t')" = 50

# the conninfo form, with a quoted password
sk restore latest --to "host=127.0.0.1 port=$PGPORT user=$PGUSER password='$PW' dbname=target_kv"
check "restore --to 'host=... password=... dbname=...' exits 0" rc_is 0
check "... the log shows password=*** in the target" err_has "password='\*\*\*' dbname=target_kv"

# a wrong password for the target: libpq's refusal, the password never echoed
WRONG="Wr0ng-target-pw-$RANDOM$RANDOM"
secret "$WRONG"
sk restore latest --to "postgresql://$PGUSER:$WRONG@127.0.0.1:$PGPORT/target_wrong"
check "a wrong target password fails (exit 4) naming the authentication failure" \
    bash -c "[ $rc -eq 4 ] && grep -q 'password authentication failed' '$T/err'"

# a malformed DATABASE_URL: libpq quotes the password part in its parse error
BAD="Pa%ssSECRET$RANDOM$RANDOM"
secret "$BAD" "${BAD#Pa%}"
mv "$T/pg/pgpass.off" "$T/pg/pgpass"
DATABASE_URL="postgresql://$PGUSER:$BAD@127.0.0.1:$PGPORT/src" sk backup-now
check "a malformed DATABASE_URL: exit 3 (configuration)" rc_is 3
check "... the error names DATABASE_URL and keeps libpq's reason" err_has 'DATABASE_URL .*invalid percent-encoded token: "\*\*\*"'
DATABASE_URL="postgresql://$PGUSER:$BAD@127.0.0.1:$PGPORT/src" sk config check
check "config check refuses it the same way (exit 3)" rc_is 3
sk restore latest --to "postgresql://$PGUSER:$BAD@127.0.0.1:$PGPORT/target_bad"
check "a malformed --to URL: exit 2 (usage), naming --to" bash -c "[ $rc -eq 2 ] && grep -q -- 'check --to' '$T/err'"

# the same in JSON log lines
SNAPKEEP_LOG_FORMAT=json sk restore latest --to "postgresql://$PGUSER:$PW@127.0.0.1:$PGPORT/target_uri" --force
check "JSON logs: restore exits 0 and masks the password" \
    bash -c "[ $rc -eq 0 ] && grep -q '\"msg\":\"restore done: .* -> postgresql://$PGUSER:\*\*\*@' '$T/err'"
# an error that quotes a credential reaches the status file and the webhook body redacted too
python3 "$root/tests/tools/webhook_receiver.py" "$T/hooks" >"$T/port" & hookpid=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
TOK="Hunter2-$RANDOM$RANDOM"
secret "$TOK"
secret_watch "$T/hooks"
mkdir -p "$T/password=$TOK"
SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH="$T/password=$TOK/app.db" SNAPKEEP_SERVICE=hooked \
    SNAPKEEP_WEBHOOK_URL="http://127.0.0.1:$(head -1 "$T/port")/hook" sk backup-now
check "a failing backup whose error quotes password=...: exit 4" rc_is 4
check "... the status file's last error has it masked" bash -c "grep -rq 'password=\*\*\*' '$T/state'"
for _ in $(seq 100); do grep -q '"failure"' "$T/hooks" 2>/dev/null && break; sleep 0.05; done
check "... and so does the webhook's failure body" bash -c "grep '\"failure\"' '$T/hooks' | grep -q 'password=\*\*\*'"
SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH="$T/password=$TOK/app.db" SNAPKEEP_SERVICE=hooked sk status
check "... and status shows it masked" bash -c "grep -q 'last error: .*password=\*\*\*' '$T/out'"
kill $hookpid
done_testing
