Rails.application.routes.draw do
  get "/up", to: "pages#up"
  root "pages#index"
  post "/login", to: "pages#login"
  get "/me", to: "pages#me"
  get "/count", to: "pages#count"
  get "/sleep", to: "pages#slow"
  get "/notes", to: "notes#index"
  post "/notes", to: "notes#create"
end
