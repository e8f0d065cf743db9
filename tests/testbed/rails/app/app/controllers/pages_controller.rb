require "socket"

class PagesController < ApplicationController
  # Health check: no database, no Redis.
  def up
    render plain: "ok"
  end

  def index
    render plain: "version=#{Rails.configuration.x.version} host=#{Socket.gethostname}"
  end

  def login
    name = params.require(:name)
    session[:user] = name
    render plain: "logged in as #{name}"
  end

  def me
    if session[:user]
      render plain: "user=#{session[:user]}"
    else
      render plain: "not logged in", status: :unauthorized
    end
  end

  # A slow request, for drain tests: GET /sleep?seconds=N (default 1, at most 30).
  def slow
    seconds = params.fetch(:seconds, 1).to_f.clamp(0, 30)
    sleep seconds
    render plain: "slept #{seconds}"
  end

  # INCR of a Redis key (REDIS_URL).
  def count
    render plain: self.class.redis.incr("berth-test:count").to_s
  end

  def self.redis
    @redis ||= Redis.new(url: ENV.fetch("REDIS_URL"))
  end
end
