require_relative "boot"

require "rails"
require "active_record/railtie"
require "action_controller/railtie"
require "redis"

module BerthTestApp
  # A minimal Rails app for the berth tests: ActiveRecord (Postgres) and ActionController only.
  class Application < Rails::Application
    config.load_defaults 6.1

    # The image's version, written by the build (tests/testbed/build_images.sh).
    version_file = root.join("VERSION")
    config.x.version = version_file.exist? ? version_file.read.strip : "dev"

    # Reached by container name, published port or proxy: any Host header.
    config.hosts.clear

    # An API for test clients: no CSRF tokens. The session is a cookie, signed and encrypted with
    # SECRET_KEY_BASE, so that any container with the same secret (v1 or v2) accepts it.
    config.action_controller.default_protect_from_forgery = false
    config.session_store :cookie_store, key: "_berth_test_session"
    config.action_dispatch.cookies_serializer = :json

    # The image is read-only for the app user: no schema dump after migrations, no file cache.
    config.active_record.dump_schema_after_migration = false
    config.cache_store = :null_store

    config.logger = ActiveSupport::TaggedLogging.new(ActiveSupport::Logger.new($stdout))
    config.log_level = ENV.fetch("RAILS_LOG_LEVEL", "info")
  end
end
