# A throwaway etcd for scripts (sourced): `start_local_etcd DIR` starts Debian's etcd on loopback, on free
# ports, with its data in DIR/etcd and its log in DIR/etcd.log, waits until it answers and sets ETCD_ENDPOINT
# and ETCD_PID; the caller stops it (kill "$ETCD_PID").

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_local_etcd() {
  _client=$(free_port) _peer=$(free_port)
  etcd --name local --data-dir "$1/etcd" --listen-client-urls "http://127.0.0.1:$_client" \
    --advertise-client-urls "http://127.0.0.1:$_client" --listen-peer-urls "http://127.0.0.1:$_peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$_peer" --initial-cluster "local=http://127.0.0.1:$_peer" \
    --log-level error --logger zap >"$1/etcd.log" 2>&1 &
  ETCD_PID=$!
  ETCD_ENDPOINT="http://127.0.0.1:$_client"
  _tries=0
  until etcdctl --endpoints "$ETCD_ENDPOINT" endpoint health >/dev/null 2>&1; do
    _tries=$((_tries + 1))
    if [ $_tries -gt 100 ] || ! kill -0 "$ETCD_PID" 2>/dev/null; then
      echo "etcd did not start:" >&2
      cat "$1/etcd.log" >&2
      return 1
    fi
    sleep 0.1
  done
}
