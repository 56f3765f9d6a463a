#!/usr/bin/env bash
# One idempotent setup step for `make run` and `make test`.
#
#   scripts/setup.sh          system packages, PostgreSQL + PostGIS, Redis, .venv, migrations
#   scripts/setup.sh --test   the same, plus what the browser tests need (chromium, axe-core)
#
# Every step checks first and does nothing when its work is already done, so running it
# again costs a few seconds. Where PostgreSQL or Redis already run, they are used as they are.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
as_root() { if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
as_postgres() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }

: "${DATABASE_URL:=postgres://sonae:sonae@127.0.0.1:5432/sonae}"
: "${REDIS_URL:=redis://127.0.0.1:6379/0}"
export DATABASE_URL REDIS_URL

# --- system packages -----------------------------------------------------------------------
missing=()
need() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed" || missing+=("$1"); }
apt_install() {
  ((${#missing[@]})) || return 0
  say "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  missing=()
}

pg_major() { ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1; }
[[ -n "$(pg_major)" ]] || { missing+=(postgresql postgresql-contrib); apt_install; }
major=$(pg_major)
need "postgresql-${major}-postgis-3"
need gdal-bin          # pulls the GDAL, GEOS and PROJ libraries GeoDjango loads
need gettext           # msgfmt, for compilemessages
need redis-server
need redis-tools
python3 -c 'import ensurepip, venv' 2>/dev/null || need python3-venv
if ((want_test)); then
  need chromium
  need fonts-noto-cjk  # so screenshots show Japanese, not boxes
  need fonts-lohit-deva  # and नेपाली (Devanagari), which the CJK fonts lack
  command -v npm >/dev/null || need npm
fi
apt_install

# --- services --------------------------------------------------------------------------------
db=$(python3 - <<'PY'
import os, urllib.parse as u
p = u.urlparse(os.environ["DATABASE_URL"])
print(p.hostname or "127.0.0.1", p.port or 5432, p.username or "sonae", p.password or "", p.path.lstrip("/") or "sonae")
PY
)
read -r db_host db_port db_user db_pass db_name <<<"$db"

if [[ "$db_host" == "127.0.0.1" || "$db_host" == "localhost" ]]; then
  if ! pg_isready -q -h "$db_host" -p "$db_port"; then
    say "starting PostgreSQL $major"
    cluster=$(pg_lsclusters -h | awk -v m="$major" '$1 == m {print $2; exit}')
    if [[ -z "$cluster" ]]; then
      as_root pg_createcluster "$major" main --port "$db_port"
      cluster=main
    fi
    # A cluster that is running but slow to answer (a busy machine) is not an error: wait.
    as_root pg_ctlcluster --skip-systemctl-redirect "$major" "$cluster" start ||
      pg_lsclusters -h | awk -v m="$major" -v c="$cluster" '$1 == m && $2 == c && $4 == "online" {ok = 1} END {exit !ok}'
    for _ in $(seq 150); do pg_isready -q -h "$db_host" -p "$db_port" && break; sleep 0.2; done
  fi
  psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$db_port" "$@"; }
  if [[ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$db_user'")" != 1 ]]; then
    say "creating database role $db_user"
    psql_admin -c "CREATE ROLE \"$db_user\" LOGIN CREATEDB PASSWORD '$db_pass'"
  fi
  if [[ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$db_name'")" != 1 ]]; then
    say "creating database $db_name"
    psql_admin -c "CREATE DATABASE \"$db_name\" OWNER \"$db_user\""
  fi
  # PostGIS needs a superuser to create; putting it in template1 too means the test database
  # the suite creates inherits it, so the app's role never needs superuser rights.
  for d in "$db_name" template1; do
    psql_admin -d "$d" -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS postgis"
  done
fi

redis_host=$(python3 -c 'import os, urllib.parse as u; p = u.urlparse(os.environ["REDIS_URL"]); print(p.hostname or "127.0.0.1", p.port or 6379)')
read -r r_host r_port <<<"$redis_host"
if ! redis-cli -h "$r_host" -p "$r_port" ping >/dev/null 2>&1; then
  if [[ "$r_host" == "127.0.0.1" || "$r_host" == "localhost" ]]; then
    say "starting Redis on $r_host:$r_port"
    as_root mkdir -p /var/lib/redis /var/log/redis
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$r_port" --save "" \
      --appendonly no --dir /var/lib/redis --logfile /var/log/redis/sonae.log
    for _ in $(seq 50); do redis-cli -h "$r_host" -p "$r_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  else
    echo "Redis at $REDIS_URL does not answer" >&2; exit 1
  fi
fi

# --- Python ----------------------------------------------------------------------------------
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [[ ! -f "$stamp" ]]; then
  say "installing the project into .venv"
  [[ -x .venv/bin/python ]] || python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# Management commands here need settings but no secret and send nothing: give them a
# throwaway secret, and let them start without provider credentials (production refuses
# to *serve* without them, see ALERTS_CONSOLE_DELIVERY in the README).
manage() {
  SECRET_KEY="${SECRET_KEY:-setup-only-not-a-secret}" \
    ALERTS_CONSOLE_DELIVERY="${ALERTS_CONSOLE_DELIVERY:-1}" .venv/bin/python manage.py "$@"
}

# Catalogues are built from the .po sources, never committed as binaries: the templates' and
# Python's (django.po) and the page scripts' (djangojs.po, served at /jsi18n/).
shopt -s nullglob
for po in */locale/*/LC_MESSAGES/{django,djangojs}.po; do
  mo=${po%.po}.mo
  if [[ ! -f "$mo" || "$po" -nt "$mo" ]]; then
    say "compiling ${po}"
    manage compilemessages -v 0 --ignore .venv
    break
  fi
done
shopt -u nullglob
manage migrate --no-input -v 0

# --- browser tests -----------------------------------------------------------------------------
if ((want_test)); then
  npm_stamp=tests/browser/node_modules/.installed-$(sha256sum tests/browser/package-lock.json | cut -c1-16)
  if [[ ! -f "$npm_stamp" ]]; then
    say "installing axe-core for the browser tests (kept out of the served app)"
    (cd tests/browser && npm ci --silent --no-audit --no-fund)
    touch "$npm_stamp"
  fi
fi
say "ready"
