# v2: notes have an author (db/migrate/002_add_author_to_notes.rb); "-" for notes without one.
class NotesController < ApplicationController
  def index
    render plain: Note.order(:id).map { |note| "#{note.id} #{note.body} #{note.author || "-"}\n" }.join
  end

  def create
    note = Note.create!(body: params.require(:body), author: params[:author].presence)
    render plain: "#{note.id} #{note.body} #{note.author || "-"}\n", status: :created
  end
end
