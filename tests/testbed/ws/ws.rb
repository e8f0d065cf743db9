# A WebSocket echo app for the proxy tests (Ruby stdlib only), on $PORT (3000):
#   GET /up   200 "ok"          GET /   200 "version=TAG"
#   GET /ws   WebSocket: every text message comes back as "version=TAG echo=MESSAGE"
#   GET /events  server-sent events: "data: tick N version=TAG" every 0.2 s, 20 of them
# On SIGTERM it stops accepting, keeps the open WebSockets until their clients close them, then exits
# (docker stop's timeout, the role's stop_timeout, ends them otherwise).
require "socket"
require "digest/sha1"
require "base64"

TAG = File.read("/app/version").strip
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
$open = Queue.new
$sockets = []
$lock = Mutex.new

def respond(client, status, body)
  client.write("HTTP/1.1 #{status}\r\nContent-Type: text/plain\r\nContent-Length: #{body.bytesize + 1}\r\n" \
               "Connection: close\r\n\r\n#{body}\n")
end

def read_frame(client)
  head = client.read(2) or return nil
  opcode = head.getbyte(0) & 0x0f
  masked = head.getbyte(1) & 0x80 != 0
  length = head.getbyte(1) & 0x7f
  length = client.read(2).unpack1("n") if length == 126
  length = client.read(8).unpack1("Q>") if length == 127
  mask = masked ? client.read(4).bytes : [0, 0, 0, 0]
  payload = (client.read(length) || "").bytes.each_with_index.map { |byte, i| byte ^ mask[i % 4] }.pack("C*")
  [opcode, payload]
end

def write_frame(client, opcode, payload)
  header = [0x80 | opcode].pack("C")
  header += payload.bytesize < 126 ? [payload.bytesize].pack("C") : [126, payload.bytesize].pack("Cn")
  client.write(header + payload)
end

def websocket(client, key)
  accept = Base64.strict_encode64(Digest::SHA1.digest(key + GUID))
  client.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" \
               "Sec-WebSocket-Accept: #{accept}\r\n\r\n")
  $lock.synchronize { $sockets << client }
  loop do
    opcode, payload = read_frame(client)
    break if opcode.nil? || opcode == 8
    write_frame(client, 10, payload) if opcode == 9
    write_frame(client, 1, "version=#{TAG} echo=#{payload.force_encoding('UTF-8')}") if opcode == 1
  end
  write_frame(client, 8, "") rescue nil
ensure
  $lock.synchronize { $sockets.delete(client) }
end

def serve(client)
  request = client.gets or return
  headers = {}
  while (line = client.gets) && line != "\r\n"
    name, value = line.split(":", 2)
    headers[name.strip.downcase] = value.to_s.strip
  end
  path = request.split[1].to_s.split("?").first
  if path == "/ws" && headers["upgrade"].to_s.downcase == "websocket"
    websocket(client, headers["sec-websocket-key"].to_s)
  elsif path == "/events"
    client.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n" \
                 "Connection: close\r\n\r\n")
    20.times { |tick| client.write("data: tick #{tick} version=#{TAG}\n\n"); client.flush; sleep 0.2 }
  elsif path == "/up"
    respond(client, "200 OK", "ok")
  elsif path == "/"
    respond(client, "200 OK", "version=#{TAG}")
  else
    respond(client, "404 Not Found", "not found")
  end
rescue IOError, SystemCallError
  nil
ensure
  client.close rescue nil
end

server = TCPServer.new("0.0.0.0", Integer(ENV.fetch("PORT", "3000")))
Signal.trap("TERM") { $open << :stop }
Thread.new do
  loop { Thread.new(server.accept) { |client| serve(client) } }
rescue IOError
  nil
end
$open.pop
server.close rescue nil
sleep 0.1 until $lock.synchronize { $sockets.empty? }
