# Sourced by scripts/test.sh and .ci/run: the Debian packages the tests use, from .ci/*-packages.txt
# (one package per line, first word; the words after it are the commands the tests run from it).

# Every package listed, once, in the order first seen.
ci_packages() {
  local list
  for list in "$(dirname "${BASH_SOURCE[0]}")"/*-packages.txt; do
    [[ -f "$list" ]] && sed -e 's/#.*//' "$list" | awk 'NF { print $1 }'
  done | awk '!seen[$0]++'
}

# The listed packages dpkg does not report as installed.
ci_missing_packages() {
  local pkg
  while read -r pkg; do
    dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "$pkg"
  done < <(ci_packages)
}

# Install what is missing when we can (root with apt-get); say in one line what was done or not.
ci_install_missing() {
  command -v dpkg-query >/dev/null 2>&1 || { echo "no dpkg: not installing test packages" >&2; return 0; }
  local missing
  mapfile -t missing < <(ci_missing_packages)
  ((${#missing[@]})) || return 0
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "not root with apt-get: not installing ${missing[*]} (the tests that need them skip)" >&2
    return 0
  fi
  echo "installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
    echo "apt-get could not install ${missing[*]} (the tests that need them skip)" >&2
    return 0
  fi
  # Debian's packaged daemons start at install time; the tests start their own on loopback.
  local svc
  for svc in tinyproxy dnsmasq nginx squid prometheus prometheus-blackbox-exporter prometheus-node-exporter; do
    (command -v systemctl >/dev/null && systemctl stop "$svc" 2>/dev/null) \
      || service "$svc" stop >/dev/null 2>&1 || true
  done
}
