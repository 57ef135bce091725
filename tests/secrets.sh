# Shared secret checks for integration tests (bash), sourced by tests/lib.sh; a test with its own
# TAP helpers may source it directly after defining ok/nok and $T (the directory of its outputs).
#
# `secret VALUE...` registers values (passwords, keys, tokens, secret URLs) that must appear
# in no output of this test; `secret_watch PATH...` adds outputs beyond the standard ones ($T/out,
# $T/err, $T/all-* (every sk call's stdout and stderr), the status files under $T/state). Directories
# are searched recursively. done_testing then adds one check per registered secret; a secret is
# never printed by the check itself. Values shorter than 4 bytes cannot be checked and are refused.
_secrets=() _watch=()
secret() {
  local v
  for v in "$@"; do
    [ ${#v} -ge 4 ] || { nok "secret: a value shorter than 4 bytes cannot be checked"; continue; }
    _secrets+=("$v")
  done
}
secret_watch() { _watch+=("$@"); }
_secrets_checked=0
_secrets_check() {
  [ "$_secrets_checked" = 0 ] && [ ${#_secrets[@]} -gt 0 ] || return 0
  _secrets_checked=1
  local files=() f i hits
  for f in "$T/out" "$T/err" "$T"/all-* "$T/state" "${_watch[@]}"; do [ -e "$f" ] && files+=("$f"); done
  [ ${#files[@]} -gt 0 ] || { nok "secrets: no output to search (nothing ran?)"; return 0; }
  for i in "${!_secrets[@]}"; do
    hits=$(grep -rlaF -e "${_secrets[$i]}" -- "${files[@]}" 2>/dev/null | tr '\n' ' ')
    if [ -z "$hits" ]; then
      ok "secret #$((i + 1)) appears in none of the ${#files[@]} watched outputs"
    else
      nok "secret #$((i + 1)) was printed: it appears in $hits"
    fi
  done
}
