#!/usr/bin/env bash
# The fast layer on the versions we claim: the "low" leg (Python 3.11, the lowest release of each
# dependency setup.cfg allows: requirements/low.txt) and the "high" leg (Python 3.13, the newest:
# requirements/high.txt), each in its own venv (.venv-low, .venv-high) with the pinned test tools
# (requirements/test.txt), warnings as errors (setup.cfg's filterwarnings). The legs run side by
# side (one pytest process each) and their output is printed when each ends.
#
#   bash scripts/legs.sh                 # both legs
#   bash scripts/legs.sh high            # one leg
#   bash scripts/legs.sh low -- tests/imports -x   # pytest arguments after --
#
# A leg's interpreter is DXT_PYTHON_LOW / DXT_PYTHON_HIGH if set, else the newest pyenv 3.11.x /
# 3.13.x, else python3.11 / python3.13 on PATH; a leg whose interpreter is missing fails.
set -uo pipefail
cd "$(dirname "$0")/.."

declare -A WANT=([low]=3.11 [high]=3.13)
legs=()
while (($#)); do
  case $1 in
    low | high) legs+=("$1") ;;
    --) shift; break ;;
    *) echo "legs: unknown leg '$1' (low, high)" >&2; exit 2 ;;
  esac
  shift
done
((${#legs[@]})) || legs=(low high)
PYTEST_ARGS=("$@")
((${#PYTEST_ARGS[@]})) || PYTEST_ARGS=(tests --ignore=tests/integration)

interpreter() { # leg -> path of its Python, or nothing
  local leg=$1 version=${WANT[$1]} var="DXT_PYTHON_${1^^}" candidate
  if [[ -n ${!var:-} ]]; then echo "${!var}"; return; fi
  candidate=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/python 2>/dev/null | sort -V | tail -1)
  [[ -n $candidate ]] || candidate=$(command -v "python$version" || true)
  echo "$candidate"
}

prepare() { # leg: create .venv-<leg> and install into it what changed
  local leg=$1 venv=.venv-$1 python
  python=$(interpreter "$leg")
  local var="DXT_PYTHON_${leg^^}"
  if [[ -n ${!var:-} && ! -x ${!var} ]]; then
    echo "legs: the $leg leg needs Python ${WANT[$leg]}: $var=${!var} is not an executable." >&2
    return 1
  fi
  if [[ -z $python || ! -x $python ]]; then
    echo "legs: the $leg leg needs Python ${WANT[$leg]} and found none (no $var, no" \
      "${PYENV_ROOT:-$HOME/.pyenv}/versions/${WANT[$leg]}.*, no python${WANT[$leg]} on PATH)." \
      "Install it (pyenv install ${WANT[$leg]}) or set $var to its path." >&2
    return 1
  fi
  local got
  got=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  if [[ $got != "${WANT[$leg]}" ]]; then
    echo "legs: the $leg leg needs Python ${WANT[$leg]}; $python is $got." >&2
    return 1
  fi
  if [[ -x $venv/bin/python && $("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])') != "$got" ]]; then
    rm -rf "$venv"
  fi
  if [[ ! -x $venv/bin/python ]]; then
    "$python" -m venv "$venv" && "$venv/bin/pip" install --quiet --upgrade pip || return 1
  fi
  local stamp=$venv/.installed
  if [[ ! -e $stamp || setup.cfg -nt $stamp || pyproject.toml -nt $stamp ||
    requirements/test.txt -nt $stamp || requirements/$leg.txt -nt $stamp ]]; then
    echo "legs: installing the $leg leg into $venv ($("$python" --version))"
    "$venv/bin/pip" install --quiet -e . -r requirements/test.txt -r "requirements/$leg.txt" || return 1
    # What pip resolved must be what the leg pins (a pin the resolver moved is a lie).
    "$venv/bin/python" - "requirements/$leg.txt" <<'EOF' || return 1
import sys
from importlib.metadata import version

wrong = []
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if line:
        name, pinned = line.split("==")
        if version(name) != pinned:
            wrong.append(f"{name} {version(name)} (pinned {pinned})")
if wrong:
    sys.exit("legs: installed versions differ from the pins: " + ", ".join(wrong))
EOF
    touch "$stamp"
  fi
}

mkdir -p .artifacts/legs
status=0
for leg in "${legs[@]}"; do
  prepare "$leg" || { echo "legs: the $leg leg could not be prepared" >&2; exit 1; }
done

declare -A PIDS
for leg in "${legs[@]}"; do
  log=.artifacts/legs/$leg.log
  (
    echo "legs: $leg: $(.venv-$leg/bin/python --version), Django $(.venv-$leg/bin/python -m django --version)," \
      "DRF $(.venv-$leg/bin/python -c 'import rest_framework as r; print(r.__version__)')"
    exec ".venv-$leg/bin/python" -m pytest -q "${PYTEST_ARGS[@]}"
  ) >"$log" 2>&1 &
  PIDS[$leg]=$!
done
for leg in "${legs[@]}"; do
  log=.artifacts/legs/$leg.log
  if wait "${PIDS[$leg]}"; then
    head -1 "$log"
    echo "legs: $leg passed: $(tail -1 "$log")"
  else
    cat "$log"
    echo "legs: $leg FAILED (log: $log)" >&2
    status=1
  fi
done
exit $status
