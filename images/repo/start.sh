#!/bin/sh
# HTTPS on 8080 when archive up passed a certificate and key (archive.yaml tls_cert, tls_key)
# in ARCHIVE_TLS_CERT and ARCHIVE_TLS_KEY, else HTTP; then nginx, without them in its own
# environment (the container's first process keeps them: procfs files nginx serves as empty).
# The files go to /tmp (a tmpfs), readable by this user alone, and are removed once nginx has
# read them. A process of the queue's user (the queue, were an upload to take it over) could
# point the dists link at /tmp/tls: nginx follows a link there only to what the link's owner
# owns (nginx.conf), so this user must not be the queue's.
set -e
if [ "$(stat -c %u /srv/archive)" = "$(id -u)" ]; then
  echo "archive-repo: the archive's public/ belongs to uid $(id -u), this server's own user; the queue's user must be another (nginx.conf follows its dists link only to what that user owns)" >&2
  exit 1
fi
if [ -n "$ARCHIVE_TLS_CERT" ] && [ -n "$ARCHIVE_TLS_KEY" ]; then
  umask 077
  mkdir -p /tmp/tls
  printf '%s\n' "$ARCHIVE_TLS_CERT" > /tmp/tls/cert.pem
  printf '%s\n' "$ARCHIVE_TLS_KEY" > /tmp/tls/key.pem
  printf 'listen 8080 ssl;\nssl_certificate /tmp/tls/cert.pem;\nssl_certificate_key /tmp/tls/key.pem;\nssl_protocols TLSv1.2 TLSv1.3;\n' > /tmp/listen.conf
elif [ -n "$ARCHIVE_TLS_CERT" ] || [ -n "$ARCHIVE_TLS_KEY" ]; then
  echo "archive-repo: a certificate without its key, or a key without its certificate" >&2
  exit 1
else
  echo 'listen 8080;' > /tmp/listen.conf
fi
if [ ! -d /tmp/tls ]; then
  exec env -u ARCHIVE_TLS_CERT -u ARCHIVE_TLS_KEY nginx -g 'daemon off;'
fi
nginx=
trap 'kill -TERM "$nginx" 2>/dev/null' TERM INT QUIT
env -u ARCHIVE_TLS_CERT -u ARCHIVE_TLS_KEY nginx -g 'daemon off;' &
nginx=$!
# nginx writes its pid file once it has read its configuration, the certificate and the key.
tries=0
while [ ! -s /tmp/nginx.pid ] && kill -0 "$nginx" 2>/dev/null && [ "$tries" -lt 300 ]; do
  sleep 0.1
  tries=$((tries + 1))
done
rm -rf /tmp/tls
set +e
wait "$nginx"
status=$?
# A signal (docker stop) ends the wait first: then nginx's own end is waited for.
while kill -0 "$nginx" 2>/dev/null; do
  wait "$nginx"
  status=$?
done
exit "$status"
