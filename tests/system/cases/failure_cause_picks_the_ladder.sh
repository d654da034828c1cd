#!/usr/bin/env bash
# A service killed by a signal, one that exits with a status, and one that dumps core: medic
# reads why from systemd (Result, ExecMainCode/Status), climbs the ladder whose when: names
# that cause, journals MEDIC_CAUSE=, and its alert to a real webhook receiver carries the
# cause in words and the unit's own last journal lines — invalid UTF-8 escaped and a 100 kB
# line cut, so what arrives is valid JSON of bounded size.
. "$(dirname "$0")/../lib.sh"

start_webhook hook 9098 "$WORK/hook.jsonl"

cat > /usr/local/bin/crashy <<'PY'
#!/usr/bin/python3 -u
# Says a few things (one of them not UTF-8, one 100 kB long), then waits; SIGUSR1 makes it exit 3.
import os, signal, sys
name = sys.argv[1]
out = sys.stdout.buffer
out.write(b"crashy %s starting\n" % name.encode())
out.write(b"bad \xff\xfe bytes from %s\n" % name.encode())
out.write(b"x" * 100000 + b"\n")
def leave(*_):
    out.write(b"crashy %s asked to exit\n" % name.encode())
    os._exit(3)
signal.signal(signal.SIGUSR1, leave)
out.write(b"crashy %s ready as %d\n" % (name.encode(), os.getpid()))
while True:
    signal.pause()
PY
chmod +x /usr/local/bin/crashy
mkdir -p /var/lib/crashy
for name in one two three; do
  cat > /etc/systemd/system/crashy-$name.service <<UNIT
[Service]
ExecStart=/usr/local/bin/crashy $name
WorkingDirectory=/var/lib/crashy
LimitCORE=infinity
UNIT
done
systemctl daemon-reload
systemctl start crashy-one crashy-two crashy-three

service() {  # service NAME: one medic service with a ladder per kind of crash
  cat <<YAML
  $1:
    unit: crashy-$1.service
    recovery:
      verify_grace: 1s
      ladders:
        - when: signal
          ladder: [{step: restart, attempts: 1}]
        - when: [exit-code]
          ladder: [{step: restart, attempts: 1}]
        - when: core-dump
          ladder: [{step: restart, attempts: 1}]
YAML
}
cat > "$WORK/medic.yaml" <<YAML
agent: {state_dir: /var/lib/medic}
alerts:
  journal_lines: 5
  sinks:
    hook: {type: webhook, url: "http://127.0.0.1:9098/"}
services:
$(service one)
$(service two)
$(service three)
YAML
install_control_policy
start_medic "$WORK/medic.yaml"
wait_for "medic connected to systemd" 10 medic_logged "connected to systemd"
wait_for "medic status answers" 10 medic_answers
for name in one two three; do
  wait_for "crashy-$name ready" 10 bash -c "journalctl -u crashy-$name -o cat | grep -q 'ready as'"
done

kill -KILL "$(main_pid crashy-one.service)"
kill -USR1 "$(main_pid crashy-two.service)"
kill -SEGV "$(main_pid crashy-three.service)"

expect_recovery() {  # expect_recovery NAME CAUSE WORDS LADDER
  wait_for "$1 recovered" 20 medic_logged "$1: recovered by restart"
  medic_logged "$1: recovery started: $3; climbing $4 for its cause ($2)" || fail "$1: not the ladder for $2"
  [ "$(journalctl -u medic MEDIC_SERVICE=$1 MEDIC_EVENT=recovery-started MEDIC_CAUSE=$2 -o cat | wc -l)" = 1 ] ||
    fail "$1: no recovery-started entry with MEDIC_CAUSE=$2"
}
expect_recovery one signal "crashy-one.service was killed by signal 9 (KILL)" "ladder 1 (when: signal)"
expect_recovery two exit-code "crashy-two.service exited with status 3" "ladder 2 (when: exit-code)"
expect_recovery three core-dump "crashy-three.service dumped core (signal 11, SEGV)" "ladder 3 (when: core-dump)"

# The receiver's log: one JSON line per request; each recovery-started body, checked.
wait_for "three recovery-started alerts" 10 bash -c "[ \$(grep -c recovery-started '$WORK/hook.jsonl') -ge 3 ]"
python3 - "$WORK/hook.jsonl" <<'PY' || fail "the alerts do not say why"
import json, sys
want = {"one": ("signal", "crashy-one.service was killed by signal 9 (KILL)", "critical"),
        "two": ("exit-code", "crashy-two.service exited with status 3", "critical"),
        "three": ("core-dump", "crashy-three.service dumped core (signal 11, SEGV)", "critical")}
seen = set()
for line in open(sys.argv[1]):
    body = json.loads(json.loads(line)["body"])  # (json.loads refuses invalid UTF-8 in a str: it arrived valid)
    if body["alert"] != "recovery-started":
        continue
    name = body["service"]
    kind, text, severity = want[name]
    cause = body["cause"]
    assert cause == {"kind": kind, "text": text, "severity": severity}, (name, cause)
    journal = body["journal"]
    assert 1 <= len(journal) <= 6, (name, journal)
    text = "\n".join(journal)
    print(f"# {name}: {cause['text']}; journal:", *journal[-3:], sep="\n#   ")
    assert f"crashy {name} ready as" in text, (name, journal)
    assert all(len(l) < 700 for l in journal), (name, [len(l) for l in journal])
    if any("bytes from" in l for l in journal):
        assert any(f"bad \\xff\\xfe bytes from {name}" in l for l in journal), journal
    if name == "two":
        assert f"crashy two asked to exit" in text, journal
    seen.add(name)
assert seen == set(want), seen
PY

# medic status SERVICE says the last failure's cause and the lines.
status=$(status_json two)
printf '%s' "$status" | json_field service.last_failure.cause | grep -qx exit-code || fail "status: no cause: $status"
printf '%s' "$status" | json_field service.last_failure.journal | grep -qF "crashy two asked to exit" || fail "status: no journal: $status"
printf '%s' "$status" | json_field service.history.0.cause | grep -qx exit-code || fail "status: the history has no cause: $status"
"$MEDIC" status one | tee "$WORK/status-one"
grep -qF "last failure: crashy-one.service was killed by signal 9 (KILL) (signal, critical); ladder 1 (when: signal)" "$WORK/status-one" ||
  fail "medic status does not say the last failure"
grep -qF "  | " "$WORK/status-one" || fail "medic status shows no journal lines"
echo "ok: a signal, an exit status and a core dump, each classified, each on its own ladder, each alert saying why"
