# No Bundler: the gems are Debian's system gems (ruby-rails, puma, ruby-pg, ruby-redis), which plain
# RubyGems finds, so there is no Gemfile and no `require "bundler/setup"`.
$stdout.sync = true
