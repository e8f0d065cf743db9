Rails.application.configure do
  config.eager_load = false
  config.cache_classes = false
  config.consider_all_requests_local = true
end
