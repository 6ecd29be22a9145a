#!/bin/sh
# HTTPS on 8080 when archive up passed a certificate and key (archive.yaml tls_cert, tls_key)
# in ARCHIVE_TLS_CERT and ARCHIVE_TLS_KEY, else HTTP; then nginx, without them in its own
# environment (the container's first process keeps them: procfs files nginx serves as empty).
# nginx follows the dists link wherever it points (nginx.conf), and a process of the queue's
# user (the queue, were an upload to take it over) could point it at this container's /tmp.
# So the files go to a folder of /tmp/tls named at random, readable by this user alone, in
# which no name can be listed, nginx's settings naming them reached only through a link (which
# nginx, serving, does not follow); and they are removed once nginx has read them.
set -e
# What a start before left (the container's /tmp outlives a restart).
if [ -d /tmp/tls ]; then chmod 0700 /tmp/tls && rm -rf /tmp/tls; fi
rm -f /tmp/listen.conf
if [ -n "$ARCHIVE_TLS_CERT" ] && [ -n "$ARCHIVE_TLS_KEY" ]; then
  umask 077
  mkdir /tmp/tls
  secret=/tmp/tls/$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  mkdir "$secret"
  printf '%s\n' "$ARCHIVE_TLS_CERT" > "$secret/cert.pem"
  printf '%s\n' "$ARCHIVE_TLS_KEY" > "$secret/key.pem"
  printf 'listen 8080 ssl;\nssl_certificate %s/cert.pem;\nssl_certificate_key %s/key.pem;\nssl_protocols TLSv1.2 TLSv1.3;\n' "$secret" "$secret" > "$secret/listen.conf"
  ln -sf "$secret/listen.conf" /tmp/listen.conf
  chmod 0100 /tmp/tls
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
# The key's folder first, /tmp/tls still not listable (removing a name needs write, not read).
chmod 0300 /tmp/tls
rm -rf "$secret"
chmod 0700 /tmp/tls
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
