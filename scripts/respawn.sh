#!/usr/bin/env bash
# Run a command again whenever it exits (a crash, an out-of-memory kill, a SIGKILL),
# RESPAWN_DELAY_S (default 1) seconds later, until this script is told to stop. For honcho
# (Procfile), which stops every process once one exits and signals each process group as a
# whole: the command gets the same SIGTERM/SIGINT itself (a worker then finishes its running
# jobs), so it is not passed on, only waited for. systemd restarts by itself
# (Restart=always) and does not need this.
set -u
delay=${RESPAWN_DELAY_S:-1}
stopping=0
trap 'stopping=1' TERM INT
while :; do
  "$@" &
  child=$!
  # `wait` returns early when a trapped signal arrives: wait until the command has ended.
  while wait "$child"; code=$?; kill -0 "$child" 2>/dev/null; do :; done
  if ((stopping)); then
    exit "$code"
  fi
  echo "respawn: $1 exited ($code); starting it again in $delay s" >&2
  sleep "$delay" &
  wait $!
  if ((stopping)); then
    exit "$code"
  fi
done
