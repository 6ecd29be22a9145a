# The tool image: the archive-in-a-box program (queue and builder daemons) on a locally
# bootstrapped Debian base. No registry is needed: BASE is an image made by `archive up`
# (debootstrap + docker import), and node dependencies come from the build context.
# It also runs a worker on another machine (`docker run … archive/tool:latest … worker`, as
# `archive workers add` prints it), which makes its build images on that machine's engine as
# `archive up` does: hence debootstrap, the compose file and the images' build contexts.
#   docker build --build-arg BASE=archive/base:trixie -t archive/tool:latest .
ARG BASE=archive/base:trixie
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs gnupg gpgv xz-utils debootstrap \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/archive-in-a-box
COPY package.json package-lock.json tsconfig.json ./
COPY node_modules ./node_modules
COPY src ./src
COPY compose ./compose
COPY images ./images
RUN node node_modules/typescript/bin/tsc -p tsconfig.json \
 && rm -rf src node_modules/typescript \
 && node dist/cli/main.js --version
ENV NODE_ENV=production
CMD ["node", "/opt/archive-in-a-box/dist/cli/main.js", "--help"]
