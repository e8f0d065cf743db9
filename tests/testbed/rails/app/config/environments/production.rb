Rails.application.configure do
  config.eager_load = true
  config.cache_classes = true
  config.consider_all_requests_local = false
  config.public_file_server.enabled = false
  config.log_tags = [:request_id]
  config.active_support.deprecation = :log
  config.active_record.verbose_query_logs = false
end
