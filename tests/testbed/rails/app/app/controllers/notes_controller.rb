class NotesController < ApplicationController
  def index
    render plain: Note.order(:id).map { |note| "#{note.id} #{note.body}\n" }.join
  end

  def create
    note = Note.create!(body: params.require(:body))
    render plain: "#{note.id} #{note.body}\n", status: :created
  end
end
