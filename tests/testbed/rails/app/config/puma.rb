# Puma for the test app: PORT (3000) on every address, RAILS_MAX_THREADS threads (5),
# WEB_CONCURRENCY worker processes (0: single mode, no fork).
max_threads = Integer(ENV.fetch("RAILS_MAX_THREADS", 5))
min_threads = Integer(ENV.fetch("RAILS_MIN_THREADS", max_threads))
threads min_threads, max_threads

bind "tcp://0.0.0.0:#{Integer(ENV.fetch("PORT", 3000))}"
environment ENV.fetch("RAILS_ENV", "production")

worker_count = Integer(ENV.fetch("WEB_CONCURRENCY", 0))
if worker_count > 0
  workers worker_count
  preload_app!
end

# SIGTERM: stop accepting, finish the requests in flight, exit 0. (Puma 5 would then raise
# SignalException and exit 143, which reads as a crash.)
raise_exception_on_sigterm false
