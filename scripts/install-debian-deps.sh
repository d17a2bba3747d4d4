#!/usr/bin/env bash
# Installs the Debian packages the lab tier needs on a fresh Debian 12 machine (run as root).
# Idempotent: packages already present are left alone. Node packages come from `npm ci`, not here.
set -euo pipefail

packages=(
  openipmi ipmitool          # BMC simulator (ipmi_sim) and a reference IPMI client
  mmdebstrap zstd            # hardened rootfs build and its cache
  supervisor                 # per-user process supervision on servers
  etcd-server etcd-client    # the control plane store
  iproute2 nftables iputils-ping procps psmisc util-linux  # namespaces as hosts, firewall, checks
  openssl ca-certificates    # independent verification of what zeroroot issues
  lynis                      # hardening audit of the image (run from the host in a chroot, never installed in it)
  mariadb-client postgresql-client  # the datastores' own clients, used by the lab tier as users would
  default-jre-headless libpostgresql-jdbc-java  # Java clients (keytool, pgjdbc with the kit's PKCS#8 key)
  python3-psycopg2 python3-pymysql  # Python clients of the client kits
  mariadb-server galera-4 rsync stunnel4  # bench/storage.ts runs the Galera release on the host (no service is started: policy-rc.d)
  chromium                   # headless browser that renders drift's HTML report in a test
  python3-distributed python3-numpy  # Dask tests and bench/compute.ts (the release on the host, a plain Dask baseline)
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-debian-deps: must run as root (it calls apt-get)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-debian-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-debian-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
