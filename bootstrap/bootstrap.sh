#!/usr/bin/env bash
# Production bootstrap: turn a fresh Debian host into a managed node.
#
#   bootstrap.sh --server URL --node NAME --environment ENV (--run-list ITEMS | --role ROLE)
#                --validator-token-file FILE [--secret-file FILE] [--apt-proxy URL]
#
# Every option can also come from the environment: HARNESS_SERVER, HARNESS_NODE,
# HARNESS_ENVIRONMENT, HARNESS_RUN_LIST, HARNESS_ROLE, HARNESS_VALIDATOR_TOKEN_FILE,
# HARNESS_SECRET_FILE, HARNESS_APT_PROXY (arguments win).
#
# It downloads the agent from the config server with the validator token, writes the agent's
# config, registers the node (the agent keeps its own token), deletes the validator token and
# runs the first converge. The role harness runs this very file, unchanged, in every test node.
set -euo pipefail

AGENT=/usr/local/lib/harness/agent.pyz
CONFIG_DIR=/etc/harness
CONFIG=$CONFIG_DIR/agent.json
NODE_TOKEN=$CONFIG_DIR/client.token
CACHE_DIR=/var/cache/harness

die() { echo "bootstrap: $*" >&2; exit 1; }
say() { echo "bootstrap: $*"; }
usage() {
    echo "usage: bootstrap.sh --server URL --node NAME --environment ENV" \
         "(--run-list ITEMS | --role ROLE) --validator-token-file FILE" \
         "[--secret-file FILE] [--apt-proxy URL]" >&2
    exit 2
}

server=${HARNESS_SERVER:-}
node=${HARNESS_NODE:-}
environment=${HARNESS_ENVIRONMENT:-_default}
run_list=${HARNESS_RUN_LIST:-}
role=${HARNESS_ROLE:-}
validator_token_file=${HARNESS_VALIDATOR_TOKEN_FILE:-}
secret_file=${HARNESS_SECRET_FILE:-}
apt_proxy=${HARNESS_APT_PROXY:-}

while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage ;;
        --server|--node|--environment|--run-list|--role|--validator-token-file|--secret-file|--apt-proxy)
            [ $# -ge 2 ] || die "$1 needs a value"
            value=$2
            case "$1" in
                --server) server=$value ;;
                --node) node=$value ;;
                --environment) environment=$value ;;
                --run-list) run_list=$value ;;
                --role) role=$value ;;
                --validator-token-file) validator_token_file=$value ;;
                --secret-file) secret_file=$value ;;
                --apt-proxy) apt_proxy=$value ;;
            esac
            shift 2 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done

[ -n "$server" ] || die "missing --server URL"
[ -n "$node" ] || die "missing --node NAME"
[ -n "$environment" ] || die "missing --environment ENV"
if [ -n "$role" ]; then
    [ -z "$run_list" ] || die "give --run-list or --role, not both"
    run_list="role[$role]"
fi
[ -n "$run_list" ] || die "missing --run-list ITEMS or --role ROLE"
server=${server%/}
command -v python3 >/dev/null || die "python3 is not installed"
command -v curl >/dev/null || die "curl is not installed"

if [ -f "$NODE_TOKEN" ]; then
    say "$node is already registered ($NODE_TOKEN exists)"
else
    [ -n "$validator_token_file" ] || die "missing --validator-token-file FILE"
    [ -r "$validator_token_file" ] || die "cannot read validator token file $validator_token_file"
fi
if [ -n "$secret_file" ]; then
    [ -r "$secret_file" ] || die "cannot read secret file $secret_file"
fi

if [ -n "$apt_proxy" ]; then
    say "using apt proxy $apt_proxy"
    printf 'Acquire::http::Proxy "%s";\n' "$apt_proxy" > /etc/apt/apt.conf.d/01proxy
fi

mkdir -p "$(dirname "$AGENT")" "$CACHE_DIR"
install -d -m 0700 "$CONFIG_DIR"

# Download the agent (a registered node uses its own token). The token goes to curl through
# stdin, never on the command line.
if [ -f "$NODE_TOKEN" ]; then token_file=$NODE_TOKEN; else token_file=$validator_token_file; fi
token=$(tr -d '[:space:]' < "$token_file")
say "downloading the agent from $server"
curl_err=$(mktemp)
status=0
http_code=$(printf 'header = "Authorization: Bearer %s"\n' "$token" |
    curl -sS --config - --connect-timeout 10 --max-time 120 --retry 3 --retry-delay 1 \
         -o "$AGENT.part" -w '%{http_code}' "$server/agent/agent.pyz" 2>"$curl_err") || status=$?
reason=$(tail -n 1 "$curl_err")
rm -f "$curl_err"
[ "$status" -eq 0 ] || die "cannot reach $server ($reason)"
case "$http_code" in
    200) ;;
    401|403) die "the server refused the agent download (HTTP $http_code): check the validator token" ;;
    *) die "downloading $server/agent/agent.pyz failed (HTTP $http_code)" ;;
esac
mv "$AGENT.part" "$AGENT"

python3 - "$CONFIG" "$server" "$node" "$NODE_TOKEN" "$secret_file" "$CACHE_DIR" <<'EOF'
import json, os, sys
path, server, node, token_file, secret_file, cache_dir = sys.argv[1:]
config = {"server_url": server, "node_name": node, "token_file": token_file,
          "secret_file": secret_file or None, "cache_dir": cache_dir}
with open(path + ".part", "w") as fh:
    json.dump(config, fh, indent=2)
    fh.write("\n")
os.chmod(path + ".part", 0o600)
os.replace(path + ".part", path)
EOF

if [ ! -f "$NODE_TOKEN" ]; then
    say "registering $node (environment $environment, run list $run_list)"
    python3 "$AGENT" register --config "$CONFIG" --validator-token-file "$validator_token_file" \
        --environment "$environment" --run-list "$run_list" || die "registering $node failed"
fi
# Like Chef's validation.pem: once the node has its own token, the shared one must not linger.
if [ -n "$validator_token_file" ]; then
    rm -f "$validator_token_file"
fi

say "first converge of $node"
python3 "$AGENT" converge --config "$CONFIG" || die "first converge of $node failed (exit $?)"
say "$node is bootstrapped"
