# Base of berth-test/rails: Ruby, Rails 6.1 and Puma from Debian packages (no rubygems.org here, and
# no Bundler: the app requires the system gems directly). Built by ../build_images.sh rails FROM the
# slim Debian image it passes as BASE; the app goes on top (Dockerfile).
ARG BASE
FROM $BASE
ARG PACKAGES="ruby-rails puma ruby-pg ruby-redis"
RUN set -eux; \
    groupadd --gid 1000 app; \
    useradd --uid 1000 --gid 1000 --home-dir /app --no-create-home --shell /usr/sbin/nologin app
RUN set -eux; export DEBIAN_FRONTEND=noninteractive; \
    apt-get update -q; \
    apt-get install -y -q --no-install-recommends $PACKAGES; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/cache/apt/*.bin /var/log/apt/* /var/log/dpkg.log
ENV RAILS_ENV=production \
    RAILS_LOG_TO_STDOUT=1 \
    PORT=3000
WORKDIR /app
EXPOSE 3000
